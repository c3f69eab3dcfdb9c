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

    /// What `StoredResult::Ok(value).encode()` gives, without first copying `value` into a
    /// `StoredResult` of its own (a big result was copied once more for nothing).
    pub(crate) fn encode_ok(value: &RawValue) -> Vec<u8> {
        let json = value.get().as_bytes();
        let mut out = Vec::with_capacity(json.len() + 8);
        out.extend_from_slice(br#"{"ok":"#);
        out.extend_from_slice(json);
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_ok_matches_the_serde_form() {
        for json in ["null", "3", r#"{"a":[1,"\u00e9"]}"#, r#""x\"y""#] {
            let raw = RawValue::from_string(json.to_owned()).unwrap();
            let by_serde = StoredResult::Ok(raw.clone()).encode();
            assert_eq!(StoredResult::encode_ok(&raw), by_serde);
            let back: StoredResult = serde_json::from_slice(&by_serde).unwrap();
            assert!(matches!(back, StoredResult::Ok(v) if v.get() == json));
        }
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
