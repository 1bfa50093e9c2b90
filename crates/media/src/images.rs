//! What an uploaded image really is, and the renditions served in its place.
//!
//! The type comes from the magic bytes, never from what the client declared; the
//! pixel size is read from the header before anything is decoded, and decoding runs
//! under the same bounds. The original is never served: every rendition is decoded,
//! turned upright (EXIF orientation) and encoded afresh, which also drops metadata
//! such as where a photo was taken.

use std::io::Cursor;

use echostream_ports::Error;
use echostream_ports::objects::sniff_image;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The renditions, by the pixels of their longer side: small and medium thumbnails
/// and a large view (never upscaled).
pub const RENDITIONS: [u32; 3] = [64, 256, 1024];

/// A rendition: `(size, bytes, content type)`.
pub type Rendition = (u32, Vec<u8>, &'static str);

/// An accepted image.
#[derive(Debug)]
pub struct Accepted {
    /// The real type, from the magic bytes.
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    /// One for each of [`RENDITIONS`].
    pub renditions: Vec<Rendition>,
}

/// What an image is (its real type, from its magic bytes) and its pixel size, read
/// from its header without decoding it; `BAD_USER_INPUT` for anything that is not a
/// readable PNG, JPEG, WebP or GIF.
pub fn dimensions(bytes: &[u8]) -> Result<(&'static str, ImageFormat, u32, u32), Error> {
    let content_type = sniff_image(bytes)
        .ok_or_else(|| Error::bad_input("the upload is not a PNG, JPEG, WebP or GIF image"))?;
    let format = match content_type {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        _ => ImageFormat::WebP,
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| Error::bad_input("the image could not be read"))?;
    Ok((content_type, format, width, height))
}

/// Checks `bytes` and makes the renditions; `square` crops avatars to a square.
/// Anything that is not a PNG, JPEG, WebP or GIF (its first frame) of at most
/// `max_side` pixels a side is refused with `BAD_USER_INPUT`.
pub fn accept(bytes: &[u8], max_side: u32, square: bool) -> Result<Accepted, Error> {
    let (content_type, format, width, height) = dimensions(bytes)?;
    let unreadable = |_| Error::bad_input("the image could not be read");
    if width == 0 || height == 0 || width > max_side || height > max_side {
        return Err(Error::bad_input(format!(
            "the image is {width}×{height} pixels; at most {max_side}×{max_side} are accepted"
        )));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    let renditions = renditions(image, square)?;
    Ok(Accepted {
        content_type,
        width,
        height,
        renditions,
    })
}

/// The renditions, largest first, each made from the one before it (a 64-pixel
/// thumbnail from the 256, not from a 12-megapixel photo), by area averaging
/// (`thumbnail`): each source pixel is read once per step, where a Lanczos filter
/// over the original read each many times. Returned smallest first.
fn renditions(image: DynamicImage, square: bool) -> Result<Vec<Rendition>, Error> {
    let mut source = if square {
        let side = image.width().min(image.height());
        let (x, y) = ((image.width() - side) / 2, (image.height() - side) / 2);
        image.crop_imm(x, y, side, side)
    } else {
        image
    };
    let mut out = Vec::with_capacity(RENDITIONS.len());
    for size in RENDITIONS.iter().rev() {
        if source.width().max(source.height()) > *size {
            source = source.thumbnail(*size, *size);
        }
        let (bytes, content_type) = encode(&source)?;
        out.push((*size, bytes, content_type));
    }
    out.reverse();
    Ok(out)
}

/// PNG where there is transparency, JPEG otherwise.
fn encode(image: &DynamicImage) -> Result<(Vec<u8>, &'static str), Error> {
    let mut out = Cursor::new(Vec::new());
    let written = if image.color().has_alpha() {
        image
            .write_to(&mut out, ImageFormat::Png)
            .map(|()| "image/png")
    } else {
        DynamicImage::ImageRgb8(image.to_rgb8())
            .write_to(&mut out, ImageFormat::Jpeg)
            .map(|()| "image/jpeg")
    };
    let content_type = written.map_err(Error::internal)?;
    Ok((out.into_inner(), content_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn photo(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }))
    }

    /// The pixel sizes of the renditions, decoded.
    fn sizes(accepted: &Accepted) -> Vec<(u32, u32)> {
        accepted
            .renditions
            .iter()
            .map(|(_, bytes, _)| image::load_from_memory(bytes).unwrap())
            .map(|img| (img.width(), img.height()))
            .collect()
    }

    #[test]
    fn png_jpeg_and_webp_are_accepted_with_square_thumbnails() {
        let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(300, 200, Rgba([1, 2, 3, 128])));
        for (bytes, want) in [
            (encoded(photo(300, 200), ImageFormat::Png), "image/png"),
            (encoded(photo(300, 200), ImageFormat::Jpeg), "image/jpeg"),
            (encoded(logo, ImageFormat::WebP), "image/webp"),
        ] {
            let accepted = accept(&bytes, 4096, true).unwrap();
            assert_eq!(accepted.content_type, want);
            assert_eq!((accepted.width, accepted.height), (300, 200));
            assert_eq!(
                sizes(&accepted),
                [(64, 64), (200, 200), (200, 200)],
                "{want}"
            );
        }
    }

    #[test]
    fn covers_keep_their_shape_and_are_never_upscaled() {
        let bytes = encoded(photo(2000, 500), ImageFormat::Jpeg);
        let accepted = accept(&bytes, 4096, false).unwrap();
        assert_eq!(sizes(&accepted), [(64, 16), (256, 64), (1024, 256)]);
    }

    #[test]
    fn fakes_and_giants_are_refused() {
        let fake = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>";
        let refused = accept(fake, 4096, true).unwrap_err();
        assert_eq!(refused.code(), "BAD_USER_INPUT");
        assert!(refused.to_string().contains("not a PNG, JPEG, WebP or GIF"));

        // A PNG header and nothing behind it.
        let truncated = &encoded(photo(10, 10), ImageFormat::Png)[..20];
        assert_eq!(
            accept(truncated, 4096, true).unwrap_err().code(),
            "BAD_USER_INPUT"
        );

        let wide = encoded(photo(600, 10), ImageFormat::Png);
        let refused = accept(&wide, 512, true).unwrap_err();
        assert!(refused.to_string().contains("600×10"), "{refused}");
    }
}
