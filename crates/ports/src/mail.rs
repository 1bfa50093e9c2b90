//! The mail port: SMTP in the services profile, a local outbox file otherwise.

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use echostream_config::SmtpConfig;

use crate::outbox_file::OutboxFile;

/// One mail: a text part, and an HTML part when it has one (sent as
/// `multipart/alternative`, the text part first), with extra headers
/// (`List-Unsubscribe`, `Message-ID`…).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Header names and values, each name one of [`Mail::HEADERS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

impl Mail {
    /// The headers a mail may add: the ones a mailing list needs (RFC 2369, RFC
    /// 8058), and its own id. Others are refused, so no caller can forge `From` or
    /// `Bcc` through them.
    pub const HEADERS: [&'static str; 3] =
        ["List-Unsubscribe", "List-Unsubscribe-Post", "Message-ID"];

    /// The value of header `name`, if the mail has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Failures of the mail port.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("mail unavailable: {0}")]
    Unavailable(String),
}

impl From<MailError> for crate::Error {
    fn from(err: MailError) -> Self {
        match err {
            MailError::Address(a) => crate::Error::bad_input(format!("invalid email address {a}")),
            other => crate::Error::internal(other),
        }
    }
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Whether mail can be handed over now (`/ready`); the local outbox always can.
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Delivers `mail` (or hands it to a relay that will).
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Appends every mail as one JSON line to `outbox.jsonl` and logs it: the
/// embedded profile's way to read the codes it sends.
pub struct OutboxMailer(OutboxFile);

impl OutboxMailer {
    /// Writes into `dir/outbox.jsonl`.
    pub fn new(dir: PathBuf) -> OutboxMailer {
        OutboxMailer(OutboxFile::in_dir(dir))
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.0
            .append(mail)
            .await
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
        tracing::info!(to = %mail.to, subject = %mail.subject, outbox = %self.0.path().display(), "mail written to the local outbox");
        Ok(())
    }
}

/// Sends through an SMTP server with lettre.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for the configured server. Plain SMTP: put TLS in front for the internet.
    pub fn new(config: &SmtpConfig) -> Result<SmtpMailer, MailError> {
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|e| MailError::Address(format!("smtp.from: {e}")))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the SMTP server did not answer NOOP".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject);
        for (name, value) in &mail.headers {
            let name = Mail::HEADERS
                .iter()
                .find(|known| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| MailError::Unavailable(format!("header {name} is not allowed")))?;
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                value.clone(),
            ));
        }
        let unsent = |e: lettre::error::Error| MailError::Unavailable(e.to_string());
        let message = match &mail.html {
            Some(html) => builder
                .multipart(MultiPart::alternative_plain_html(
                    mail.text.clone(),
                    html.clone(),
                ))
                .map_err(unsent)?,
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone())
                .map_err(unsent)?,
        };
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_mailer_appends_one_json_line_per_mail() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path().join("mail"));
        for n in 0..2 {
            let mail = Mail {
                to: "a@example.com".into(),
                subject: format!("s{n}"),
                text: "t".into(),
                ..Mail::default()
            };
            mailer.send(&mail).await.unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join("mail/outbox.jsonl")).unwrap();
        let lines: Vec<Mail> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].subject, "s1");
    }
}
