pub(crate) mod arch;

pub(crate) mod private;
pub(crate) mod reborrow;
pub(crate) mod string;
pub(crate) mod unicode;
pub(crate) mod utf8;

#[cfg(test)]
pub(crate) mod mock;
