//! A subgraph's own bound on what one document may ask for once its fragments are
//! expanded, checked before any of async-graphql's own checks: a fragment bomb (each fragment spreading
//! the next twice) is small to send, and async-graphql's validation expands it.
//! The gateway refuses such documents first; this guards a subgraph reached directly.
//! Parse errors, which async-graphql leaves uncoded, get `BAD_USER_INPUT` here too.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensions, Name, Pos, Positioned, Request, ServerResult};

use crate::Error;

/// The extension: refuses documents selecting more than `max_selections` fields once
/// expanded, with `BAD_USER_INPUT`.
pub struct DocumentLimits {
    pub max_selections: u64,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsCheck {
            max_selections: self.max_selections,
        })
    }
}

struct DocumentLimitsCheck {
    max_selections: u64,
}

#[async_trait::async_trait]
impl Extension for DocumentLimitsCheck {
    /// Runs before async-graphql's own checks: its recursion-depth check walks every
    /// fragment spread without memory, so a bomb of 31 levels took it minutes. The
    /// document parsed here is the one the request goes on with (parsed once).
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // async-graphql's parse errors carry no code; they get the client's.
        let document = request.parsed_query().map_err(|mut err| {
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", "BAD_USER_INPUT");
            err
        })?;
        let selections = expanded_selections(document);
        if selections > self.max_selections {
            let refused = Error::bad_input(format!(
                "the operation selects {selections} fields once its fragments are expanded, \
                 more than {} (gateway.max_selections)",
                self.max_selections
            ));
            return Err(refused.extend().into_server_error(Pos::default()));
        }
        next.run(ctx, request).await
    }
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
