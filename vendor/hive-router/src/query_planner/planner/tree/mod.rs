pub mod query_tree;
pub(crate) mod query_tree_node;
