//! Avatars and covers: uploaded by the client straight to object storage through
//! presigned URLs (S3 in services, the local store's signed URLs in embedded),
//! checked, thumbnailed, replaced and cleaned up (issue 9, item 2).

use std::io::Cursor;
use std::sync::Arc;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use serde_json::{Value, json};

use echostream::testkit::client::{data, error_code, eventually, post};
use echostream::testkit::platform::{Platform, Profile};
use echostream::testkit::scenario::{Person, WAIT, find, friends, signed_up};
use echostream_shared::objects::ObjectStore;

use crate::on_both_profiles;

const REQUEST: &str = "mutation R($i: ProfileImageUploadInput!) { requestProfileImageUpload(input: $i) { id url method headers { name value } expiresAt } }";
const CONFIRM: &str = "mutation C($id: ID!) { confirmProfileImageUpload(id: $id) { id } }";
const IMAGES: &str = "query I($id: ID!) { user(id: $id) { avatar { small medium large } cover { small medium large } } }";

/// Limits small enough to test: 300 kB, 2000 pixels a side, uploads confirmed
/// within 6 s.
const LIMITS: [(&str, &str); 4] = [
    ("ECHOSTREAM_MEDIA__MAX_IMAGE_BYTES", "300000"),
    ("ECHOSTREAM_MEDIA__MAX_IMAGE_PIXELS", "2000"),
    ("ECHOSTREAM_MEDIA__UPLOAD_TTL_SECS", "5"),
    ("ECHOSTREAM_MEDIA__UNCONFIRMED_AFTER_SECS", "6"),
];

fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn photo(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 60])
    }))
}

struct Upload {
    id: String,
    url: String,
    content_type: String,
}

async fn request(p: &Platform, who: &Person, kind: &str, content_type: &str, size: usize) -> Value {
    let input = json!({ "kind": kind, "contentType": content_type, "byteSize": size });
    post(&p.gateway, REQUEST, json!({ "i": input }), Some(&who.token)).await
}

async fn requested(
    p: &Platform,
    who: &Person,
    kind: &str,
    content_type: &str,
    size: usize,
) -> Upload {
    let out = request(p, who, kind, content_type, size).await;
    let upload = &out["data"]["requestProfileImageUpload"];
    assert_eq!(upload["method"], "PUT", "{out}");
    assert_eq!(upload["headers"][0]["name"], "Content-Type");
    Upload {
        id: upload["id"].as_str().unwrap().to_string(),
        url: upload["url"].as_str().unwrap().to_string(),
        content_type: upload["headers"][0]["value"].as_str().unwrap().to_string(),
    }
}

async fn put(url: &str, content_type: &str, bytes: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .put(url)
        .header("Content-Type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("upload")
        .status()
        .as_u16()
}

async fn confirm(p: &Platform, who: &Person, upload: &Upload) -> Value {
    post(
        &p.gateway,
        CONFIRM,
        json!({ "id": upload.id }),
        Some(&who.token),
    )
    .await
}

/// Uploads `bytes` as `who`'s `kind` image and confirms it; returns the upload.
async fn upload(
    p: &Platform,
    who: &Person,
    kind: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Upload {
    let upload = requested(p, who, kind, content_type, bytes.len()).await;
    assert_eq!(put(&upload.url, &upload.content_type, bytes).await, 200);
    let confirmed = confirm(p, who, &upload).await;
    assert!(confirmed.get("errors").is_none(), "{confirmed}");
    upload
}

fn keys(who: &Person, upload: &Upload) -> Vec<String> {
    let prefix = format!("media/{}/{}", who.id, upload.id);
    ["upload", "64", "256", "1024"]
        .iter()
        .map(|name| format!("{prefix}/{name}"))
        .collect()
}

async fn stored(store: &Arc<dyn ObjectStore>, who: &Person, upload: &Upload) -> usize {
    let mut n = 0;
    for key in keys(who, upload) {
        n += usize::from(store.size(&key).await.unwrap().is_some());
    }
    n
}

async fn nothing_left(store: &Arc<dyn ObjectStore>, who: &Person, upload: &Upload, what: &str) {
    eventually(what, WAIT, || async {
        (stored(store, who, upload).await == 0).then_some(())
    })
    .await;
}

/// `url` with one character of its signature changed (S3's or the local store's).
fn tampered(url: &str) -> String {
    let at = ["X-Amz-Signature=", "sig="]
        .iter()
        .find_map(|name| url.find(name).map(|i| i + name.len()))
        .expect("a signed URL");
    let mut out = url.to_string();
    let flipped = if &url[at..=at] == "a" { "b" } else { "a" };
    out.replace_range(at..=at, flipped);
    out
}

/// Loads `url` as a browser would; returns the decoded image.
async fn load(url: &str) -> DynamicImage {
    let response = reqwest::get(url).await.expect("image URL");
    assert_eq!(response.status(), 200, "{url}");
    let bytes = response.bytes().await.unwrap();
    image::load_from_memory(&bytes).expect("an image")
}

async fn images_of(p: &Platform, viewer: &Person, user: &Person) -> Value {
    data(
        &p.gateway,
        IMAGES,
        json!({ "id": user.id }),
        Some(&viewer.token),
    )
    .await["user"]
        .clone()
}

async fn avatars_and_covers_go_straight_to_storage(profile: Profile) {
    let p = Platform::start_with(env!("CARGO_BIN_EXE_echostream"), profile, &LIMITS).await;
    let store = p.objects().await;
    let (ann, bob) = friends(&p).await;

    // PNG, then JPEG, then WebP: each becomes the avatar, thumbnails load, and the
    // one it replaced is deleted.
    let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(300, 200, Rgba([9, 9, 9, 128])));
    let formats = [
        ("image/png", encoded(photo(300, 200), ImageFormat::Png)),
        ("image/jpeg", encoded(photo(300, 200), ImageFormat::Jpeg)),
        ("image/webp", encoded(logo, ImageFormat::WebP)),
    ];
    let mut before: Option<Upload> = None;
    for (content_type, bytes) in formats {
        let now = upload(&p, &ann, "AVATAR", content_type, bytes).await;
        let avatar = images_of(&p, &bob, &ann).await["avatar"].clone();
        let small = load(avatar["small"].as_str().unwrap()).await;
        assert_eq!((small.width(), small.height()), (64, 64), "{content_type}");
        let medium = load(avatar["medium"].as_str().unwrap()).await;
        assert_eq!(
            (medium.width(), medium.height()),
            (200, 200),
            "never upscaled"
        );
        assert_eq!(
            stored(&store, &ann, &now).await,
            3,
            "renditions, not the upload"
        );
        if let Some(old) = before.take() {
            nothing_left(&store, &ann, &old, "the replaced avatar deleted").await;
        }
        before = Some(now);
    }

    // A cover keeps its shape.
    let cover = upload(
        &p,
        &ann,
        "COVER",
        "image/jpeg",
        encoded(photo(2000, 500), ImageFormat::Jpeg),
    )
    .await;
    let large = images_of(&p, &ann, &ann).await["cover"]["large"].clone();
    let large = load(large.as_str().unwrap()).await;
    assert_eq!((large.width(), large.height()), (1024, 256));

    // A fake image (an SVG declared as PNG): refused, and deleted at once.
    let fake = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    let attempt = requested(&p, &ann, "AVATAR", "image/png", fake.len()).await;
    assert_eq!(put(&attempt.url, "image/png", fake).await, 200);
    let refused = confirm(&p, &ann, &attempt).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert!(
        refused.to_string().contains("not a PNG, JPEG or WebP"),
        "{refused}"
    );
    assert_eq!(stored(&store, &ann, &attempt).await, 0);

    // Too large: refused when asked; and when more arrives than was declared.
    assert_eq!(
        error_code(&request(&p, &ann, "AVATAR", "image/png", 300_001).await),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        error_code(&request(&p, &ann, "AVATAR", "image/gif", 10).await),
        "BAD_USER_INPUT"
    );
    let big = encoded(photo(300, 200), ImageFormat::Png);
    let attempt = requested(&p, &ann, "AVATAR", "image/png", 1000).await;
    assert_eq!(put(&attempt.url, "image/png", big).await, 200);
    let refused = confirm(&p, &ann, &attempt).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert!(refused.to_string().contains("declared"), "{refused}");
    assert_eq!(stored(&store, &ann, &attempt).await, 0);

    // Too many pixels.
    let wide = encoded(photo(2100, 8), ImageFormat::Png);
    let attempt = requested(&p, &ann, "AVATAR", "image/png", wide.len()).await;
    assert_eq!(put(&attempt.url, "image/png", wide).await, 200);
    let refused = confirm(&p, &ann, &attempt).await;
    assert!(refused.to_string().contains("2100×8"), "{refused}");
    assert_eq!(stored(&store, &ann, &attempt).await, 0);

    // A tampered URL (another key, or a changed signature) stores nothing.
    let bytes = encoded(photo(10, 10), ImageFormat::Png);
    let attempt = requested(&p, &ann, "AVATAR", "image/png", bytes.len()).await;
    let other_key = attempt
        .url
        .replace(&format!("/{}/upload", attempt.id), "/x/upload");
    assert_eq!(put(&other_key, "image/png", bytes.clone()).await, 403);
    assert_eq!(
        put(&tampered(&attempt.url), "image/png", bytes.clone()).await,
        403
    );
    assert_eq!(
        put(&attempt.url, "text/html", bytes).await,
        403,
        "another content type"
    );
    assert_eq!(stored(&store, &ann, &attempt).await, 0);
    let nothing = confirm(&p, &ann, &attempt).await;
    assert_eq!(error_code(&nothing), "BAD_USER_INPUT");

    // An upload never confirmed is deleted once it is old enough.
    let bytes = encoded(photo(10, 10), ImageFormat::Png);
    let forgotten = requested(&p, &ann, "AVATAR", "image/png", bytes.len()).await;
    assert_eq!(put(&forgotten.url, "image/png", bytes).await, 200);
    assert_eq!(stored(&store, &ann, &forgotten).await, 1);
    nothing_left(&store, &ann, &forgotten, "the unconfirmed upload deleted").await;
    assert_eq!(
        error_code(&confirm(&p, &ann, &forgotten).await),
        "NOT_FOUND"
    );

    // Only the uploader may confirm; signed out, nothing.
    let bytes = encoded(photo(10, 10), ImageFormat::Png);
    let mine = requested(&p, &ann, "AVATAR", "image/png", bytes.len()).await;
    assert_eq!(error_code(&confirm(&p, &bob, &mine).await), "NOT_FOUND");
    let anonymous = post(&p.gateway, CONFIRM, json!({ "id": mine.id }), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    // Someone Ann blocked sees no avatar of hers.
    let eve = signed_up(&p, "eve").await;
    find(&p, &ann, &eve).await;
    data(
        &p.gateway,
        "mutation B($u: ID!) { blockUser(userId: $u) { id } }",
        json!({ "u": eve.id }),
        Some(&ann.token),
    )
    .await;
    assert!(images_of(&p, &eve, &ann).await["avatar"].is_null());
    assert!(images_of(&p, &bob, &ann).await["avatar"].is_object());

    // Removing the cover deletes it.
    let removed = data(
        &p.gateway,
        "mutation { removeProfileImage(kind: COVER) { cover { small } } }",
        json!({}),
        Some(&ann.token),
    )
    .await;
    assert!(removed["removeProfileImage"]["cover"].is_null());
    nothing_left(&store, &ann, &cover, "the removed cover deleted").await;

    // Uploads waiting for confirmation are bounded per user.
    for n in 0..10 {
        let out = request(&p, &bob, "AVATAR", "image/png", 10).await;
        assert!(out.get("errors").is_none(), "upload {n}: {out}");
    }
    let eleventh = request(&p, &bob, "AVATAR", "image/png", 10).await;
    assert_eq!(error_code(&eleventh), "RATE_LIMITED");

    // Deleting the account deletes its images.
    let avatar = before.unwrap();
    data(
        &p.gateway,
        "mutation D($p: String!) { deleteAccount(password: $p) }",
        json!({ "p": echostream::testkit::scenario::PASSWORD }),
        Some(&ann.token),
    )
    .await;
    nothing_left(&store, &ann, &avatar, "a deleted account's avatar deleted").await;
}

on_both_profiles!(avatars_and_covers_go_straight_to_storage);
