//! End-to-end tests: the whole platform started as users start it, driven through
//! the gateway as clients drive it, on both profiles.

mod accounts;
mod attachments;
mod authorization;
mod badge;
mod dead_letters;
mod digests;
mod durability;
mod edits;
mod exports;
mod faults;
mod flow;
mod groups;
mod hostile;
mod instances;
mod media;
mod mentions;
mod notification_preferences;
mod notifications;
mod oauth;
mod operations;
mod people;
mod pins;
mod presence;
mod privacy;
mod push;
mod rate_limits;
mod reactions;
mod receipts;
mod redis_cluster;
mod replies;
mod scheduling;
mod schema;
mod search;
mod senders;
mod sessions;
mod stream;
mod threads;
mod timeline;
mod traces;
mod trust;
mod unread;

use echostream_testkit::platform::{Platform, Profile};

/// Starts this build's `echostream` binary on `profile`.
pub async fn start(profile: Profile) -> Platform {
    Platform::start(env!("CARGO_BIN_EXE_echostream"), profile).await
}

/// Runs a flow test on both profiles: `name::embedded` and `name::services`.
#[macro_export]
macro_rules! on_both_profiles {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    super::$name(echostream_testkit::platform::Profile::Embedded).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn services() {
                    super::$name(echostream_testkit::platform::Profile::Services).await;
                }
            }
        )*
    };
}
