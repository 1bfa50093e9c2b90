//! Attachments through the gateway on both profiles: files uploaded straight to
//! storage (S3, or the local store's signed URLs), their type read from their bytes,
//! photos thumbnailed and measured, audio and video timed, several to a message
//! with a caption or none; URLs only for members; files shared by forwards and
//! deleted with the last message that carries them (issue 22, item 1).

use std::io::Cursor;
use std::sync::Arc;

use echostream_chat::attachments::durations::samples;
use echostream_ports::objects::ObjectStore;
use echostream_testkit::client::{Subscription, data, error_code, eventually, post};
use echostream_testkit::platform::{Platform, Profile};
use echostream_testkit::scenario::{
    Person, WAIT, befriend, direct_conversation, friends, group, signed_up,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

use crate::media::put;
use crate::on_both_profiles;

const REQUEST: &str = "mutation R($i: AttachmentUploadInput!) { requestAttachmentUpload(input: $i) { \
    id url method headers { name value } expiresAt } }";
const FIELDS: &str = "id body attachments { id kind contentType fileName byteSize width height durationMs \
    url thumbnails { small medium large } }";

/// Small limits to test against: photos 300 kB, audio 200 kB, three files a message.
const LIMITS: [(&str, &str); 3] = [
    ("ECHOSTREAM_ATTACHMENTS__MAX_IMAGE_BYTES", "300000"),
    ("ECHOSTREAM_ATTACHMENTS__MAX_AUDIO_BYTES", "200000"),
    ("ECHOSTREAM_ATTACHMENTS__MAX_PER_MESSAGE", "3"),
];

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    }));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn request(
    p: &Platform,
    who: &Person,
    conversation: &str,
    name: &str,
    content_type: &str,
    size: usize,
) -> Value {
    let input = json!({ "conversationId": conversation, "fileName": name, "contentType": content_type, "byteSize": size });
    post(&p.gateway, REQUEST, json!({ "i": input }), Some(&who.token)).await
}

/// Asks to upload `bytes` as `name` of `content_type` and PUTs them; returns the
/// upload's id.
async fn uploaded(
    p: &Platform,
    who: &Person,
    conversation: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> String {
    let out = request(p, who, conversation, name, content_type, bytes.len()).await;
    let upload = &out["data"]["requestAttachmentUpload"];
    assert_eq!(upload["method"], "PUT", "{out}");
    assert_eq!(upload["headers"][0]["value"], content_type);
    let url = upload["url"].as_str().unwrap();
    assert_eq!(put(url, content_type, bytes).await, 200, "{url}");
    upload["id"].as_str().unwrap().to_string()
}

async fn send_with(
    p: &Platform,
    who: &Person,
    conversation: &str,
    body: Option<&str>,
    files: Value,
    key: &str,
) -> Value {
    let query =
        format!("mutation S($i: SendMessageInput!) {{ sendMessage(input: $i) {{ {FIELDS} }} }}");
    let mut input =
        json!({ "conversationId": conversation, "idempotencyKey": key, "attachments": files });
    if let Some(body) = body {
        input["body"] = json!(body);
    }
    post(&p.gateway, &query, json!({ "i": input }), Some(&who.token)).await
}

async fn message(p: &Platform, who: &Person, id: &Value) -> Value {
    let query = format!("query M($id: ID!) {{ message(id: $id) {{ {FIELDS} }} }}");
    post(&p.gateway, &query, json!({ "id": id }), Some(&who.token)).await
}

async fn download(url: &str) -> (u16, Vec<u8>) {
    let response = reqwest::get(url).await.expect("attachment URL");
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// How many of an upload's objects (the file, three thumbnails) are stored.
async fn stored(store: &Arc<dyn ObjectStore>, conversation: &str, id: &str) -> usize {
    let mut n = 0;
    for name in ["upload", "64", "256", "1024"] {
        let key = format!("media/conversations/{conversation}/{id}/{name}");
        n += usize::from(store.size(&key).await.unwrap().is_some());
    }
    n
}

async fn files_travel_with_their_messages(profile: Profile) {
    let p = Platform::start_with(env!("CARGO_BIN_EXE_echostream"), profile, &LIMITS).await;
    let store = p.objects().await;
    let (ann, bob) = friends(&p).await;
    let cat = signed_up(&p, "cat").await;
    befriend(&p, &ann, &cat).await;
    let direct = direct_conversation(&p, &ann, &bob).await;

    // A photo and a voice note, with a caption.
    let photo = jpeg(600, 400);
    let voice = samples::wav(1500);
    let photo_id = uploaded(&p, &ann, &direct, "beach.jpg", "image/jpeg", photo.clone()).await;
    let voice_id = uploaded(&p, &ann, &direct, "note.wav", "audio/wav", voice.clone()).await;
    let sent = send_with(
        &p,
        &ann,
        &direct,
        Some("holiday"),
        json!([{ "uploadId": photo_id }, { "uploadId": voice_id, "voiceNote": true }]),
        "two-files",
    )
    .await;
    let sent = &sent["data"]["sendMessage"];
    assert_eq!(sent["body"], "holiday", "{sent}");
    let [picture, note] = [&sent["attachments"][0], &sent["attachments"][1]];
    assert_eq!(picture["kind"], "IMAGE");
    assert_eq!(picture["contentType"], "image/jpeg");
    assert_eq!(picture["fileName"], "beach.jpg");
    assert_eq!(picture["byteSize"], photo.len());
    assert_eq!(
        (picture["width"].as_i64(), picture["height"].as_i64()),
        (Some(600), Some(400))
    );
    assert_eq!(note["kind"], "VOICE");
    assert_eq!(note["contentType"], "audio/wav");
    assert_eq!(note["durationMs"], 1500);
    assert!(note["thumbnails"].is_null(), "only photos have thumbnails");
    assert_eq!(
        stored(&store, &direct, &photo_id).await,
        4,
        "the photo and three thumbnails"
    );

    // Bob reads them as sent: the file itself, and thumbnails of the photo's shape.
    let seen = message(&p, &bob, &sent["id"]).await;
    let seen = &seen["data"]["message"];
    assert_eq!(seen["attachments"].as_array().unwrap().len(), 2, "{seen}");
    let (status, bytes) = download(seen["attachments"][0]["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes == photo), (200, true));
    let (status, bytes) = download(seen["attachments"][1]["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes == voice), (200, true));
    let small = seen["attachments"][0]["thumbnails"]["small"]
        .as_str()
        .unwrap();
    let (status, bytes) = download(small).await;
    assert_eq!(status, 200);
    let thumbnail = image::load_from_memory(&bytes).expect("a thumbnail");
    assert_eq!((thumbnail.width(), thumbnail.height()), (64, 43));

    // A video alone, no caption; its duration read from its `moov` after the media.
    let video = samples::mp4(4321);
    let video_id = uploaded(&p, &bob, &direct, "clip.mp4", "video/mp4", video).await;
    let clip = send_with(
        &p,
        &bob,
        &direct,
        None,
        json!([{ "uploadId": video_id }]),
        "clip",
    )
    .await;
    let clip = &clip["data"]["sendMessage"];
    assert_eq!(clip["body"], "", "{clip}");
    assert_eq!(clip["attachments"][0]["kind"], "VIDEO");
    assert_eq!(clip["attachments"][0]["durationMs"], 4321);

    // A text file is a document; an empty message with no files is still refused.
    let text = "total: 12 €\n".as_bytes().to_vec();
    let doc_id = uploaded(&p, &ann, &direct, "../../notes.txt", "text/plain", text).await;
    let doc = send_with(
        &p,
        &ann,
        &direct,
        None,
        json!([{ "uploadId": doc_id }]),
        "doc",
    )
    .await;
    let doc = &doc["data"]["sendMessage"]["attachments"][0];
    assert_eq!(
        (doc["kind"].as_str(), doc["fileName"].as_str()),
        (Some("DOCUMENT"), Some("notes.txt"))
    );
    let empty = send_with(&p, &ann, &direct, Some("  "), json!([]), "empty").await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT");

    // Someone who is not a member neither uploads there nor reads the files.
    let outside = request(&p, &cat, &direct, "x.jpg", "image/jpeg", 10).await;
    assert_eq!(error_code(&outside), "NOT_FOUND");
    let peek = message(&p, &cat, &sent["id"]).await;
    assert!(peek["data"]["message"].is_null(), "{peek}");
    assert!(!peek.to_string().contains("beach.jpg"), "{peek}");

    // A fake: a PDF declared as a photo is refused by its bytes, and deleted at once.
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n".to_vec();
    let fake_id = uploaded(&p, &ann, &direct, "cat.png", "image/png", pdf).await;
    let fake = send_with(
        &p,
        &ann,
        &direct,
        None,
        json!([{ "uploadId": fake_id }]),
        "fake",
    )
    .await;
    assert_eq!(error_code(&fake), "BAD_USER_INPUT");
    assert!(fake.to_string().contains("application/pdf"), "{fake}");
    assert_eq!(stored(&store, &direct, &fake_id).await, 0);
    // HTML passed off as text, too.
    let html = b"<!DOCTYPE html><html><script>alert(1)</script>".to_vec();
    let html_id = uploaded(&p, &ann, &direct, "readme.txt", "text/plain", html).await;
    let refused = send_with(
        &p,
        &ann,
        &direct,
        None,
        json!([{ "uploadId": html_id }]),
        "html",
    )
    .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");

    // Types and sizes are bounded before anything is stored, and the store refuses
    // more bytes than were signed for.
    for (content_type, size) in [
        ("image/jpeg", 300_001),
        ("text/html", 10),
        ("image/svg+xml", 10),
        ("audio/wav", 200_001),
    ] {
        let out = request(&p, &ann, &direct, "f", content_type, size).await;
        assert_eq!(
            error_code(&out),
            "BAD_USER_INPUT",
            "{content_type} {size}: {out}"
        );
    }
    let out = request(&p, &ann, &direct, "small.jpg", "image/jpeg", 1000).await;
    let upload = &out["data"]["requestAttachmentUpload"];
    let status = put(
        upload["url"].as_str().unwrap(),
        "image/jpeg",
        jpeg(300, 200),
    )
    .await;
    assert!(
        [403, 413].contains(&status),
        "a longer body is refused: {status}"
    );
    let nothing = send_with(
        &p,
        &ann,
        &direct,
        None,
        json!([{ "uploadId": upload["id"] }]),
        "nothing",
    )
    .await;
    assert_eq!(
        error_code(&nothing),
        "BAD_USER_INPUT",
        "nothing was uploaded"
    );

    // At most three files a message; an upload is sent once.
    let mut four = Vec::new();
    for n in 0..4 {
        let id = uploaded(
            &p,
            &ann,
            &direct,
            &format!("{n}.txt"),
            "text/plain",
            b"hi".to_vec(),
        )
        .await;
        four.push(json!({ "uploadId": id }));
    }
    let too_many = send_with(&p, &ann, &direct, None, json!(four), "four").await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT");
    let again = send_with(
        &p,
        &ann,
        &direct,
        None,
        json!([{ "uploadId": photo_id }]),
        "again",
    )
    .await;
    assert_eq!(error_code(&again), "NOT_FOUND", "an upload already sent");

    // Forwarded, the photo is shared, not uploaded again: the copy carries the same
    // file, and Cat, a member of the group, downloads it.
    let team = group(&p, &ann, "team", &[&cat]).await;
    let forwarded = data(
        &p.gateway,
        &format!("mutation F($i: ForwardMessagesInput!) {{ forwardMessages(input: $i) {{ {FIELDS} }} }}"),
        json!({ "i": { "messageIds": [sent["id"]], "conversationIds": [team], "idempotencyKey": "fw" } }),
        Some(&ann.token),
    )
    .await;
    let copy = forwarded["forwardMessages"][0].clone();
    assert_eq!(copy["attachments"][0]["id"], photo_id.as_str());
    let from_copy = message(&p, &cat, &copy["id"]).await;
    let url = from_copy["data"]["message"]["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(download(&url).await, (200, photo.clone()));

    // A file only one message carries goes with it: Bob's clip.
    let delete = "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }";
    let deleted = post(
        &p.gateway,
        delete,
        json!({ "m": clip["id"] }),
        Some(&bob.token),
    )
    .await;
    assert!(deleted.get("errors").is_none(), "{deleted}");
    eventually("the clip deleted", WAIT, || async {
        (stored(&store, &direct, &video_id).await == 0).then_some(())
    })
    .await;

    // Deleted for everyone, the original carries nothing, but the copy keeps its
    // files (the photo and the voice note), and they stay in storage.
    let deleted = post(
        &p.gateway,
        delete,
        json!({ "m": sent["id"] }),
        Some(&ann.token),
    )
    .await;
    assert!(deleted.get("errors").is_none(), "{deleted}");
    let gone = message(&p, &bob, &sent["id"]).await;
    assert_eq!(gone["data"]["message"]["attachments"], json!([]), "{gone}");
    let kept = message(&p, &cat, &copy["id"]).await;
    assert_eq!(
        kept["data"]["message"]["attachments"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{kept}"
    );
    assert_eq!(
        stored(&store, &direct, &photo_id).await,
        4,
        "the copy still carries it"
    );
    assert_eq!(download(&url).await.0, 200);

    // The copy deleted too, the photo, its thumbnails and the voice note go.
    let deleted = post(
        &p.gateway,
        delete,
        json!({ "m": copy["id"] }),
        Some(&ann.token),
    )
    .await;
    assert!(deleted.get("errors").is_none(), "{deleted}");
    eventually("the photo and the voice note deleted", WAIT, || async {
        let left =
            stored(&store, &direct, &photo_id).await + stored(&store, &direct, &voice_id).await;
        (left == 0).then_some(())
    })
    .await;
}

on_both_profiles!(files_travel_with_their_messages);

/// What a client's stream selects of a message's files.
const STREAM: &str = "subscription E($since: String) { chatEvents(since: $since) { __typename position \
    ... on MessageAdded { message { id attachments { id kind fileName url } } } \
    ... on MessageChanged { messageId current { deletedAt attachments { id } } } } }";
const CHANGES: &str = "query C($p: String!) { changesSince(position: $p, first: 100) { events { __typename \
    ... on MessageAdded { message { id deletedAt attachments { id fileName url } } } \
    ... on MessageChanged { messageId current { deletedAt attachments { id url } } } } } }";

/// The next `kind` on `sub`, skipping other events.
async fn next_event(sub: &mut Subscription, kind: &str) -> Value {
    loop {
        let payload = sub.next(WAIT).await.unwrap_or_else(|| panic!("no {kind}"));
        let event = payload["data"]["chatEvents"].clone();
        assert!(!event.is_null(), "{payload}");
        if event["__typename"] == kind {
            return event;
        }
    }
}

async fn files_reach_live_and_resuming_streams_and_leave_them_with_deletion(profile: Profile) {
    let p = crate::start(profile).await;
    let store = p.objects().await;
    let (ann, bob) = friends(&p).await;
    let direct = direct_conversation(&p, &ann, &bob).await;
    let since = crate::stream::position(&p, &bob).await;
    let mut live =
        Subscription::start(&p.gateway, STREAM, json!({ "since": since }), &bob.token).await;

    let photo = jpeg(320, 240);
    let photo_id = uploaded(&p, &ann, &direct, "cake.jpg", "image/jpeg", photo.clone()).await;
    let sent = send_with(
        &p,
        &ann,
        &direct,
        Some("for you"),
        json!([{ "uploadId": photo_id }]),
        "cake",
    )
    .await;
    let id = sent["data"]["sendMessage"]["id"].clone();
    assert!(id.is_string(), "{sent}");

    // Live: the message arrives with its file, and the URL it carries downloads it.
    let added = next_event(&mut live, "MessageAdded").await;
    assert_eq!(added["message"]["id"], id);
    let file = &added["message"]["attachments"][0];
    assert_eq!(
        (
            file["id"].as_str(),
            file["kind"].as_str(),
            file["fileName"].as_str()
        ),
        (Some(photo_id.as_str()), Some("IMAGE"), Some("cake.jpg")),
        "{added}"
    );
    let url = file["url"].as_str().unwrap().to_string();
    assert_eq!(download(&url).await, (200, photo.clone()));

    // Resuming from before the send: the same message with the same file.
    let mut resumed =
        Subscription::start(&p.gateway, STREAM, json!({ "since": since }), &bob.token).await;
    let replayed = next_event(&mut resumed, "MessageAdded").await;
    assert_eq!(replayed["message"]["id"], id);
    assert_eq!(
        replayed["message"]["attachments"][0]["id"],
        photo_id.as_str()
    );
    resumed.close().await;

    // Deleted for everyone: the live change carries no file, and neither a resuming
    // stream nor `changesSince` names it or hands out a URL; the objects go.
    let deleted = post(
        &p.gateway,
        "mutation D($m: ID!) { deleteMessageForEveryone(messageId: $m) { id } }",
        json!({ "m": id }),
        Some(&ann.token),
    )
    .await;
    assert!(deleted.get("errors").is_none(), "{deleted}");
    let changed = next_event(&mut live, "MessageChanged").await;
    assert_eq!(changed["messageId"], id);
    assert!(changed["current"]["deletedAt"].is_string(), "{changed}");
    assert_eq!(changed["current"]["attachments"], json!([]), "{changed}");
    live.close().await;

    let mut after =
        Subscription::start(&p.gateway, STREAM, json!({ "since": since }), &bob.token).await;
    let replayed = next_event(&mut after, "MessageAdded").await;
    assert_eq!(replayed["message"]["attachments"], json!([]), "{replayed}");
    after.close().await;
    let changes = data(&p.gateway, CHANGES, json!({ "p": since }), Some(&bob.token)).await;
    let text = changes.to_string();
    assert!(text.contains(id.as_str().unwrap()), "{changes}");
    assert!(!text.contains("cake.jpg"), "{changes}");
    assert!(!text.contains(&photo_id), "{changes}");
    eventually("the photo's objects deleted", WAIT, || async {
        (stored(&store, &direct, &photo_id).await == 0).then_some(())
    })
    .await;
    let (status, _) = download(&url).await;
    assert!(
        [403, 404].contains(&status),
        "a URL handed out before the deletion no longer serves the file: {status}"
    );
}

on_both_profiles!(files_reach_live_and_resuming_streams_and_leave_them_with_deletion);
