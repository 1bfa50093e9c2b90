//! Avatars and covers: uploaded by the client straight to object storage through
//! presigned URLs (S3 in services, the local store's signed URLs in embedded),
//! checked, thumbnailed, replaced and cleaned up (issue 9, item 2).

use std::io::Cursor;
use std::sync::Arc;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use serde_json::{Value, json};

use echostream_ports::objects::ObjectStore;
use echostream_testkit::client::{data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{Person, WAIT, find, friends, group, signed_up};

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

pub(crate) fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub(crate) fn photo(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 60])
    }))
}

pub(crate) struct Upload {
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
    assert_eq!(upload["headers"][1]["name"], "Content-Length");
    assert_eq!(upload["headers"][1]["value"], size.to_string());
    Upload {
        id: upload["id"].as_str().unwrap().to_string(),
        url: upload["url"].as_str().unwrap().to_string(),
        content_type: upload["headers"][0]["value"].as_str().unwrap().to_string(),
    }
}

pub async fn put(url: &str, content_type: &str, bytes: Vec<u8>) -> u16 {
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
pub(crate) async fn upload(
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

/// Where `upload`'s objects are: `owner` is a user's id, or `groups/{id}`.
fn keys(owner: &str, upload: &Upload) -> Vec<String> {
    let prefix = format!("media/{owner}/{}", upload.id);
    ["upload", "64", "256", "1024"]
        .iter()
        .map(|name| format!("{prefix}/{name}"))
        .collect()
}

async fn stored(store: &Arc<dyn ObjectStore>, owner: &str, upload: &Upload) -> usize {
    let mut n = 0;
    for key in keys(owner, upload) {
        n += usize::from(store.size(&key).await.unwrap().is_some());
    }
    n
}

async fn nothing_left(store: &Arc<dyn ObjectStore>, owner: &str, upload: &Upload, what: &str) {
    eventually(what, WAIT, || async {
        (stored(store, owner, upload).await == 0).then_some(())
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
pub(crate) async fn load(url: &str) -> DynamicImage {
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
            stored(&store, &ann.id, &now).await,
            3,
            "renditions, not the upload"
        );
        if let Some(old) = before.take() {
            nothing_left(&store, &ann.id, &old, "the replaced avatar deleted").await;
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
        refused.to_string().contains("not a PNG, JPEG, WebP or GIF"),
        "{refused}"
    );
    assert_eq!(stored(&store, &ann.id, &attempt).await, 0);

    // Too large: refused when asked; and when more arrives than was declared, the
    // store itself refuses it (the length is signed), so nothing is stored.
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
    let status = put(&attempt.url, "image/png", big).await;
    assert!(
        [403, 413].contains(&status),
        "a body longer than signed is refused by the store: {status}"
    );
    assert_eq!(stored(&store, &ann.id, &attempt).await, 0);
    let refused = confirm(&p, &ann, &attempt).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "nothing to confirm");

    // Too many pixels.
    let wide = encoded(photo(2100, 8), ImageFormat::Png);
    let attempt = requested(&p, &ann, "AVATAR", "image/png", wide.len()).await;
    assert_eq!(put(&attempt.url, "image/png", wide).await, 200);
    let refused = confirm(&p, &ann, &attempt).await;
    assert!(refused.to_string().contains("2100×8"), "{refused}");
    assert_eq!(stored(&store, &ann.id, &attempt).await, 0);

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
    assert_eq!(stored(&store, &ann.id, &attempt).await, 0);
    let nothing = confirm(&p, &ann, &attempt).await;
    assert_eq!(error_code(&nothing), "BAD_USER_INPUT");

    // An upload never confirmed is deleted once it is old enough.
    let bytes = encoded(photo(10, 10), ImageFormat::Png);
    let forgotten = requested(&p, &ann, "AVATAR", "image/png", bytes.len()).await;
    assert_eq!(put(&forgotten.url, "image/png", bytes).await, 200);
    assert_eq!(stored(&store, &ann.id, &forgotten).await, 1);
    nothing_left(
        &store,
        &ann.id,
        &forgotten,
        "the unconfirmed upload deleted",
    )
    .await;
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
    nothing_left(&store, &ann.id, &cover, "the removed cover deleted").await;

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
        json!({ "p": echostream_testkit::scenario::PASSWORD }),
        Some(&ann.token),
    )
    .await;
    nothing_left(
        &store,
        &ann.id,
        &avatar,
        "a deleted account's avatar deleted",
    )
    .await;
}

const GROUP_REQUEST: &str = "mutation R($c: ID!, $t: String!, $n: Int!) { requestGroupAvatarUpload(conversationId: $c, contentType: $t, byteSize: $n) { id url method headers { name value } expiresAt } }";
const GROUP_CONFIRM: &str = "mutation C($c: ID!, $u: ID!) { confirmGroupAvatarUpload(conversationId: $c, uploadId: $u) { id avatar { small medium large } } }";
const GROUP_REMOVE: &str =
    "mutation D($c: ID!) { removeGroupAvatar(conversationId: $c) { id avatar { small } } }";
const GROUP_AVATAR: &str = "query G($c: ID!) { conversation(id: $c) { avatar { small medium large } \
    messages(last: 5) { nodes { kind system { action text users { id } } sender { id } } } } }";

/// Asks for an upload of `bytes` as group `id`'s avatar: the upload, or the error
/// code it was refused with.
async fn group_request(
    p: &Platform,
    who: &Person,
    id: &str,
    content_type: &str,
    size: usize,
) -> Result<Upload, String> {
    let vars = json!({ "c": id, "t": content_type, "n": size });
    let out = post(&p.gateway, GROUP_REQUEST, vars, Some(&who.token)).await;
    if out.get("errors").is_some() {
        return Err(error_code(&out));
    }
    let upload = &out["data"]["requestGroupAvatarUpload"];
    assert_eq!(upload["method"], "PUT", "{out}");
    Ok(Upload {
        id: upload["id"].as_str().unwrap().to_string(),
        url: upload["url"].as_str().unwrap().to_string(),
        content_type: upload["headers"][0]["value"].as_str().unwrap().to_string(),
    })
}

async fn group_confirm(p: &Platform, who: &Person, id: &str, upload: &Upload) -> Value {
    let vars = json!({ "c": id, "u": upload.id });
    post(&p.gateway, GROUP_CONFIRM, vars, Some(&who.token)).await
}

/// Uploads and confirms `bytes` as group `id`'s avatar.
async fn group_upload(p: &Platform, who: &Person, id: &str, bytes: Vec<u8>) -> Upload {
    let upload = group_request(p, who, id, "image/png", bytes.len())
        .await
        .unwrap();
    assert_eq!(put(&upload.url, &upload.content_type, bytes).await, 200);
    let confirmed = group_confirm(p, who, id, &upload).await;
    assert!(confirmed.get("errors").is_none(), "{confirmed}");
    upload
}

/// A group's avatar takes the profile avatar's path: presigned upload, checked,
/// square thumbnails, replaced and removed with the old objects deleted, each change
/// a system item; only owners and admins may change it, and only members see it.
async fn group_avatars_take_the_same_path(profile: Profile) {
    let p = Platform::start_with(env!("CARGO_BIN_EXE_echostream"), profile, &LIMITS).await;
    let store = p.objects().await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    let dan = signed_up(&p, "dan").await;
    crate::groups::open_to_groups(&p, &cat).await;
    let id = group(&p, &ann, "Photos", &[&bob, &cat]).await;
    let role = json!({ "c": id, "u": bob.id, "r": "ADMIN" });
    data(&p.gateway, crate::groups::ROLE, role, Some(&ann.token)).await;
    let owner = format!("groups/{id}");

    // The owner sets one; members see square thumbnails and the timeline says so.
    let first = group_upload(&p, &ann, &id, encoded(photo(300, 200), ImageFormat::Png)).await;
    let seen = data(
        &p.gateway,
        GROUP_AVATAR,
        json!({ "c": id }),
        Some(&cat.token),
    )
    .await;
    let avatar = &seen["conversation"]["avatar"];
    let small = load(avatar["small"].as_str().unwrap()).await;
    assert_eq!((small.width(), small.height()), (64, 64));
    let medium = load(avatar["medium"].as_str().unwrap()).await;
    assert_eq!(
        (medium.width(), medium.height()),
        (200, 200),
        "never upscaled"
    );
    let items = seen["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap();
    let told = items.last().unwrap();
    assert_eq!(told["kind"], "SYSTEM");
    assert_eq!(told["system"]["action"], "AVATAR_CHANGED");
    assert_eq!(told["sender"]["id"], ann.id.as_str());
    assert_eq!(
        stored(&store, &owner, &first).await,
        3,
        "renditions, not the upload"
    );

    // An admin replaces it: the old one's objects go.
    let second = group_upload(&p, &bob, &id, encoded(photo(120, 120), ImageFormat::Jpeg)).await;
    nothing_left(&store, &owner, &first, "the replaced group avatar deleted").await;
    assert_eq!(stored(&store, &owner, &second).await, 3);

    // A member may not; a stranger learns nothing; a direct conversation has none.
    let png = encoded(photo(50, 50), ImageFormat::Png);
    assert_eq!(
        group_request(&p, &cat, &id, "image/png", png.len())
            .await
            .err()
            .as_deref(),
        Some("FORBIDDEN")
    );
    let stranger = group_request(&p, &dan, &id, "image/png", png.len()).await;
    assert!(
        matches!(
            stranger.as_ref().err().map(String::as_str),
            Some("NOT_FOUND" | "FORBIDDEN")
        ),
        "{:?}",
        stranger.err()
    );
    let out = post(
        &p.gateway,
        GROUP_AVATAR,
        json!({ "c": id }),
        Some(&dan.token),
    )
    .await;
    assert!(out["data"]["conversation"].is_null(), "{out}");

    // An upload asked for one group cannot be confirmed for another.
    let other = group(&p, &ann, "Other", &[&bob]).await;
    let stray = group_request(&p, &ann, &other, "image/png", png.len())
        .await
        .unwrap();
    assert_eq!(put(&stray.url, &stray.content_type, png.clone()).await, 200);
    let wrong = group_confirm(&p, &ann, &id, &stray).await;
    assert_eq!(error_code(&wrong), "NOT_FOUND");

    // Not an image: refused and deleted; the avatar stays.
    let fake = b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec();
    let attempt = group_request(&p, &ann, &id, "image/png", fake.len())
        .await
        .unwrap();
    assert_eq!(put(&attempt.url, &attempt.content_type, fake).await, 200);
    let refused = group_confirm(&p, &ann, &id, &attempt).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert_eq!(stored(&store, &owner, &attempt).await, 0);
    assert_eq!(stored(&store, &owner, &second).await, 3);

    // Removed: gone from the group and from storage, and told.
    let removed = data(
        &p.gateway,
        GROUP_REMOVE,
        json!({ "c": id }),
        Some(&ann.token),
    )
    .await;
    assert!(removed["removeGroupAvatar"]["avatar"].is_null());
    nothing_left(&store, &owner, &second, "the removed group avatar deleted").await;
    let seen = data(
        &p.gateway,
        GROUP_AVATAR,
        json!({ "c": id }),
        Some(&bob.token),
    )
    .await;
    let items = seen["conversation"]["messages"]["nodes"]
        .as_array()
        .unwrap();
    let told = items.last().unwrap();
    assert_eq!(told["system"]["action"], "AVATAR_CHANGED");
    assert_eq!(told["system"]["text"], "removed");
}

on_both_profiles!(
    avatars_and_covers_go_straight_to_storage,
    group_avatars_take_the_same_path
);
