//! What an uploaded file is: its type read from its bytes (`infer`'s magic numbers),
//! never taken from the client's word, and the kind of attachment that makes it.
//!
//! The client declares a type when it asks to upload (it is signed into the upload
//! URL, and S3 serves the file with it); the bytes must then be that type, or one
//! the same container holds: a WebM or MP4 file is audio when declared as audio
//! (a voice note recorded by a browser), and an Office or OpenDocument file is a
//! ZIP inside. Plain text has no magic number: it is accepted as the text type
//! declared when its first bytes are UTF-8 without NUL bytes.

use echostream_service::Error;

use crate::entities::attachment::Kind;

/// Every type accepted, by kind (README, "Attachments").
pub const ACCEPTED: &[(Kind, &[&str])] = &[
    (
        Kind::Image,
        &["image/jpeg", "image/png", "image/webp", "image/gif"],
    ),
    (Kind::Video, &["video/mp4", "video/quicktime", "video/webm"]),
    (
        Kind::Audio,
        &[
            "audio/mpeg",
            "audio/mp4",
            "audio/aac",
            "audio/ogg",
            "audio/opus",
            "audio/wav",
            "audio/webm",
            "audio/flac",
        ],
    ),
    (
        Kind::Document,
        &[
            "application/pdf",
            "application/zip",
            "application/x-7z-compressed",
            "application/gzip",
            "application/x-tar",
            "application/epub+zip",
            "application/rtf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.presentation",
            "text/plain",
            "text/csv",
            "text/markdown",
        ],
    ),
];

/// The kind a declared type is, when it is accepted at all.
pub fn kind_of(content_type: &str) -> Option<Kind> {
    ACCEPTED
        .iter()
        .find(|(_, types)| types.contains(&content_type))
        .map(|(kind, _)| *kind)
}

/// The name `infer` gives a type, as the list above spells it.
fn canonical(sniffed: &str) -> &str {
    match sniffed {
        "audio/x-wav" => "audio/wav",
        "audio/x-flac" => "audio/flac",
        "audio/m4a" => "audio/mp4",
        other => other,
    }
}

/// The real type of a file whose first bytes are `head`, declared as `declared`:
/// the type to keep, or `BAD_USER_INPUT` saying why it is refused.
pub fn real_type(head: &[u8], declared: &str) -> Result<String, Error> {
    let declared_kind =
        kind_of(declared).ok_or_else(|| Error::bad_input(format!("{declared} is not accepted")))?;
    let Some(sniffed) = infer::get(head).map(|t| canonical(t.mime_type())) else {
        return match declared.starts_with("text/") && is_text(head) {
            true => Ok(declared.to_string()),
            false => Err(Error::bad_input(format!(
                "the file is not {declared}: its type could not be told from its bytes"
            ))),
        };
    };
    if sniffed == declared || contains(sniffed, declared) {
        return Ok(declared.to_string());
    }
    match kind_of(sniffed) {
        Some(kind) if kind == declared_kind => Ok(sniffed.to_string()),
        _ => Err(Error::bad_input(format!(
            "the file is {sniffed}, not the {declared} declared"
        ))),
    }
}

/// Whether a file of type `sniffed` may hold one of type `declared`.
fn contains(sniffed: &str, declared: &str) -> bool {
    match sniffed {
        "video/webm" => declared == "audio/webm",
        "video/mp4" | "audio/mp4" => matches!(declared, "audio/mp4" | "audio/aac"),
        "application/zip" => {
            declared.starts_with("application/vnd.openxmlformats-officedocument.")
                || declared.starts_with("application/vnd.oasis.opendocument.")
                || declared == "application/epub+zip"
        }
        _ => false,
    }
}

/// Whether `head` reads as text: UTF-8 (a character cut at its end aside), no NUL.
fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none() && head.len() - err.valid_up_to() < 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    const WEBM: &[u8] = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm";

    #[test]
    fn the_bytes_decide_and_must_match_what_was_declared() {
        assert_eq!(real_type(PNG, "image/png").unwrap(), "image/png");
        // Another image type than declared is still an image: its real type is kept.
        assert_eq!(real_type(PNG, "image/jpeg").unwrap(), "image/png");
        let fake = real_type(PDF, "image/png").unwrap_err();
        assert_eq!(fake.code(), "BAD_USER_INPUT");
        assert!(fake.to_string().contains("application/pdf"), "{fake}");
        assert_eq!(
            real_type(PDF, "application/pdf").unwrap(),
            "application/pdf"
        );
    }

    #[test]
    fn a_container_holds_what_it_was_declared_as() {
        assert_eq!(real_type(WEBM, "audio/webm").unwrap(), "audio/webm");
        assert_eq!(real_type(WEBM, "video/webm").unwrap(), "video/webm");
        assert!(real_type(WEBM, "image/png").is_err());
    }

    #[test]
    fn text_is_text_only_when_it_reads_as_text() {
        assert_eq!(
            real_type("héllo, wörld\n".as_bytes(), "text/plain").unwrap(),
            "text/plain"
        );
        // Cut inside a character: still text.
        assert!(real_type(&"ü".as_bytes()[..1], "text/csv").is_ok());
        assert!(real_type(b"MZ\x90\0\x03\0\0\0", "text/plain").is_err());
        assert!(real_type(b"\xff\xfe\xfd\xfc garbage", "text/plain").is_err());
        // HTML is not accepted, whatever it is declared as.
        let html = real_type(b"<!DOCTYPE html><html><script>", "text/plain").unwrap_err();
        assert!(html.to_string().contains("text/html"), "{html}");
    }

    #[test]
    fn undeclarable_types_are_refused_up_front() {
        assert_eq!(kind_of("image/svg+xml"), None);
        assert_eq!(kind_of("text/html"), None);
        assert_eq!(kind_of("audio/ogg"), Some(Kind::Audio));
    }
}
