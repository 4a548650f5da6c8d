//! Reading JSON: in place without a tree ([`strings`], [`cursor`], [`skim`]), and the exact serde tree
//! ([`tree`]) that is the fallback for what the in-place readers decline and their oracle in
//! tests.

pub mod cursor;
pub mod holes;
mod segments;
pub mod skeleton;
pub mod skim;
mod space;
pub mod strings;
pub mod tree;

/// JSON texts both in-place readers must accept whole (as serde does), and texts they must
/// refuse: one table, so the two readers cannot drift apart on validity.
#[cfg(test)]
pub(crate) const VALID_JSON: &[&str] = &[
    r#"{"a":[1,-2.5,true,false,null,"x\n\u00e9"],"b":{}}"#,
    " [ ] ",
    "0",
    "{\"é\":\"你好\"}",
    "[1395002666759424000,-18446744073709551616.25]",
];
#[cfg(test)]
pub(crate) const INVALID_JSON: &[&str] = &[
    "{",
    r#"{"a" 1}"#,
    "01",
    "1e5",
    "1.",
    "[1,]",
    "tru",
    r#""\ud800""#,
    "\"\u{1}\"",
    "{\"a\":1,}",
];
