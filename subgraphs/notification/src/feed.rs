//! The notification feed: built from other domains' events, pushed live.

use chrono::Utc;
use echostream_contracts::auth::UserDeleted;
use echostream_contracts::chat::{MessageDeleted, MessageEdited, MessageSent};
use echostream_contracts::notification::{NotificationFrame, NotificationKind, channel};
use echostream_contracts::profile::{FriendRequestSent, FriendshipCreated};
use echostream_ports::events::{Delivery, consumer::first_delivery};
use echostream_ports::pubsub::PubSub;
use echostream_service::Error;
use echostream_service::service::publish;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::notification;

/// A message's first 140 characters; a file it carries says what it is first
/// ("📷 Photo", "📷 look at this").
fn preview(message: &MessageSent) -> String {
    use echostream_contracts::chat::AttachmentKind;
    let mark = message.attachments.first().map(|a| match a.kind {
        AttachmentKind::Image => ("📷", "Photo"),
        AttachmentKind::Video => ("🎥", "Video"),
        AttachmentKind::Audio => ("🎵", "Audio"),
        AttachmentKind::Voice => ("🎤", "Voice message"),
        AttachmentKind::Document => ("📄", "File"),
    });
    let text = match (mark, message.body.is_empty()) {
        (Some((icon, name)), true) => format!("{icon} {name}"),
        (Some((icon, _)), false) => format!("{icon} {}", message.body),
        (None, _) => message.body.clone(),
    };
    text.chars().take(140).collect()
}

/// Who gets what from an event: (recipient, kind, payload).
fn recipients(
    delivery: &Delivery,
) -> Result<Vec<(Uuid, NotificationKind, serde_json::Value)>, Error> {
    let event = &delivery.event;
    if let Some(message) = event.decode::<MessageSent>()? {
        // A system item ("ann added bob") is not a message to be notified of.
        if message.system.is_some() {
            return Ok(Vec::new());
        }
        let payload = json!({
            "conversationId": message.conversation_id,
            "messageId": message.message_id,
            "senderId": message.sender_id,
            "seq": message.seq,
            "preview": preview(&message),
        });
        return Ok(message
            .member_ids
            .iter()
            .filter(|m| **m != message.sender_id)
            .map(|m| (*m, NotificationKind::Message, payload.clone()))
            .collect());
    }
    if let Some(request) = event.decode::<FriendRequestSent>()? {
        let payload = json!({
            "requestId": request.request_id, "fromUserId": request.from_user_id,
        });
        return Ok(vec![(
            request.to_user_id,
            NotificationKind::FriendRequest,
            payload,
        )]);
    }
    // The requester learns the answer; the one who accepted knows already.
    if let Some(friendship) = event.decode::<FriendshipCreated>()? {
        let [requester, accepter] = friendship.user_ids;
        let payload = json!({ "requestId": friendship.request_id, "byUserId": accepter });
        return Ok(vec![(
            requester,
            NotificationKind::FriendRequestAccepted,
            payload,
        )]);
    }
    Ok(Vec::new())
}

/// Stores the notifications an event causes, then pushes them to their users. A
/// push that fails fails the delivery, which is retried: the retry finds them stored
/// and pushes them again (live notifications are at least once, told apart by id).
pub async fn apply(
    db: &DatabaseConnection,
    pubsub: &dyn PubSub,
    delivery: Delivery,
) -> Result<(), Error> {
    if follow_message_change(db, &delivery).await? {
        return Ok(());
    }
    let targets = recipients(&delivery)?;
    if targets.is_empty() {
        return Ok(());
    }
    let event_id = delivery.event.id;
    let topic_consumer = format!("notification:{}", delivery.topic);
    let stored = db
        .transaction::<_, Vec<notification::Model>, Error>(|txn| {
            Box::pin(async move {
                if !first_delivery(txn, &topic_consumer, event_id).await? {
                    // Stored already: what remains is to push them, which may be
                    // what failed last time (a client tells repeats by their `id`).
                    return Ok(notification::Entity::find()
                        .filter(notification::Column::SourceEvent.eq(event_id))
                        .all(txn)
                        .await?);
                }
                let mut stored = Vec::new();
                for (user, kind, payload) in targets {
                    let row = notification::Model {
                        id: Uuid::now_v7(),
                        user_id: user,
                        kind,
                        source_event: event_id,
                        payload,
                        created_at: Utc::now(),
                        read_at: None,
                    };
                    notification::Entity::insert(notification::ActiveModel::from(row.clone()))
                        .on_conflict(
                            OnConflict::columns([
                                notification::Column::UserId,
                                notification::Column::SourceEvent,
                            ])
                            .do_nothing()
                            .to_owned(),
                        )
                        .do_nothing()
                        .exec(txn)
                        .await?;
                    stored.push(row);
                }
                Ok(stored)
            })
        })
        .await?;
    for row in stored {
        let frame = NotificationFrame {
            id: row.id,
            kind: row.kind,
            payload: row.payload,
            created_at: row.created_at,
        };
        publish(pubsub, &channel(row.user_id), &frame).await?;
    }
    Ok(())
}

/// Keeps message notifications true to their message: an edit updates their preview,
/// a deletion for everyone removes them (its text is served by nobody). Both are
/// idempotent, so a repeated delivery changes nothing more. Whether the event was one.
async fn follow_message_change(
    db: &DatabaseConnection,
    delivery: &Delivery,
) -> Result<bool, Error> {
    let backend = db.get_database_backend();
    let postgres = matches!(backend, sea_orm::DbBackend::Postgres);
    let (sql, values): (&str, Vec<sea_orm::Value>) = if let Some(edit) =
        delivery.event.decode::<MessageEdited>()?
    {
        let preview: String = edit.body.chars().take(140).collect();
        let sql = if postgres {
            "UPDATE notifications SET payload = jsonb_set(payload::jsonb, '{preview}', to_jsonb($1::text))::json \
                 WHERE kind = $2 AND payload->>'messageId' = $3"
        } else {
            "UPDATE notifications SET payload = json_set(payload, '$.preview', ?) \
                 WHERE kind = ? AND json_extract(payload, '$.messageId') = ?"
        };
        let values = vec![
            preview.into(),
            NotificationKind::Message.into(),
            edit.message_id.to_string().into(),
        ];
        (sql, values)
    } else if let Some(deletion) = delivery.event.decode::<MessageDeleted>()? {
        let sql = if postgres {
            "DELETE FROM notifications WHERE kind = $1 AND payload->>'messageId' = $2"
        } else {
            "DELETE FROM notifications WHERE kind = ? AND json_extract(payload, '$.messageId') = ?"
        };
        let values = vec![
            NotificationKind::Message.into(),
            deletion.message_id.to_string().into(),
        ];
        (sql, values)
    } else {
        return Ok(false);
    };
    db.execute(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
    .await?;
    Ok(true)
}

/// Erases a deleted account's notifications, and the previews of the messages it
/// sent in everyone else's (the notification stays: that a message came, when).
pub async fn apply_auth_event(db: &DatabaseConnection, delivery: Delivery) -> Result<(), Error> {
    let Some(UserDeleted { user_id: user }) = delivery.event.decode()? else {
        return Ok(());
    };
    notification::Entity::delete_many()
        .filter(notification::Column::UserId.eq(user))
        .exec(db)
        .await?;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "UPDATE notifications SET payload = jsonb_set(payload::jsonb, '{preview}', '\"\"')::json \
             WHERE kind = $1 AND payload->>'senderId' = $2"
        }
        _ => {
            "UPDATE notifications SET payload = json_set(payload, '$.preview', '') \
             WHERE kind = ? AND json_extract(payload, '$.senderId') = ?"
        }
    };
    db.execute(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [NotificationKind::Message.into(), user.to_string().into()],
    ))
    .await?;
    Ok(())
}

/// The newest `limit` notifications of a user.
pub async fn latest(
    db: &DatabaseConnection,
    user: Uuid,
    limit: u64,
) -> Result<Vec<notification::Model>, Error> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .order_by_desc(notification::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// How many notifications the user has not read.
pub async fn unread_count(db: &DatabaseConnection, user: Uuid) -> Result<u64, Error> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Marks all of a user's notifications read.
pub async fn mark_all_read(db: &DatabaseConnection, user: Uuid) -> Result<u64, Error> {
    let result = notification::Entity::update_many()
        .col_expr(
            notification::Column::ReadAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Notifications by id (the entity loader's query).
pub async fn by_ids(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<Vec<notification::Model>, Error> {
    Ok(notification::Entity::find()
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use echostream_contracts::chat::{SystemAction, SystemItem};
    use echostream_ports::events::Envelope;

    fn delivered<E: echostream_contracts::Event>(event: &E) -> Delivery {
        Delivery {
            event: Envelope::of(event, None),
            topic: E::TYPE.split('.').next().unwrap().to_string(),
            partition: 0,
            offset: 0,
        }
    }

    fn message(sender: Uuid, members: Vec<Uuid>, body: &str) -> MessageSent {
        MessageSent {
            reply_to: None,
            forwarded: None,
            mentions: None,
            attachments: Vec::new(),
            thread: None,
            message_id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            seq: 7,
            sender_id: sender,
            body: body.into(),
            created_at: Utc::now(),
            member_ids: members,
            system: None,
        }
    }

    #[test]
    fn a_message_notifies_every_other_member_with_a_short_preview() {
        let [ann, bob, cat] = [(); 3].map(|_| Uuid::now_v7());
        let long = "é".repeat(200);
        let sent = message(ann, vec![ann, bob, cat], &long);
        let got = recipients(&delivered(&sent)).unwrap();
        let who: Vec<Uuid> = got.iter().map(|(u, _, _)| *u).collect();
        assert_eq!(who, [bob, cat], "everyone but the sender");
        for (_, kind, payload) in &got {
            assert_eq!(*kind, NotificationKind::Message);
            assert_eq!(payload["seq"], 7);
            assert_eq!(payload["senderId"], ann.to_string());
            let preview = payload["preview"].as_str().unwrap();
            assert_eq!(preview.chars().count(), 140, "140 characters, not bytes");
        }
    }

    #[test]
    fn a_file_says_what_it_is_in_the_preview() {
        use echostream_contracts::chat::{AttachmentKind, AttachmentSummary};
        let voice = AttachmentSummary {
            kind: AttachmentKind::Voice,
            content_type: "audio/ogg".into(),
        };
        let mut sent = message(Uuid::now_v7(), Vec::new(), "");
        sent.attachments = vec![voice];
        assert_eq!(preview(&sent), "🎤 Voice message");
        sent.body = "listen".into();
        assert_eq!(preview(&sent), "🎤 listen");
        sent.attachments.clear();
        assert_eq!(preview(&sent), "listen");
    }

    #[test]
    fn a_system_item_notifies_nobody() {
        let [ann, bob] = [(); 2].map(|_| Uuid::now_v7());
        let mut item = message(ann, vec![ann, bob], "");
        item.system = Some(SystemItem {
            action: SystemAction::MembersAdded,
            user_ids: vec![bob],
            text: None,
            message_id: None,
        });
        assert!(recipients(&delivered(&item)).unwrap().is_empty());
    }

    #[test]
    fn friend_requests_notify_the_one_asked_and_acceptance_the_one_who_asked() {
        let [ann, bob, request] = [(); 3].map(|_| Uuid::now_v7());
        let sent = FriendRequestSent {
            request_id: request,
            from_user_id: ann,
            to_user_id: bob,
        };
        let got = recipients(&delivered(&sent)).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0, got[0].1), (bob, NotificationKind::FriendRequest));
        assert_eq!(got[0].2["fromUserId"], ann.to_string());
        let accepted = FriendshipCreated {
            request_id: request,
            user_ids: [ann, bob],
        };
        let got = recipients(&delivered(&accepted)).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].0, got[0].1),
            (ann, NotificationKind::FriendRequestAccepted)
        );
        assert_eq!(got[0].2["byUserId"], bob.to_string());
    }
}
