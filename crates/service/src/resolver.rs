//! What a resolver takes from its request: the signed-in caller, the subgraph's state
//! and loaders, ids from arguments. One way each, so no resolver repeats it.
//!
//! Everything here fails with a coded [`Error`] (never a panic): return it with `?`
//! and [`echostream_ports::error::code_errors`] gives it its `extensions.code`.

use std::any::Any;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID};
use uuid::Uuid;

use crate::token::{TokenRejected, Viewer};
use echostream_ports::Error;

/// A request's context as resolvers use it.
pub trait RequestExt {
    /// The signed-in caller, or `UNAUTHENTICATED` (with the reason the token was
    /// refused, when one was).
    fn viewer(&self) -> Result<&Viewer, Error>;

    /// The caller, if one is signed in; an anonymous request is `None`.
    fn viewer_opt(&self) -> Option<&Viewer>;

    /// State the schema was built with (the subgraph's own struct); `INTERNAL` if
    /// the schema was built without it.
    fn state<T: Any + Send + Sync>(&self) -> Result<&T, Error>;

    /// The request's batching loader for `L`, keyed by id.
    fn loader<L: Loader<Uuid>>(&self) -> Result<&DataLoader<L>, Error> {
        self.state::<DataLoader<L>>()
    }

    /// The request's batching loader for `L`, keyed by `K`.
    fn loader_of<L: Loader<K>, K>(&self) -> Result<&DataLoader<L>, Error>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    {
        self.state::<DataLoader<L>>()
    }
}

impl RequestExt for Context<'_> {
    fn viewer(&self) -> Result<&Viewer, Error> {
        self.viewer_opt()
            .ok_or_else(|| match self.data_opt::<TokenRejected>() {
                Some(TokenRejected(reason)) => Error::Unauthenticated(reason.clone()),
                None => Error::unauthenticated(),
            })
    }

    fn viewer_opt(&self) -> Option<&Viewer> {
        self.data_opt::<Viewer>()
    }

    fn state<T: Any + Send + Sync>(&self) -> Result<&T, Error> {
        self.data_opt::<T>().ok_or_else(|| {
            Error::internal(format!(
                "schema built without {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl Viewer {
    /// Refuses with `FORBIDDEN` unless the viewer is `owner`: for what only an
    /// account's owner may see (its email, its export).
    pub fn must_be(&self, owner: Uuid) -> Result<(), Error> {
        if self.user_id == owner {
            Ok(())
        } else {
            Err(Error::forbidden("only the account owner can see this"))
        }
    }
}

/// The id in argument `what`, or `BAD_USER_INPUT` naming the argument.
pub fn parse_id(id: &ID, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id).map_err(|_| Error::bad_input(format!("{what} is not a valid id")))
}

/// Keys of a per-viewer DataLoader (viewer, item), grouped by viewer: each viewer's
/// items are then loaded in one batch.
pub fn by_viewer(keys: &[(Uuid, Uuid)]) -> std::collections::HashMap<Uuid, Vec<Uuid>> {
    let mut grouped: std::collections::HashMap<Uuid, Vec<Uuid>> = Default::default();
    for (viewer, item) in keys {
        grouped.entry(*viewer).or_default().push(*item);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_id_names_its_argument() {
        let err = parse_id(&ID("nope".into()), "conversationId").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.to_string().contains("conversationId"));
        let id = Uuid::now_v7();
        assert_eq!(parse_id(&ID(id.to_string()), "id").unwrap(), id);
    }

    #[test]
    fn only_the_owner_passes_the_owner_check() {
        let me = Viewer {
            user_id: Uuid::now_v7(),
            session_id: Uuid::now_v7(),
            device_id: "d".into(),
            expires_at: i64::MAX,
        };
        assert!(me.must_be(me.user_id).is_ok());
        assert_eq!(me.must_be(Uuid::now_v7()).unwrap_err().code(), "FORBIDDEN");
    }
}
