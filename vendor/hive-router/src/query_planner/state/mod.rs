pub mod subgraph_state;
pub mod supergraph_state;
