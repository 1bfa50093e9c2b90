//! Starting a whole platform (the real binary) and driving it through the gateway:
//! GraphQL over HTTP, graphql-transport-ws, reading the mail it sent, and the steps
//! of the core flow as reusable functions.

pub mod client;
pub mod hostile;
pub mod mail;
pub mod platform;
pub mod scenario;
