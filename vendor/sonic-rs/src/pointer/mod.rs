mod from;
pub(crate) mod point;
pub(crate) mod tree;

pub use point::{JsonPointer, PointerNode};
pub use tree::PointerTree;
