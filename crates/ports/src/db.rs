//! The relational port: SeaORM on a SQLite file per subgraph (embedded) or on one
//! PostgreSQL schema per subgraph (services).
//!
//! SeaORM already is the one interface over both backends, so this module only opens
//! the right connection; domain code uses SeaORM entities and never asks which runs.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, SqlErr, Statement,
};

use crate::Error;

use echostream_config::{Config, Profile, Subgraph};

/// Opens the subgraph's own database (embedded) or schema (services), creating it
/// when missing.
pub async fn connect(config: &Config, subgraph: Subgraph) -> Result<DatabaseConnection, DbErr> {
    let name = subgraph.name();
    match config.profile {
        Profile::Embedded => {
            let dir = config.data_dir.join("db");
            std::fs::create_dir_all(&dir)
                .map_err(|e| DbErr::Custom(format!("creating {}: {e}", dir.display())))?;
            let url = format!("sqlite://{}/{name}.db?mode=rwc", dir.display());
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(8)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            let db = Database::connect(options).await?;
            // WAL lets readers run beside the writer; the 5 s busy timeout makes a
            // second writer wait instead of failing.
            for pragma in [
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA foreign_keys = ON",
                "PRAGMA busy_timeout = 5000",
            ] {
                db.execute_unprepared(pragma).await?;
            }
            Ok(db)
        }
        Profile::Services => {
            ensure_database_once(&config.database.url).await?;
            let mut options = ConnectOptions::new(config.database.url.clone());
            options
                .max_connections(config.database.max_connections)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .set_schema_search_path(name)
                .sqlx_logging(false);
            let db = Database::connect(options).await?;
            // The search path may name a schema that does not exist yet.
            db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS {name}"))
                .await?;
            Ok(db)
        }
    }
}

/// [`ensure_database`] once per database per process: the five subgraphs of one
/// process share it.
async fn ensure_database_once(url: &str) -> Result<(), DbErr> {
    static ENSURED: std::sync::LazyLock<tokio::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::LazyLock::new(Default::default);
    let mut ensured = ENSURED.lock().await;
    if !ensured.contains(url) {
        ensure_database(url).await?;
        ensured.insert(url.to_string());
    }
    Ok(())
}

/// Creates the database named in `url` when it does not exist yet.
async fn ensure_database(url: &str) -> Result<(), DbErr> {
    let (base, rest) = url
        .rsplit_once('/')
        .ok_or_else(|| DbErr::Custom("database.url has no database name".into()))?;
    let (name, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(DbErr::Custom(format!(
            "database.url: database name {name:?} must be letters, digits and _"
        )));
    }
    // The same server and options (sslmode and the like), its maintenance database.
    let maintenance = Database::connect(format!("{base}/postgres{query}")).await?;
    let exists = maintenance
        .query_one(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .is_some();
    if !exists {
        // Processes starting together race here; the losers' "already exists" (or,
        // when both insert at once, the catalog's unique index) is fine.
        if let Err(err) = maintenance
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
        {
            let text = err.to_string();
            if !text.contains("already exists") && !text.contains("pg_database_datname_index") {
                return Err(err);
            }
        }
    }
    maintenance.close().await
}

/// Counts the statements run through this handle of the connection from now on
/// (other clones of it are not counted): how tests prove that a response is batched.
pub fn count_queries(
    db: &mut DatabaseConnection,
) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&count);
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    count
}

/// A unique constraint a write can run into, known by the name PostgreSQL reports and
/// the columns SQLite reports (SQLite names no constraint in its errors), with what
/// the caller is told when it does.
pub struct Unique {
    /// The constraint's (or unique index's) name, as the migration made it.
    pub name: &'static str,
    pub table: &'static str,
    pub columns: &'static [&'static str],
    /// The `CONFLICT` message.
    pub message: &'static str,
}

impl Unique {
    /// Whether `err` is a violation of this constraint, on either backend.
    pub fn violated_by(&self, err: &DbErr) -> bool {
        let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() else {
            return false;
        };
        // PostgreSQL: duplicate key value violates unique constraint "users_email_key_key"
        if detail.contains(&format!("\"{}\"", self.name)) {
            return true;
        }
        // SQLite: UNIQUE constraint failed: users.email_key[, users.other]
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("{}.{c}", self.table))
            .collect();
        detail
            .rsplit("UNIQUE constraint failed: ")
            .next()
            .is_some_and(|failed| failed.trim() == columns.join(", "))
    }
}

/// What a failed write means to the caller: `CONFLICT` with the constraint's message
/// when it violated one of `constraints`, an internal error otherwise.
pub fn conflict(err: DbErr, constraints: &[&Unique]) -> Error {
    match constraints.iter().find(|c| c.violated_by(&err)) {
        Some(unique) => Error::conflict(unique.message),
        None => Error::from(err),
    }
}

/// A statement written with PostgreSQL's numbered placeholders (`$1`, `$2`…, each
/// used once and in order), made to run on `backend` (SQLite takes `?`).
pub fn statement(
    backend: sea_orm::DbBackend,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> sea_orm::Statement {
    let sql = match backend {
        sea_orm::DbBackend::Postgres => sql.to_string(),
        _ => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod statement_tests {
    use super::*;

    #[test]
    fn numbered_placeholders_become_question_marks_on_sqlite() {
        let sql = "SELECT a FROM t WHERE b = $1 AND c > $2 AND d = '$x'";
        let lite = statement(sea_orm::DbBackend::Sqlite, sql, [1.into(), 2.into()]);
        assert_eq!(
            lite.sql,
            "SELECT a FROM t WHERE b = ? AND c > ? AND d = '$x'"
        );
        let pg = statement(sea_orm::DbBackend::Postgres, sql, [1.into(), 2.into()]);
        assert_eq!(pg.sql, sql);
    }
}
