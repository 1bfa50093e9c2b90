//! The mail port: SMTP in the services profile, a local outbox file otherwise.

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use echostream_config::SmtpConfig;

/// One plain-text mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
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

/// Appends every mail as one JSON line to `outbox.jsonl` and logs it: the embedded
/// profile's way to read the codes it sends.
pub struct OutboxMailer {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl OutboxMailer {
    /// Writes into `dir/outbox.jsonl`.
    pub fn new(dir: PathBuf) -> OutboxMailer {
        OutboxMailer {
            path: dir.join("outbox.jsonl"),
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let fail = |e: std::io::Error| MailError::Unavailable(e.to_string());
        let mut line =
            serde_json::to_string(mail).map_err(|e| MailError::Unavailable(e.to_string()))?;
        line.push('\n');
        let _guard = self.lock.lock().await;
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(fail)?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(fail)?;
        file.write_all(line.as_bytes()).await.map_err(fail)?;
        // tokio writes in the background: without a flush the line may land late.
        file.flush().await.map_err(fail)?;
        tracing::info!(to = %mail.to, subject = %mail.subject, outbox = %self.path.display(), "mail written to the local outbox");
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
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
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
