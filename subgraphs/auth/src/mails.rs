//! The mail auth sends, each with a text and an HTML part: one-time codes, the
//! welcome after verification, and other domains' mail to a user (notification
//! digests), which auth sends because it alone holds addresses.
//!
//! A digest is sent at most once: its id is taken in `mails_sent` before sending
//! (of two deliveries of the same event, one takes it) and marked sent after. A
//! send that fails gives the id back and fails the delivery, which is retried; a
//! process that dies between taking and sending leaves the id taken, and that
//! digest unsent rather than risk sending it twice.

use chrono::{Duration, Utc};
use echostream_contracts::notification::DigestDue;
use echostream_ports::events::Delivery;
use echostream_ports::mail::Mail;
use echostream_service::Error;
use html_escape::encode_text;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::Auth;
use crate::entities::{mail_sent, user};

/// A mail carrying a one-time code.
pub fn code(to: &str, subject: &str, intro: &str, code: &str, ttl: Duration) -> Mail {
    let minutes = ttl.num_minutes();
    Mail {
        to: to.to_string(),
        subject: subject.to_string(),
        text: format!(
            "{intro}\n\nYour code is {code}. It expires in {minutes} minutes.\n\nIf this was not you, ignore this mail.\n"
        ),
        html: Some(page(&format!(
            "<p>{}</p><p>Your code is</p>\
             <p style=\"font-size:28px;font-weight:bold;letter-spacing:6px\">{}</p>\
             <p>It expires in {minutes} minutes.</p>\
             <p style=\"color:#666\">If this was not you, ignore this mail.</p>",
            encode_text(intro),
            encode_text(code),
        ))),
        ..Mail::default()
    }
}

/// The welcome a new account gets once its address is verified.
pub fn welcome(to: &str, username: &str) -> Mail {
    Mail {
        to: to.to_string(),
        subject: "Welcome to EchoStream".into(),
        text: format!(
            "Welcome, {username}!\n\nYour address is verified. Find friends by their \
             username, start a conversation, and you will hear of what they write here \
             when you are away.\n"
        ),
        html: Some(page(&format!(
            "<p>Welcome, <strong>{}</strong>!</p><p>Your address is verified. Find \
             friends by their username, start a conversation, and you will hear of what \
             they write here when you are away.</p>",
            encode_text(username)
        ))),
        ..Mail::default()
    }
}

/// An HTML mail around `body`.
fn page(body: &str) -> String {
    format!("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">{body}</body></html>")
}

/// Sends one of notification's digests to the user's verified address, at most once
/// (see the module's description); a user deleted or unverified since gets none.
pub async fn send_digest(auth: &Auth, delivery: Delivery) -> Result<(), Error> {
    let Some(due) = delivery.event.decode::<DigestDue>()? else {
        return Ok(());
    };
    let taken = mail_sent::Entity::insert(mail_sent::ActiveModel {
        id: Set(due.digest_id),
        state: Set(mail_sent::State::Sending),
        at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(mail_sent::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&auth.db)
    .await?;
    if taken == 0 {
        return Ok(()); // sent (or being sent) already
    }
    let account = user::Entity::find_by_id(due.user_id).one(&auth.db).await?;
    let Some(account) = account.filter(|a| a.email_verified_at.is_some()) else {
        return mark(auth, &due, mail_sent::State::Skipped).await;
    };
    let mail = Mail {
        to: account.email,
        subject: due.subject.clone(),
        text: due.text.clone(),
        html: Some(due.html.clone()),
        headers: vec![
            // RFC 8058: one click unsubscribes, with a POST the link's owner serves.
            (
                "List-Unsubscribe".into(),
                format!("<{}>", due.unsubscribe_url),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
            (
                "Message-ID".into(),
                format!("<digest-{}@echostream>", due.digest_id),
            ),
        ],
    };
    if let Err(err) = auth.ports.mail.send(&mail).await {
        // Not sent: give the id back, and let the delivery be retried.
        mail_sent::Entity::delete_by_id(due.digest_id)
            .exec(&auth.db)
            .await?;
        return Err(err.into());
    }
    mark(auth, &due, mail_sent::State::Sent).await
}

async fn mark(auth: &Auth, due: &DigestDue, state: mail_sent::State) -> Result<(), Error> {
    mail_sent::Entity::update_many()
        .col_expr(mail_sent::Column::State, Expr::value(state))
        .col_expr(mail_sent::Column::At, Expr::value(Utc::now()))
        .filter(mail_sent::Column::Id.eq(due.digest_id))
        .exec(&auth.db)
        .await?;
    Ok(())
}
