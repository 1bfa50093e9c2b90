//! The composed supergraph: never stale, and composable by a second, independent
//! Federation v2 composer.

use std::process::Command;

use echostream_config::Subgraph;

#[test]
fn schema_directory_is_up_to_date() {
    // Fails when a subgraph's SDL changed without `echostream schema`, or when the
    // committed supergraph is not what @theguild/federation-composition makes of it.
    let output = Command::new(env!("CARGO_BIN_EXE_echostream"))
        .args(["schema", "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run echostream schema --check");
    assert!(
        output.status.success(),
        "schema/ is stale or does not compose:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn subgraphs_compose_with_an_independent_composer() {
    let mut subgraphs = graphql_composition::Subgraphs::default();
    for name in Subgraph::ALL.map(Subgraph::name) {
        let path = format!("{}/schema/{name}.graphql", env!("CARGO_MANIFEST_DIR"));
        let sdl = std::fs::read_to_string(&path).expect("subgraph SDL");
        subgraphs
            .ingest_str(&sdl, name, Some(&format!("http://127.0.0.1/{name}")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let result = graphql_composition::compose(&mut subgraphs);
    let errors: Vec<&str> = result.diagnostics().iter_errors().collect();
    assert!(errors.is_empty(), "composition errors: {errors:#?}");
    let graph = result.into_result().expect("a federated graph");
    let api = graphql_composition::render_api_sdl(&graph);
    // Every subgraph's contribution reaches the one User type and the root types.
    for expected in [
        "displayName",
        "presence",
        "emailVerified",
        "messageAdded",
        "notificationAdded",
        "sendMessage",
    ] {
        assert!(
            api.contains(expected),
            "{expected} missing from the composed API:\n{api}"
        );
    }
}
