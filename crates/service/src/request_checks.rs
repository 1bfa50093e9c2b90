//! What every subgraph checks of a request before running it, in one async-graphql
//! extension:
//!
//! - a bound on what one document may ask for once its fragments are expanded,
//!   checked before any of async-graphql's own checks: a fragment bomb (each
//!   fragment spreading the next twice) is small to send, and async-graphql's
//!   depth check and validation expand it;
//! - a code on async-graphql's own refusals (parse errors, validation, variables of
//!   the wrong type), which it leaves uncoded: `BAD_USER_INPUT`, so a client sees
//!   the same code whether the gateway or a subgraph refused;
//! - a code on every error a resolver returned ([`echostream_ports::error::code_errors`]), in
//!   responses and in every event of a subscription;
//! - the per-user rate limits of [`crate::rate_limits`], before the field resolves.
//!
//! The gateway refuses oversized documents first; the bound guards a subgraph
//! reached directly.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest, NextResolve,
    NextSubscribe, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{
    ErrorExtensions, Name, Pos, Positioned, Request, Response, ServerError, ServerResult,
    ValidationResult,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use echostream_ports::Error;

/// The extension: refuses documents selecting more than `max_selections` fields once
/// expanded, and codes async-graphql's own refusals, both with `BAD_USER_INPUT`.
pub struct RequestChecks {
    pub max_selections: u64,
    /// The per-user rate limits, and where they count.
    pub limits: echostream_config::RateLimitsConfig,
    pub counters: Arc<dyn echostream_ports::pubsub::PubSub>,
}

impl ExtensionFactory for RequestChecks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestCheck {
            max_selections: self.max_selections,
            limits: self.limits,
            counters: Arc::clone(&self.counters),
        })
    }
}

struct RequestCheck {
    max_selections: u64,
    limits: echostream_config::RateLimitsConfig,
    counters: Arc<dyn echostream_ports::pubsub::PubSub>,
}

#[async_trait::async_trait]
impl Extension for RequestCheck {
    /// Counts a signed-in user's call of a limited field before it resolves.
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<async_graphql::Value>> {
        if let (Some(limit), Some(viewer)) = (
            crate::rate_limits::of(&self.limits, info.parent_type, info.name),
            ctx.data_opt::<crate::token::Viewer>(),
        ) {
            crate::rate_limits::hit(self.counters.as_ref(), viewer.user_id, info.name, limit)
                .await
                .map_err(|refused| refused.extend().into_server_error(Pos::default()))?;
        }
        next.run(ctx, info).await
    }

    /// Runs before async-graphql's own checks: its recursion-depth check walks every
    /// fragment spread without memory, so a bomb of 31 levels took it minutes. The
    /// document parsed here is the one the request goes on with (parsed once).
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let document = request.parsed_query().map_err(coded)?;
        let selections = expanded_selections(document);
        if selections > self.max_selections {
            let refused = Error::bad_input(format!(
                "the operation selects {selections} fields once its fragments are expanded, \
                 more than {} (gateway.limits.max_selections)",
                self.max_selections
            ));
            return Err(refused.extend().into_server_error(Pos::default()));
        }
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(coded).collect())
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        echostream_ports::error::code_errors(&mut response.errors);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                echostream_ports::error::code_errors(&mut response.errors);
                response
            })
            .boxed()
    }
}

/// `err` with the code `BAD_USER_INPUT` unless it has one.
fn coded(mut err: ServerError) -> ServerError {
    let extensions = err.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
    }
    err
}

/// Field selections of `document` with every fragment spread expanded, in time
/// linear in the document (each fragment counted once; a spread in a cycle counts
/// nothing). Saturates.
pub fn expanded_selections(document: &ExecutableDocument) -> u64 {
    let mut counted = HashMap::new();
    let operations: Vec<&SelectionSet> = match &document.operations {
        DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
        DocumentOperations::Multiple(ops) => {
            ops.values().map(|op| &op.node.selection_set.node).collect()
        }
    };
    operations.into_iter().fold(0u64, |total, set| {
        total.saturating_add(set_size(set, &document.fragments, &mut counted))
    })
}

fn set_size<'d>(
    set: &'d SelectionSet,
    fragments: &'d HashMap<Name, Positioned<FragmentDefinition>>,
    counted: &mut HashMap<&'d str, Option<u64>>,
) -> u64 {
    set.items.iter().fold(0u64, |total, item| {
        let size = match &item.node {
            Selection::Field(field) => {
                1u64.saturating_add(set_size(&field.node.selection_set.node, fragments, counted))
            }
            Selection::InlineFragment(inline) => {
                set_size(&inline.node.selection_set.node, fragments, counted)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match counted.get(name) {
                    Some(known) => known.unwrap_or(0),
                    None => match fragments.get(name) {
                        Some(fragment) => {
                            counted.insert(name, None);
                            let n = set_size(&fragment.node.selection_set.node, fragments, counted);
                            counted.insert(name, Some(n));
                            n
                        }
                        None => 0,
                    },
                }
            }
        };
        total.saturating_add(size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_bomb_is_counted_expanded_without_expanding_it() {
        let mut doc = String::from("query { ...F0 }\n");
        for i in 0..50 {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        doc.push_str("fragment F50 on Query { __typename }\n");
        let parsed = async_graphql::parser::parse_query(&doc).unwrap();
        assert_eq!(expanded_selections(&parsed), 1 << 50);
        let plain = async_graphql::parser::parse_query("{ me { id } ... on Query { a } }").unwrap();
        assert_eq!(expanded_selections(&plain), 3);
    }
}
