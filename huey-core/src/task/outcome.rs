//! What a finished task leaves behind: the stored result of an attempt, and a chord
//! member's contribution to its callback.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::TaskFailure;

/// What the result store holds for a task id.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredResult {
    Ok(Box<RawValue>),
    Err(TaskFailure),
}

impl StoredResult {
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// What one chord member contributes to the callback's list: see the [group module](mod@crate::group) for
/// a callback that sums the members that succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberResult<T> {
    /// The member's value.
    Ok(T),
    /// The member failed with no retries left.
    Failed(TaskFailure),
    /// The member never ran: revoked, expired, or cancelled by a pre-execute hook.
    Skipped,
}

impl<T> MemberResult<T> {
    /// The value, if the member succeeded.
    pub fn ok(self) -> Option<T> {
        match self {
            MemberResult::Ok(value) => Some(value),
            _ => None,
        }
    }
}
