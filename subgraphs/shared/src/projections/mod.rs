//! Read models that several subgraphs build from other domains' events, kept in each
//! subgraph's own schema (subgraphs never call each other).

pub mod friendships;
