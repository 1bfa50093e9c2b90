pub mod consts;
pub mod traverse;
