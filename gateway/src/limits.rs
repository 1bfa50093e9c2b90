//! Limits the router's own configuration cannot express, checked before the
//! expensive work they guard:
//!
//! - **JSON nesting** of the request body (or, over WebSocket, of a subscribe
//!   message's variables and extensions), scanned before the router's parser builds
//!   anything from it. The vendored parser refuses past 128 levels whatever this
//!   says (vendor/README.md); this limit is the configurable, named one.
//! - **Introspection depth**: the router's depth rule skips `__schema`/`__type`, so
//!   `__type { ofType { ofType … } }` could nest without bound; it gets its own limit.
//! - **Field selections once fragments are expanded** (fragment bombs), measured
//!   with introspection depth in one linear pass before validation.
//! - **Errors per response**, after validation and after execution: the first
//!   `max_errors - 1` are kept and a last error says how many were left out, so a
//!   document of 10,000 unknown fields cannot buy a megabyte-sized answer.

use std::collections::HashMap;
use std::sync::Arc;

use hive_router::GraphQLError;
use hive_router::graphql_tools::parser::query::parse_query_with_token_limit;
use hive_router::graphql_tools::static_graphql::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
};
use hive_router::graphql_tools::validation::utils::ValidationError;
use hive_router::http::StatusCode;
use hive_router::plugins::hooks::on_execute::{
    OnExecuteStartHookPayload, OnExecuteStartHookResult,
};
use hive_router::plugins::hooks::on_graphql_params::{
    OnGraphQLParamsStartHookPayload, OnGraphQLParamsStartHookResult,
};
use hive_router::plugins::hooks::on_graphql_validation::{
    OnGraphQLValidationStartHookPayload, OnGraphQLValidationStartHookResult,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{EndHookPayload, RouterPlugin, StartHookPayload};
use hive_router::sonic_rs::{JsonContainerTrait, Value};

/// The stable `extensions.code` of a request refused by one of these limits.
pub const LIMIT_CODE: &str = "BAD_USER_INPUT";

/// The plugin's configuration: `gateway.limits`, as declared once in
/// `echostream_config` (the router configuration hands it over whole).
pub type LimitsConfig = echostream_config::GatewayLimits;

/// The limits plugin.
pub struct Limits {
    config: LimitsConfig,
}

#[hive_router::async_trait]
impl RouterPlugin for Limits {
    type Config = LimitsConfig;

    fn plugin_name() -> &'static str {
        "echostream_limits"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let config = payload.config()?;
        // A `connection_init` payload reaches no plugin hook: the router asks this
        // check itself (vendor/hive-router-message-check.patch).
        MAX_INIT_DEPTH.store(config.max_json_depth, std::sync::atomic::Ordering::Relaxed);
        let _ = hive_router::pipeline::websocket_server::CONNECTION_INIT_CHECK
            .set(connection_init_check);
        payload.initialize_plugin(Limits { config })
    }

    async fn on_graphql_params<'exec>(
        &'exec self,
        payload: OnGraphQLParamsStartHookPayload<'exec>,
    ) -> OnGraphQLParamsStartHookResult<'exec> {
        let max = self.config.max_json_depth;
        let too_deep = if !payload.body.is_empty() {
            json_depth_exceeds(&payload.body, max)
        } else if let Some(params) = &payload.graphql_params {
            // A WebSocket subscribe message, already parsed (within the parser's bound).
            params.variables.values().any(|v| value_depth(v) > max)
                || params
                    .extensions
                    .iter()
                    .flat_map(|e| e.values())
                    .any(|v| value_depth(v) > max)
        } else {
            query_string_json_depth_exceeds(payload.router_http_request.query_string, max)
        };
        if too_deep {
            return payload.end_with_graphql_error(
                refusal(format!(
                    "The request's JSON is nested deeper than {max} levels (gateway.limits.max_json_depth)."
                )),
                StatusCode::BAD_REQUEST,
            );
        }
        // A WebSocket subscribe arrives parsed; an HTTP request is parsed after this
        // hook, so its document is checked when the hook ends.
        if let Some(params) = &payload.graphql_params {
            let query = params.query.as_deref();
            if let Some(refused) = self.refuse_document_size(query) {
                return payload.end_with_graphql_error(refused, StatusCode::BAD_REQUEST);
            }
            // Over WebSocket the router takes an early answer only from this hook, so
            // a subscribe's document is measured here (parsed once more; the parser's
            // own token and recursion limits apply). Over HTTP it is measured in the
            // validation hook, on the router's cached parse.
            if let Some(query) = query
                && let Ok(document) =
                    parse_query_with_token_limit::<String>(query, self.config.max_tokens)
                && let Some(refused) = self.refuse_shape(&document.into_static())
            {
                return payload.end_with_graphql_error(refused, StatusCode::BAD_REQUEST);
            }
            return payload.proceed();
        }
        let max_document_bytes = self.config.max_document_bytes;
        payload.on_end(move |end| {
            match document_too_large(end.graphql_params.query.as_deref(), max_document_bytes) {
                Some(refused) => end.end_with_graphql_error(refused, StatusCode::BAD_REQUEST),
                None => end.proceed(),
            }
        })
    }

    async fn on_graphql_validation<'exec>(
        &'exec self,
        payload: OnGraphQLValidationStartHookPayload<'exec>,
    ) -> OnGraphQLValidationStartHookResult<'exec> {
        // Before any rule runs: a fragment bomb is small to send and exponential to
        // expand (each level spreading the one below twice), and some validation
        // rules and the planner expand it.
        if let Some(refused) = self.refuse_shape(&payload.document) {
            return payload.end_with_graphql_error(refused, StatusCode::BAD_REQUEST);
        }
        let max_errors = self.config.max_errors;
        payload.on_end(move |mut end| {
            if end.errors.len() > max_errors {
                let mut kept: Vec<ValidationError> =
                    end.errors[..max_errors.saturating_sub(1)].to_vec();
                kept.push(ValidationError {
                    locations: vec![],
                    message: omitted(end.errors.len() - kept.len()),
                    error_code: "TOO_MANY_ERRORS",
                });
                end.errors = Arc::new(kept);
            }
            end.proceed()
        })
    }

    async fn on_execute<'exec>(
        &'exec self,
        payload: OnExecuteStartHookPayload<'exec>,
    ) -> OnExecuteStartHookResult<'exec> {
        let max_errors = self.config.max_errors;
        payload.on_end(move |mut end| {
            cap_errors(&mut end.errors, max_errors);
            end.proceed()
        })
    }
}

/// What a document asks for once every fragment spread is expanded, measured in
/// time linear in the document: each fragment is measured once (a spread inside a
/// cycle counts nothing; validation refuses cycles anyway). Fragments add no depth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Field selections, saturating.
    pub selections: u64,
    /// Deepest nesting of fields.
    pub depth: usize,
    /// Deepest nesting under an introspection field (`__schema`, `__type`), counted
    /// from that field.
    pub introspection_depth: usize,
}

impl Shape {
    /// The shape of every operation of `document` together.
    pub fn of(document: &Document) -> Shape {
        let mut walk = Walk {
            fragments: document
                .definitions
                .iter()
                .filter_map(|d| match d {
                    Definition::Fragment(f) => Some((f.name.as_str(), f)),
                    _ => None,
                })
                .collect(),
            measured: HashMap::new(),
        };
        document
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::Operation(op) => Some(walk.set(operation_selection_set(op))),
                _ => None,
            })
            .fold(Shape::default(), Shape::beside)
    }

    /// Two selections side by side in one set.
    fn beside(self, other: Shape) -> Shape {
        Shape {
            selections: self.selections.saturating_add(other.selections),
            depth: self.depth.max(other.depth),
            introspection_depth: self.introspection_depth.max(other.introspection_depth),
        }
    }
}

struct Walk<'d> {
    fragments: HashMap<&'d str, &'d FragmentDefinition>,
    /// `None` while a fragment is being measured (a spread reaching it is a cycle).
    measured: HashMap<&'d str, Option<Shape>>,
}

impl<'d> Walk<'d> {
    fn set(&mut self, set: &'d SelectionSet) -> Shape {
        set.items
            .iter()
            .map(|item| match item {
                Selection::Field(field) => {
                    let below = self.set(&field.selection_set);
                    let introspection = matches!(field.name.as_str(), "__schema" | "__type");
                    Shape {
                        selections: below.selections.saturating_add(1),
                        depth: below.depth + 1,
                        introspection_depth: if introspection {
                            below.depth + 1
                        } else {
                            below.introspection_depth
                        },
                    }
                }
                Selection::InlineFragment(inline) => self.set(&inline.selection_set),
                Selection::FragmentSpread(spread) => self.fragment(spread.fragment_name.as_str()),
            })
            .fold(Shape::default(), Shape::beside)
    }

    fn fragment(&mut self, name: &'d str) -> Shape {
        match self.measured.get(name) {
            Some(Some(known)) => *known,
            Some(None) => Shape::default(),
            None => match self.fragments.get(name).copied() {
                Some(fragment) => {
                    self.measured.insert(name, None);
                    let shape = self.set(&fragment.selection_set);
                    self.measured.insert(name, Some(shape));
                    shape
                }
                None => Shape::default(),
            },
        }
    }
}

fn operation_selection_set(op: &OperationDefinition) -> &SelectionSet {
    match op {
        OperationDefinition::SelectionSet(set) => set,
        OperationDefinition::Query(q) => &q.selection_set,
        OperationDefinition::Mutation(m) => &m.selection_set,
        OperationDefinition::Subscription(s) => &s.selection_set,
    }
}

/// Refuses a document longer than `max` bytes: every parsed document is cached by
/// the router (a thousand entries), so its length, not only its tokens, is bounded.
/// Long values belong in variables.
fn document_too_large(query: Option<&str>, max: usize) -> Option<GraphQLError> {
    let len = query.map_or(0, str::len);
    (len > max).then(|| {
        refusal(format!(
            "The GraphQL document is {len} bytes long, more than {max} \
             (gateway.limits.max_document_bytes); pass long values as variables."
        ))
    })
}

impl Limits {
    fn refuse_document_size(&self, query: Option<&str>) -> Option<GraphQLError> {
        document_too_large(query, self.config.max_document_bytes)
    }

    /// The refusal of a document too large once expanded, or with introspection too
    /// deep; `None` when it is within both limits.
    fn refuse_shape(&self, document: &Document) -> Option<GraphQLError> {
        let shape = Shape::of(document);
        let max = self.config.max_selections;
        if shape.selections > max {
            return Some(refusal(format!(
                "The operation selects {} fields once its fragments are expanded, \
                 more than {max} (gateway.limits.max_selections).",
                shape.selections
            )));
        }
        let max = self.config.max_introspection_depth;
        if shape.introspection_depth > max {
            return Some(GraphQLError::from_message_and_code(
                format!(
                    "Introspection nested {} levels deep, more than {max} \
                     (gateway.limits.max_introspection_depth).",
                    shape.introspection_depth
                ),
                "MAX_DEPTH_EXCEEDED",
            ));
        }
        None
    }
}

/// A refusal by one of these limits.
fn refusal(message: String) -> GraphQLError {
    GraphQLError::from_message_and_code(message, LIMIT_CODE)
}

fn omitted(n: usize) -> String {
    format!("{n} more errors were left out of this response (gateway.limits.max_errors).")
}

/// Keeps the first `max - 1` errors and adds one saying how many were left out.
pub fn cap_errors(errors: &mut Vec<GraphQLError>, max: usize) {
    if errors.len() <= max {
        return;
    }
    let keep = max.saturating_sub(1);
    let left_out = errors.len() - keep;
    errors.truncate(keep);
    errors.push(GraphQLError::from_message_and_code(
        omitted(left_out),
        "TOO_MANY_ERRORS",
    ));
}

/// Whether `json` nests arrays and objects deeper than `max`, found by one pass over
/// the bytes (strings skipped, escapes honoured) before anything is parsed. Malformed
/// JSON is left to the parser to refuse.
/// The nesting bound of `connection_init` messages (`gateway.limits.max_json_depth`).
static MAX_INIT_DEPTH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(32);

/// Refuses a `connection_init` nested deeper than `gateway.limits.max_json_depth`.
fn connection_init_check(text: &str) -> Result<(), &'static str> {
    let max = MAX_INIT_DEPTH.load(std::sync::atomic::Ordering::Relaxed);
    if json_depth_exceeds(text.as_bytes(), max) {
        Err("The connection_init message is nested deeper than gateway.limits.max_json_depth.")
    } else {
        Ok(())
    }
}

pub fn json_depth_exceeds(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The same check for the JSON parameters (`variables`, `extensions`) of a GET
/// request's query string.
fn query_string_json_depth_exceeds(query: &str, max: usize) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "variables" || k == "extensions")
        .any(|(_, v)| json_depth_exceeds(v.as_bytes(), max))
}

/// Nesting depth of a parsed value (a scalar is 0, `[]` is 1).
fn value_depth(value: &Value) -> usize {
    if let Some(array) = value.as_array() {
        1 + array.iter().map(value_depth).max().unwrap_or(0)
    } else if let Some(object) = value.as_object() {
        1 + object
            .iter()
            .map(|(_, v)| value_depth(v))
            .max()
            .unwrap_or(0)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_within_the_limit_passes_and_beyond_it_is_caught() {
        assert!(!json_depth_exceeds(nested(32).as_bytes(), 32));
        assert!(json_depth_exceeds(nested(33).as_bytes(), 32));
        assert!(json_depth_exceeds(nested(1_000_000).as_bytes(), 32));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let body = format!(r#"{{"query":"{}","v":"\"[[[["}}"#, "{".repeat(100));
        assert!(!json_depth_exceeds(body.as_bytes(), 2));
    }

    #[test]
    fn get_parameters_are_decoded_before_counting() {
        let deep = "%5B".repeat(40) + &"%5D".repeat(40);
        assert!(query_string_json_depth_exceeds(
            &format!("query=%7Bme%7D&variables={deep}"),
            32
        ));
        // Braces of the GraphQL document itself are not JSON.
        assert!(!query_string_json_depth_exceeds(
            &format!("query={}", "%7B".repeat(40)),
            32
        ));
    }

    #[test]
    fn parsed_values_report_their_depth() {
        let v: Value = hive_router::sonic_rs::from_str(&nested(5)).unwrap();
        assert_eq!(value_depth(&v), 5);
        let o: Value = hive_router::sonic_rs::from_str(r#"{"a":{"b":[]}}"#).unwrap();
        assert_eq!(value_depth(&o), 3);
    }

    #[test]
    fn fragment_bombs_are_counted_expanded_in_linear_time() {
        let mut doc = String::from("query { ...F0 }\n");
        for i in 0..60 {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        doc.push_str("fragment F60 on Query { __typename }\n");
        let parsed = hive_router::graphql_tools::parser::parse_query::<String>(&doc)
            .unwrap()
            .into_static();
        assert_eq!(Shape::of(&parsed).selections, 1u64 << 60);
        let plain = hive_router::graphql_tools::parser::parse_query::<String>(
            "{ me { id friends { id } } ...on Query { __typename } }",
        )
        .unwrap()
        .into_static();
        assert_eq!(Shape::of(&plain).selections, 5);
        assert_eq!(Shape::of(&plain).depth, 3);
        let cycle = hive_router::graphql_tools::parser::parse_query::<String>(
            "{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }",
        )
        .unwrap()
        .into_static();
        assert_eq!(Shape::of(&cycle).selections, 2);
    }

    #[test]
    fn introspection_depth_counts_from_the_introspection_field_through_fragments() {
        let doc = hive_router::graphql_tools::parser::parse_query::<String>(
            "{ me { id } __type(name: \"User\") { ...T } } \
             fragment T on __Type { ofType { ofType { name } } }",
        )
        .unwrap()
        .into_static();
        let shape = Shape::of(&doc);
        assert_eq!(shape.introspection_depth, 4);
        assert_eq!(shape.depth, 4);
    }

    #[test]
    fn errors_are_capped_with_a_closing_error() {
        let mut errors: Vec<GraphQLError> = (0..100)
            .map(|i| GraphQLError::from_message_and_code(format!("e{i}"), "X"))
            .collect();
        cap_errors(&mut errors, 20);
        assert_eq!(errors.len(), 20);
        assert_eq!(errors[18].message, "e18");
        assert!(errors[19].message.starts_with("81 more errors"));
        assert_eq!(
            errors[19].extensions.code.as_deref(),
            Some("TOO_MANY_ERRORS")
        );
    }
}
