//! The `echostream` package's library side: a kit for driving a running platform as
//! clients do, shared by the end-to-end tests and `echostream bench`.

pub mod testkit;
