//! Revocation (Huey's `revoke`, `revoke_once`, `revoke_until`, `restore`): flags kept in the
//! storage, per task instance and per task type, that the executor consults before it runs a
//! task.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::huey::Huey;
use crate::error::HueyError;
use crate::task::{Revoke, Task};

#[derive(Serialize, Deserialize)]
struct RevokeFlag {
    until: Option<DateTime<Utc>>,
    once: bool,
    /// Set by `reschedule`: a copy with a new id carries on the task's pipeline and chord
    /// membership, so skipping this one must not end them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    superseded: bool,
}

/// Why a task is not to run (see `Huey::revocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// Revoked by a user.
    Revoked,
    /// Replaced by a rescheduled copy.
    Superseded,
}

impl Huey {
    pub(crate) fn revoke_key(id: &str) -> String {
        format!("r:{id}")
    }

    pub(crate) fn revoke_all_key(name: &str) -> String {
        format!("rt:{name}")
    }

    async fn put_flag(&self, key: String, how: Revoke) -> Result<(), HueyError> {
        let (until, once) = match how {
            Revoke::Forever => (None, false),
            Revoke::Once => (None, true),
            Revoke::Until(t) => (Some(t), false),
        };
        let flag = RevokeFlag {
            until,
            once,
            superseded: false,
        };
        self.storage()
            .put_data(&key, serde_json::to_vec(&flag)?)
            .await?;
        Ok(())
    }

    /// Revokes one task instance by id.
    pub async fn revoke_by_id(&self, id: &str, how: Revoke) -> Result<(), HueyError> {
        self.put_flag(Huey::revoke_key(id), how).await
    }

    /// Restores a task instance; returns whether it was revoked.
    pub async fn restore_by_id(&self, id: &str) -> Result<bool, HueyError> {
        Ok(self.storage().delete_data(&Huey::revoke_key(id)).await?)
    }

    /// Whether task instance `id` is revoked (the task type's flag is not consulted, as in Huey).
    pub async fn is_revoked_by_id(&self, id: &str) -> Result<bool, HueyError> {
        let key = Huey::revoke_key(id);
        let flag = self.storage().peek_data(&key).await?;
        Ok(self
            .check_flag(&key, flag, Utc::now(), true)
            .await?
            .is_some())
    }

    /// Revokes every instance of the task named `name` (typed handles offer
    /// `my_task::revoke(&huey, ...)`).
    pub async fn revoke_all(&self, name: &str, how: Revoke) -> Result<(), HueyError> {
        self.put_flag(Huey::revoke_all_key(name), how).await
    }

    /// Restores a revoked task type; returns whether it was revoked.
    pub async fn restore_all(&self, name: &str) -> Result<bool, HueyError> {
        Ok(self
            .storage()
            .delete_data(&Huey::revoke_all_key(name))
            .await?)
    }

    /// Whether the task type `name` is revoked at this moment.
    pub async fn is_revoked_all(&self, name: &str) -> Result<bool, HueyError> {
        let key = Huey::revoke_all_key(name);
        let flag = self.storage().peek_data(&key).await?;
        Ok(self
            .check_flag(&key, flag, Utc::now(), true)
            .await?
            .is_some())
    }

    /// Whether `task` is revoked at `at`, by its instance flag or its type's flag. With
    /// `peek == false` (how the consumer checks) one-shot and expired flags are consumed.
    pub async fn is_revoked(
        &self,
        task: &Task,
        at: DateTime<Utc>,
        peek: bool,
    ) -> Result<bool, HueyError> {
        Ok(self.revocation(task, at, peek).await?.is_some())
    }

    /// Skips the next run of task `id` because a rescheduled copy replaces it.
    pub(crate) async fn supersede(&self, id: &str) -> Result<(), HueyError> {
        let flag = RevokeFlag {
            until: None,
            once: true,
            superseded: true,
        };
        self.storage()
            .put_data(&Huey::revoke_key(id), serde_json::to_vec(&flag)?)
            .await?;
        Ok(())
    }

    /// [`is_revoked`](Self::is_revoked), saying why.
    pub(crate) async fn revocation(
        &self,
        task: &Task,
        at: DateTime<Utc>,
        peek: bool,
    ) -> Result<Option<Revocation>, HueyError> {
        let instance = Huey::revoke_key(task.id());
        let all = Huey::revoke_all_key(task.name());
        let mut flags = self
            .storage()
            .peek_many(&[instance.as_str(), all.as_str()])
            .await?
            .into_iter();
        let instance_flag = flags.next().flatten();
        let all_flag = flags.next().flatten();
        let by_instance = self.check_flag(&instance, instance_flag, at, peek).await?;
        let by_type = self.check_flag(&all, all_flag, at, peek).await?;
        Ok(match (by_instance, by_type) {
            (Some(Revocation::Revoked), _) | (_, Some(Revocation::Revoked)) => {
                Some(Revocation::Revoked)
            }
            (Some(Revocation::Superseded), _) | (_, Some(Revocation::Superseded)) => {
                Some(Revocation::Superseded)
            }
            (None, None) => None,
        })
    }

    async fn check_flag(
        &self,
        key: &str,
        flag: Option<Vec<u8>>,
        at: DateTime<Utc>,
        peek: bool,
    ) -> Result<Option<Revocation>, HueyError> {
        let Some(bytes) = flag else { return Ok(None) };
        // A value that is not a flag (written with `put` under a revocation key, or by another
        // program) revokes nothing: treating it as an error would fail the task's every
        // delivery for ever.
        let flag: RevokeFlag = match serde_json::from_slice(&bytes) {
            Ok(flag) => flag,
            Err(error) => {
                tracing::warn!(key, %error, "ignoring a revocation flag that does not decode");
                return Ok(None);
            }
        };
        let (revoked, clear) = match flag.until {
            Some(until) if until <= at => (false, true),
            _ => (true, flag.once),
        };
        if clear && !peek {
            self.storage().delete_data(key).await?;
        }
        Ok(revoked.then_some(if flag.superseded {
            Revocation::Superseded
        } else {
            Revocation::Revoked
        }))
    }
}
