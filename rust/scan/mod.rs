//! Reading JSON: in place without a tree ([`strings`], [`skim`]), and the exact serde tree
//! ([`tree`]) that is the fallback for what the in-place readers decline and their oracle in
//! tests.

pub mod skim;
pub mod strings;
pub mod tree;
