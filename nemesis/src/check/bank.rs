//! The bank checker (to be written).

use super::CheckResult;
use crate::history::Op;

/// Checks a bank history.
pub fn check(_history: &[Op]) -> CheckResult {
    CheckResult::from_anomalies("bank", Vec::new(), serde_json::Value::Null)
}
