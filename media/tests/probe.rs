mod common;

use common::{encode, noise, product_photo};
use glimvid_media::probe::{self, inspect};
use glimvid_media::{ImageFormat, MediaError};

fn code(result: Result<glimvid_media::ImageInfo, MediaError>) -> &'static str {
    match result {
        Ok(info) => panic!("accepted as {info:?}"),
        Err(e) => e.code(),
    }
}

#[test]
fn accepts_real_jpeg_png_and_webp_with_their_sizes() {
    let cases = [
        (image::ImageFormat::Jpeg, ImageFormat::Jpeg, (640, 480)),
        (image::ImageFormat::Png, ImageFormat::Png, (300, 200)),
        (image::ImageFormat::WebP, ImageFormat::WebP, (256, 384)),
    ];
    for (encoder, expected, (w, h)) in cases {
        let bytes = encode(&product_photo(w, h), encoder);
        let info = inspect(&bytes).unwrap_or_else(|e| panic!("{expected:?} refused: {e}"));
        assert_eq!((info.format, info.width, info.height), (expected, w, h));
        assert_eq!(probe::sniff(&bytes), Some(expected));
    }
}

#[test]
fn refuses_things_that_are_not_images() {
    assert_eq!(code(inspect(&[])), "not_an_image");
    assert_eq!(code(inspect(&noise(4096, 42))), "not_an_image");
    assert_eq!(
        code(inspect(
            b"Hello, this is a text file pretending to be a photo.\n"
        )),
        "not_an_image"
    );
    assert_eq!(
        code(inspect(b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>")),
        "not_an_image"
    );
}

#[test]
fn refuses_gif_and_other_unsupported_formats() {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[64, 0, 64, 0, 0, 0, 0, b';']);
    let err = inspect(&gif).expect_err("GIF refused");
    assert_eq!(err.code(), "unsupported_format");
    assert!(err.to_string().contains("GIF"), "{err}");

    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    assert_eq!(code(inspect(&heic)), "unsupported_format");
}

#[test]
fn refuses_a_truncated_png() {
    let png = encode(&product_photo(300, 200), image::ImageFormat::Png);
    let truncated = &png[..png.len() / 2];
    assert_eq!(code(inspect(truncated)), "corrupt_image");
    // Cut inside the header, the signature is all that is left.
    assert_eq!(code(inspect(&png[..20])), "format_mismatch");
}

#[test]
fn refuses_a_signature_that_lies_about_the_body() {
    let jpeg = encode(&product_photo(320, 240), image::ImageFormat::Jpeg);
    let png = encode(&product_photo(320, 240), image::ImageFormat::Png);

    let mut png_magic_jpeg_body = b"\x89PNG\r\n\x1a\n".to_vec();
    png_magic_jpeg_body.extend_from_slice(&jpeg);
    assert_eq!(code(inspect(&png_magic_jpeg_body)), "format_mismatch");

    let mut jpeg_magic_png_body = vec![0xFF, 0xD8, 0xFF];
    jpeg_magic_png_body.extend_from_slice(&png);
    assert_eq!(code(inspect(&jpeg_magic_png_body)), "format_mismatch");

    // A JPEG body whose first bytes were swapped for a PNG signature.
    let mut swapped = jpeg.clone();
    swapped[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    assert_eq!(code(inspect(&swapped)), "format_mismatch");
}

#[test]
fn refuses_images_too_large_or_too_small() {
    let wide = encode(&image::RgbImage::new(7000, 40), image::ImageFormat::Png);
    let err = inspect(&wide).expect_err("too wide");
    assert_eq!(err.code(), "image_too_large");
    assert!(matches!(
        err,
        MediaError::ImageTooLarge {
            width: 7000,
            height: 40,
            ..
        }
    ));

    let tiny = encode(&image::RgbImage::new(16, 16), image::ImageFormat::Png);
    assert_eq!(code(inspect(&tiny)), "image_too_small");
}

#[test]
fn mime_types_map_to_formats() {
    assert_eq!(
        ImageFormat::from_mime_type("image/jpeg"),
        Some(ImageFormat::Jpeg)
    );
    assert_eq!(
        ImageFormat::from_mime_type("IMAGE/PNG"),
        Some(ImageFormat::Png)
    );
    assert_eq!(ImageFormat::from_mime_type("image/gif"), None);
    assert_eq!(ImageFormat::WebP.mime_type(), "image/webp");
}
