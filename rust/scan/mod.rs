//! Reading JSON: in place without a tree ([`strings`], [`cursor`], [`skim`]), and the exact serde tree
//! ([`tree`]) that is the fallback for what the in-place readers decline and their oracle in
//! tests.

pub mod cursor;
pub mod skim;
pub mod strings;
pub mod tree;
