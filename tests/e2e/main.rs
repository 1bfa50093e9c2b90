//! End-to-end tests: the whole platform started as users start it, driven through
//! the gateway as clients drive it, on both profiles.

mod client;
mod flow;
mod mail;
mod platform;
mod schema;

/// Runs a flow test on both profiles: `name::embedded` and `name::services`.
#[macro_export]
macro_rules! on_both_profiles {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    super::$name($crate::platform::Profile::Embedded).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn services() {
                    super::$name($crate::platform::Profile::Services).await;
                }
            }
        )*
    };
}
