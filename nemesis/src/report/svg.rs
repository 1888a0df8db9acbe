//! TEMPORARY STUB (replaced at merge).
#![allow(missing_docs)]
use crate::history::Op;
pub fn timeline(_history: &[Op], _title: &str) -> String {
    String::new()
}
