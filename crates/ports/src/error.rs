//! The one error type every service returns, and its mapping to GraphQL.
//!
//! Clients branch on `extensions.code`, so the set of codes is small and stable.
//! Internal failures are logged with their details and reach the client only as
//! `INTERNAL` with a generic message: no SQL, no broker address, no stack.

use async_graphql::ErrorExtensions;

/// A failure a resolver or domain function can report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid access token was presented.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// An argument is malformed or breaks a rule.
    #[error("{0}")]
    BadUserInput(String),
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the current state (taken username, repeated request).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after the given number of seconds.
    #[error("too many requests, retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A cap on concurrent use is reached (live subscriptions, connections): retry
    /// after releasing some.
    #[error("{0}")]
    TooMany(String),
    /// The database or the pub/sub store could not be reached (stopped,
    /// restarting, every connection busy, no answer in time): the same request may
    /// be retried shortly. Logged, never shown.
    #[error("briefly unavailable: nothing was changed, retry shortly")]
    Unavailable(#[source] anyhow_like::Boxed),
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow_like::Boxed),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::BadUserInput(_) => "BAD_USER_INPUT",
            Error::NotFound(_) => "NOT_FOUND",
            Error::Conflict(_) => "CONFLICT",
            Error::RateLimited { .. } | Error::TooMany(_) => "RATE_LIMITED",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// Wraps any failure the client must not see.
    pub fn internal(err: impl Into<anyhow_like::Boxed>) -> Error {
        Error::Internal(err.into())
    }

    /// Shorthand for [`Error::BadUserInput`].
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::BadUserInput(message.into())
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::NotFound(message.into())
    }

    /// Shorthand for [`Error::Forbidden`].
    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::Forbidden(message.into())
    }

    /// Shorthand for [`Error::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::Conflict(message.into())
    }

    /// The error every resolver returns when no valid token came with the request.
    pub fn unauthenticated() -> Error {
        Error::Unauthenticated("sign in first: a valid access token is required".into())
    }
}

/// Boxed error sources, so `Error` stays `Send + Sync` without pulling anyhow into libraries.
pub mod anyhow_like {
    /// Any error that can cross threads.
    pub type Boxed = Box<dyn std::error::Error + Send + Sync + 'static>;
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        if database_unreachable(&err) {
            Error::Unavailable(err.into())
        } else {
            Error::internal(err)
        }
    }
}

/// Whether `err` says the database could not be reached or went away (stopped,
/// restarting, the connection cut, no connection free in time) rather than that it
/// refused the statement.
pub fn database_unreachable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // Class 08, connection exception; 57P01-57P03, the server shutting
                // down, crashed or not yet accepting connections.
                sqlx::Error::Database(db) => db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
                _ => false,
            }
        }
        _ => false,
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(err: sea_orm::TransactionError<Error>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => Error::from(db),
            sea_orm::TransactionError::Transaction(inner) => inner,
        }
    }
}

/// Kept for the few places that build an `async_graphql::Error` themselves (request
/// checks before execution); resolvers just use `?` (see [`code_errors`]).
impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        let mut error = async_graphql::Error::new(self.to_string());
        set_code(self, error.extensions.get_or_insert_with(Default::default));
        match self {
            Error::Internal(source) => tracing::error!(error = %source, "internal error"),
            Error::Unavailable(source) => tracing::warn!(error = %source, "store unreachable"),
            _ => {}
        }
        error
    }
}

fn set_code(err: &Error, extensions: &mut async_graphql::ErrorExtensionValues) {
    extensions.set("code", err.code());
    if let Error::RateLimited { retry_after_secs } = err {
        extensions.set("retryAfter", *retry_after_secs);
    }
}

/// Gives every error of a response its `extensions.code`, so no resolver can return
/// an error without one.
///
/// Resolvers return domain errors with `?`: async-graphql's blanket conversion keeps
/// the message ([`Error`]'s `Display`, "internal error" for [`Error::Internal`]) and
/// the error itself as the source, and this reads the code from the source. An error
/// of any other type that reached a client would be a bug: it becomes `INTERNAL`
/// with a generic message, its text only logged. An error with neither code nor
/// source is one of async-graphql's own refusals of the input (an argument of the
/// wrong type): `BAD_USER_INPUT`.
pub fn code_errors(errors: &mut [async_graphql::ServerError]) {
    for error in errors {
        if error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some())
        {
            continue;
        }
        let source = error.source.clone();
        let domain = source.as_deref().and_then(|any| {
            any.downcast_ref::<Error>().or_else(|| {
                any.downcast_ref::<std::sync::Arc<Error>>()
                    .map(AsRef::as_ref)
            })
        });
        match (domain, source.is_some()) {
            (Some(domain), _) => {
                match domain {
                    Error::Internal(inner) => {
                        tracing::error!(error = %inner, path = ?error.path, "internal error")
                    }
                    Error::Unavailable(inner) => {
                        tracing::warn!(error = %inner, path = ?error.path, "store unreachable")
                    }
                    _ => {}
                }
                set_code(
                    domain,
                    error.extensions.get_or_insert_with(Default::default),
                );
            }
            (None, true) => {
                tracing::error!(error = %error.message, path = ?error.path, "internal error");
                error.message = "internal error".into();
                let ext = error.extensions.get_or_insert_with(Default::default);
                ext.set("code", "INTERNAL");
            }
            (None, false) => {
                let ext = error.extensions.get_or_insert_with(Default::default);
                ext.set("code", "BAD_USER_INPUT");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_source() {
        let err = Error::internal(std::io::Error::other("password=hunter2 at 10.0.0.1")).extend();
        assert_eq!(err.message, "internal error");
        let ext = format!("{:?}", err.extensions);
        assert!(ext.contains("INTERNAL"), "{ext}");
        assert!(!ext.contains("hunter2"));
    }

    #[test]
    fn an_unreachable_database_is_unavailable_and_a_refused_statement_is_internal() {
        use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, sqlx};
        let cut = |e: sqlx::Error| DbErr::Query(RuntimeErr::SqlxError(e));
        for unreachable in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            cut(sqlx::Error::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            ))),
            cut(sqlx::Error::PoolTimedOut),
        ] {
            let err = returned(Error::from(unreachable));
            assert_eq!(code_of(&err), "\"UNAVAILABLE\"");
            assert!(err.message.contains("retry"), "{}", err.message);
            assert!(!err.message.contains("refused"), "{}", err.message);
        }
        let refused = Error::from(cut(sqlx::Error::RowNotFound));
        assert_eq!(refused.code(), "INTERNAL");
        assert_eq!(
            Error::from(DbErr::RecordNotUpdated).code(),
            "INTERNAL",
            "a statement the database answered is not an outage"
        );
    }

    /// What a resolver's `?` makes of an error, as it reaches the response.
    fn returned(err: impl Into<async_graphql::Error>) -> async_graphql::ServerError {
        let mut errors = vec![err.into().into_server_error(async_graphql::Pos::default())];
        code_errors(&mut errors);
        errors.remove(0)
    }

    fn code_of(err: &async_graphql::ServerError) -> String {
        let ext = err.extensions.as_ref().expect("extensions");
        ext.get("code").expect("code").to_string()
    }

    #[test]
    fn a_domain_error_returned_with_question_mark_keeps_its_code() {
        let err = returned(Error::not_found("no such conversation"));
        assert_eq!(err.message, "no such conversation");
        assert_eq!(code_of(&err), "\"NOT_FOUND\"");
        let limited = returned(Error::RateLimited {
            retry_after_secs: 42,
        });
        assert_eq!(code_of(&limited), "\"RATE_LIMITED\"");
        let ext = limited.extensions.as_ref().unwrap();
        assert_eq!(ext.get("retryAfter").unwrap().to_string(), "42");
        let loaded = returned(std::sync::Arc::new(Error::forbidden("no")));
        assert_eq!(code_of(&loaded), "\"FORBIDDEN\"");
    }

    #[test]
    fn a_foreign_error_becomes_internal_without_its_text() {
        let err = returned(std::io::Error::other("password=hunter2 at 10.0.0.1"));
        assert_eq!(err.message, "internal error");
        assert_eq!(code_of(&err), "\"INTERNAL\"");
        let internal = returned(Error::internal(std::io::Error::other("secret")));
        assert_eq!(internal.message, "internal error");
        assert_eq!(code_of(&internal), "\"INTERNAL\"");
    }

    #[test]
    fn async_graphqls_own_input_refusals_are_bad_user_input_and_codes_stay() {
        let err = returned(async_graphql::Error::new("Failed to parse \"Int\""));
        assert_eq!(code_of(&err), "\"BAD_USER_INPUT\"");
        let coded = returned(Error::conflict("taken").extend());
        assert_eq!(code_of(&coded), "\"CONFLICT\"");
    }
}
