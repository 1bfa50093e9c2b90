//! How long an audio or video file plays, where that can be read cheaply: from a
//! few ranged reads of its header or tail, never by decoding it.
//!
//! - MP4 and QuickTime (and M4A): the `mvhd` box inside `moov`, found by walking
//!   the top-level boxes (one 16-byte read each; `moov` may come after the media).
//! - WAV: the data size over the byte rate of the `fmt ` chunk.
//! - Ogg (Opus, Vorbis): the last page's granule position over the sample rate.
//!
//! MP3, AAC, FLAC and WebM are left without a duration: theirs is either not written
//! down (MP3 without a Xing header, WebM from a browser's recorder) or needs a walk
//! through the file.

use echostream_ports::objects::ObjectStore;

/// How much of a file's start and end is read.
const PROBE: u64 = 64 * 1024;
/// Largest `moov` box read whole.
const MAX_MOOV: u64 = 4 * 1024 * 1024;
/// Most top-level boxes walked past.
const MAX_BOXES: usize = 32;

/// The duration in milliseconds of the `size`-byte file at `key` of type
/// `content_type`, when it can be read; `head` is its first bytes.
pub async fn read(
    objects: &dyn ObjectStore,
    key: &str,
    size: u64,
    content_type: &str,
    head: &[u8],
) -> Option<i64> {
    match content_type {
        "video/mp4" | "video/quicktime" | "audio/mp4" | "audio/aac" => {
            mp4(objects, key, size).await
        }
        "audio/wav" => wav(head, size),
        "audio/ogg" | "audio/opus" => {
            let offset = size.saturating_sub(PROBE);
            let tail = objects.get_range(key, offset, PROBE).await.ok()??;
            ogg(head, &tail)
        }
        _ => None,
    }
}

/// Walks an MP4 file's top-level boxes to `moov`, and reads its `mvhd`.
async fn mp4(objects: &dyn ObjectStore, key: &str, size: u64) -> Option<i64> {
    let mut offset = 0u64;
    for _ in 0..MAX_BOXES {
        if offset + 8 > size {
            return None;
        }
        let header = objects.get_range(key, offset, 16).await.ok()??;
        let (kind, length, header_len) = box_header(&header, size - offset)?;
        if kind == *b"moov" {
            let moov = objects
                .get_range(key, offset, length.min(MAX_MOOV))
                .await
                .ok()??;
            return mvhd(moov.get(header_len..)?);
        }
        offset = offset.checked_add(length)?;
    }
    None
}

/// A box's type, whole length and header length; `left` is what is left of its
/// parent (a length of 0 means "to the end").
fn box_header(bytes: &[u8], left: u64) -> Option<([u8; 4], u64, usize)> {
    let short = u64::from(u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?));
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    let (length, header_len) = match short {
        0 => (left, 8),
        1 => (u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?), 16),
        n => (n, 8),
    };
    (length >= header_len as u64 && length <= left).then_some((kind, length, header_len))
}

/// The duration an `mvhd` among `children` (the inside of `moov`) gives.
fn mvhd(mut children: &[u8]) -> Option<i64> {
    while children.len() >= 8 {
        let (kind, length, header_len) = box_header(children, children.len() as u64)?;
        if kind == *b"mvhd" {
            let body = children.get(header_len..length as usize)?;
            let (timescale, duration) = match body.first()? {
                0 => (
                    u32::from_be_bytes(body.get(12..16)?.try_into().ok()?),
                    u64::from(u32::from_be_bytes(body.get(16..20)?.try_into().ok()?)),
                ),
                1 => (
                    u32::from_be_bytes(body.get(20..24)?.try_into().ok()?),
                    u64::from_be_bytes(body.get(24..32)?.try_into().ok()?),
                ),
                _ => return None,
            };
            // All ones: the duration is not known.
            if timescale == 0 || duration == u64::MAX || duration == u64::from(u32::MAX) {
                return None;
            }
            return millis(duration, u64::from(timescale));
        }
        children = children.get(length as usize..)?;
    }
    None
}

/// A WAV file's duration: its `data` chunk's size (or, when the recorder did not
/// write it, what follows the chunk's header) over the `fmt ` chunk's byte rate.
fn wav(head: &[u8], size: u64) -> Option<i64> {
    if head.get(0..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    let mut byte_rate = None;
    while at + 8 <= head.len() {
        let id = head.get(at..at + 4)?;
        let length = u32::from_le_bytes(head.get(at + 4..at + 8)?.try_into().ok()?);
        match id {
            b"fmt " => {
                byte_rate = Some(u32::from_le_bytes(
                    head.get(at + 16..at + 20)?.try_into().ok()?,
                ));
            }
            b"data" => {
                let after = size.checked_sub(at as u64 + 8)?;
                let data = match length {
                    0 | u32::MAX => after,
                    n => u64::from(n).min(after),
                };
                return millis(data, u64::from(byte_rate?));
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = at.checked_add(8 + length as usize + (length as usize & 1))?;
    }
    None
}

/// An Ogg file's duration: the granule position of the last page (in `tail`) over
/// the sample rate of the first (in `head`): 48 kHz for Opus, less its pre-skip.
fn ogg(head: &[u8], tail: &[u8]) -> Option<i64> {
    if head.get(0..4)? != b"OggS" {
        return None;
    }
    let segments = usize::from(*head.get(26)?);
    let packet = head.get(27 + segments..)?;
    let (rate, skip) = if packet.starts_with(b"OpusHead") {
        (
            48_000u64,
            u64::from(u16::from_le_bytes(packet.get(10..12)?.try_into().ok()?)),
        )
    } else if packet.starts_with(b"\x01vorbis") {
        let rate = u32::from_le_bytes(packet.get(12..16)?.try_into().ok()?);
        (u64::from(rate), 0)
    } else {
        return None;
    };
    // The last page whose granule position is set.
    let granule = tail
        .windows(4)
        .enumerate()
        .rev()
        .filter(|(_, w)| *w == b"OggS")
        .filter_map(|(at, _)| {
            let page = tail.get(at..at + 14)?;
            if page[4] != 0 {
                return None;
            }
            Some(i64::from_le_bytes(page[6..14].try_into().ok()?))
        })
        .find(|g| *g >= 0)?;
    millis((granule as u64).saturating_sub(skip), rate)
}

/// `units` of `per_second` in milliseconds.
fn millis(units: u64, per_second: u64) -> Option<i64> {
    if per_second == 0 {
        return None;
    }
    i64::try_from(u128::from(units) * 1000 / u128::from(per_second)).ok()
}

/// Tiny files of each format, for tests here and through the gateway.
pub mod samples {
    /// A WAV file of `millis` of silence at 8 kHz, 16-bit mono.
    pub fn wav(millis: u32) -> Vec<u8> {
        let data = 8 * millis * 2;
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&8000u32.to_le_bytes());
        out.extend_from_slice(&16000u32.to_le_bytes()); // byte rate
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data.to_le_bytes());
        out.resize(out.len() + data as usize, 0);
        out
    }

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    /// An MP4 file of `millis` (timescale 1000) with its `moov` after `mdat`, as a
    /// camera writes it.
    pub fn mp4(millis: u32) -> Vec<u8> {
        let mut ftyp = b"isom".to_vec();
        ftyp.extend_from_slice(&512u32.to_be_bytes());
        ftyp.extend_from_slice(b"isomiso2mp41");
        let mut mvhd = vec![0u8; 4]; // version 0, no flags
        mvhd.extend_from_slice(&[0; 8]); // created, modified
        mvhd.extend_from_slice(&1000u32.to_be_bytes());
        mvhd.extend_from_slice(&millis.to_be_bytes());
        mvhd.resize(100, 0);
        let mut out = mp4_box(b"ftyp", &ftyp);
        out.extend(mp4_box(b"mdat", &[0x55; 3000]));
        out.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd)));
        out
    }

    /// An Ogg Opus file's first page and, apart, a last page at `millis`.
    pub fn ogg_opus(millis: u32) -> (Vec<u8>, Vec<u8>) {
        let page = |granule: i64, packet: &[u8]| {
            let mut out = b"OggS\0\x02".to_vec();
            out.extend_from_slice(&granule.to_le_bytes());
            out.extend_from_slice(&[0; 12]); // serial, sequence, checksum
            out.push(1);
            out.push(packet.len() as u8);
            out.extend_from_slice(packet);
            out
        };
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&48000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]);
        let last = 312 + i64::from(millis) * 48;
        (page(0, &head), page(last, b"opus audio"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_file_plays_its_data_over_its_byte_rate() {
        let file = samples::wav(1500);
        assert_eq!(wav(&file, file.len() as u64), Some(1500));
        assert_eq!(wav(b"RIFF\0\0\0\0WAVE", 12), None);
        assert_eq!(wav(b"not a wav file at all", 21), None);
    }

    #[test]
    fn an_mp4_files_mvhd_gives_its_duration() {
        let file = samples::mp4(61_250);
        let moov_at = file.windows(4).position(|w| w == b"moov").unwrap() - 4;
        assert_eq!(mvhd(&file[moov_at + 8..]), Some(61_250));
        // A box claiming more than its parent holds is not believed.
        let mut broken = file[moov_at + 8..].to_vec();
        broken[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(mvhd(&broken), None);
    }

    #[test]
    fn an_ogg_files_last_granule_over_its_rate_is_its_duration() {
        let (head, tail) = samples::ogg_opus(2750);
        assert_eq!(ogg(&head, &tail), Some(2750));
        assert_eq!(ogg(&head, b"no pages here"), None);
    }

    #[tokio::test]
    async fn the_whole_file_is_walked_through_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = echostream_ports::objects::local::LocalObjects::new(
            dir.path().to_path_buf(),
            "http://127.0.0.1:1".into(),
            b"secret".to_vec(),
        );
        let file = samples::mp4(4321);
        store
            .put("v/upload", file.clone().into(), "video/mp4")
            .await
            .unwrap();
        let got = read(
            &store,
            "v/upload",
            file.len() as u64,
            "video/mp4",
            &file[..64],
        )
        .await;
        assert_eq!(got, Some(4321));
    }
}
