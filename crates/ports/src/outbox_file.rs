//! An append-only file of one JSON value per line: the embedded profile's outbox
//! for what the services profile sends away (mail, pushes), readable by people and
//! tests alike.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

/// `outbox.jsonl` in a directory, appended to by one writer at a time.
pub struct OutboxFile {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl OutboxFile {
    /// The outbox `dir/outbox.jsonl` (made on the first append).
    pub fn in_dir(dir: PathBuf) -> OutboxFile {
        OutboxFile {
            path: dir.join("outbox.jsonl"),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Appends `value` as one line, flushed before this returns.
    pub async fn append(&self, value: &impl serde::Serialize) -> std::io::Result<()> {
        let mut line = serde_json::to_string(value).map_err(std::io::Error::other)?;
        line.push('\n');
        let _guard = self.lock.lock().await;
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await?;
        file.write_all(line.as_bytes()).await?;
        // tokio writes in the background: without a flush the line may land late.
        file.flush().await
    }
}
