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
        Error::internal(err)
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(err: sea_orm::TransactionError<Error>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => Error::internal(db),
            sea_orm::TransactionError::Transaction(inner) => inner,
        }
    }
}

/// Resolvers turn domain errors into GraphQL errors with `.extend()` (from
/// [`async_graphql::ResultExt`]): async-graphql converts any `Display` error with a
/// blanket `From`, which would drop the code, so the conversion is explicit.
impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        if let Error::Internal(source) = self {
            tracing::error!(error = %source, "internal error");
        }
        let code = self.code();
        let retry = match self {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(secs) = retry {
                ext.set("retryAfter", secs);
            }
        })
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
    fn rate_limited_carries_retry_after() {
        let err = Error::RateLimited {
            retry_after_secs: 42,
        }
        .extend();
        let ext = format!("{:?}", err.extensions);
        assert!(ext.contains("RATE_LIMITED") && ext.contains("42"), "{ext}");
    }
}
