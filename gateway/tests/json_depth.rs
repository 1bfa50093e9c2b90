//! The router's JSON parser (sonic-rs, vendored with a depth bound) refuses deeply
//! nested input with an error on every entry point the router uses, instead of
//! overflowing the stack. Each case runs on a thread with a small stack, where the
//! unpatched parser dies long before 100,000 levels.

use sonic_rs::{JsonValueTrait, LazyValue, OwnedLazyValue, PointerTree, Value};

const DEEP: usize = 100_000;

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("the parser must return, not overflow the stack")
}

fn arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

fn is_depth_error(e: &sonic_rs::Error) -> bool {
    e.to_string().contains("layers deep")
}

#[test]
fn value_parsing_refuses_deep_arrays_and_objects() {
    let (a, o) = on_small_stack(|| {
        (
            sonic_rs::from_str::<Value>(&arrays(DEEP)).unwrap_err(),
            sonic_rs::from_str::<Value>(&objects(DEEP)).unwrap_err(),
        )
    });
    assert!(is_depth_error(&a), "{a}");
    assert!(is_depth_error(&o), "{o}");
}

#[test]
fn value_inside_a_struct_refuses_deep_nesting() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Params {
        variables: std::collections::HashMap<String, Value>,
    }
    let err = on_small_stack(|| {
        let body = format!(r#"{{"variables":{{"v":{}}}}}"#, arrays(DEEP));
        sonic_rs::from_str::<Params>(&body).err()
    });
    assert!(err.is_some_and(|e| is_depth_error(&e)));
}

#[test]
fn checked_skipping_refuses_deep_nesting() {
    let (many, lazy) = on_small_stack(|| {
        let json = format!(r#"{{"ignored":{},"wanted":1}}"#, arrays(DEEP));
        let mut tree = PointerTree::new();
        tree.add_path(["wanted"]);
        let many = sonic_rs::get_many(&json, &tree).err();
        let lazy = sonic_rs::from_str::<OwnedLazyValue>(&arrays(DEEP))
            .ok()
            .and_then(|v| v.get(0).map(|_| ()));
        (many.map(|e| e.to_string()), lazy)
    });
    assert!(many.is_some_and(|e| e.contains("layers deep")));
    assert!(lazy.is_none());
}

#[test]
fn nesting_within_the_bound_still_parses() {
    let v: Value = on_small_stack(|| sonic_rs::from_str(&arrays(120)).expect("120 levels parse"));
    assert!(v.is_array());
    let json = objects(120);
    let lazy: LazyValue<'_> = sonic_rs::get(json.as_str(), ["a"]).expect("lazy get");
    assert!(lazy.as_raw_str().starts_with('{'));
}
