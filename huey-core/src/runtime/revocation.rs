//! Revocation (Huey's `revoke`, `revoke_once`, `revoke_until`, `restore`): flags kept in the
//! storage, per task instance and per task type, that the executor consults before it runs a
//! task.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::huey::Huey;
use crate::error::HueyError;
use crate::storage::RevocationTarget;
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

/// Whether reading a flag may use it up: the executor consumes one-shot and expired flags,
/// everyone else only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    Peek,
    Consume,
}

impl Huey {
    async fn put_flag(&self, target: RevocationTarget<'_>, how: Revoke) -> Result<(), HueyError> {
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
            .put_revocation(target, serde_json::to_vec(&flag)?)
            .await?;
        Ok(())
    }

    /// Revokes one task instance by id.
    pub async fn revoke_by_id(&self, id: &str, how: Revoke) -> Result<(), HueyError> {
        self.put_flag(RevocationTarget::Instance(id), how).await
    }

    /// Restores a task instance; returns whether it was revoked.
    pub async fn restore_by_id(&self, id: &str) -> Result<bool, HueyError> {
        let target = RevocationTarget::Instance(id);
        Ok(self.storage().delete_revocation(target).await?)
    }

    /// Whether task instance `id` is revoked (the task type's flag is not consulted, as in Huey).
    pub async fn is_revoked_by_id(&self, id: &str) -> Result<bool, HueyError> {
        self.flag_applies(RevocationTarget::Instance(id)).await
    }

    /// Revokes every instance of the task named `name` (typed handles offer
    /// `my_task::revoke(&huey, ...)`).
    pub async fn revoke_all(&self, name: &str, how: Revoke) -> Result<(), HueyError> {
        self.put_flag(RevocationTarget::Type(name), how).await
    }

    /// Restores a revoked task type; returns whether it was revoked.
    pub async fn restore_all(&self, name: &str) -> Result<bool, HueyError> {
        let target = RevocationTarget::Type(name);
        Ok(self.storage().delete_revocation(target).await?)
    }

    /// Whether the task type `name` is revoked at this moment.
    pub async fn is_revoked_all(&self, name: &str) -> Result<bool, HueyError> {
        self.flag_applies(RevocationTarget::Type(name)).await
    }

    /// Whether `task` would be skipped at `at`, by its instance flag or its type's flag,
    /// leaving the flags as they are (Huey's `is_revoked(task, timestamp, peek=True)`).
    pub async fn is_revoked(&self, task: &Task, at: DateTime<Utc>) -> Result<bool, HueyError> {
        Ok(self.revocation(task, at, Read::Peek).await?.is_some())
    }

    /// [`is_revoked`](Self::is_revoked) as the consumer checks: a one-shot flag that applies,
    /// and a flag whose time has passed, are used up (Huey's `peek=False`).
    pub async fn take_revocation(&self, task: &Task, at: DateTime<Utc>) -> Result<bool, HueyError> {
        Ok(self.revocation(task, at, Read::Consume).await?.is_some())
    }

    async fn flag_applies(&self, target: RevocationTarget<'_>) -> Result<bool, HueyError> {
        let flag = self.storage().revocation(target).await?;
        let applies = self
            .check_flag(target, flag, Utc::now(), Read::Peek)
            .await?;
        Ok(applies.is_some())
    }

    /// Skips the next run of task `id` because a rescheduled copy replaces it.
    pub(crate) async fn supersede(&self, id: &str) -> Result<(), HueyError> {
        let flag = RevokeFlag {
            until: None,
            once: true,
            superseded: true,
        };
        self.storage()
            .put_revocation(RevocationTarget::Instance(id), serde_json::to_vec(&flag)?)
            .await?;
        Ok(())
    }

    /// Whether `task` is not to run at `at`, and why.
    pub(crate) async fn revocation(
        &self,
        task: &Task,
        at: DateTime<Utc>,
        read: Read,
    ) -> Result<Option<Revocation>, HueyError> {
        let [instance_flag, type_flag] = self.storage().revocations(task.id(), task.name()).await?;
        let instance = RevocationTarget::Instance(task.id());
        let by_instance = self.check_flag(instance, instance_flag, at, read).await?;
        let of_type = RevocationTarget::Type(task.name());
        let by_type = self.check_flag(of_type, type_flag, at, read).await?;
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
        target: RevocationTarget<'_>,
        flag: Option<Vec<u8>>,
        at: DateTime<Utc>,
        read: Read,
    ) -> Result<Option<Revocation>, HueyError> {
        let Some(bytes) = flag else { return Ok(None) };
        // A flag that does not decode (written by another program) revokes nothing: treating
        // it as an error would fail the task's every delivery for ever.
        let flag: RevokeFlag = match serde_json::from_slice(&bytes) {
            Ok(flag) => flag,
            Err(error) => {
                tracing::warn!(?target, %error, "ignoring a revocation flag that does not decode");
                return Ok(None);
            }
        };
        let (revoked, used_up) = match flag.until {
            Some(until) if until <= at => (false, true),
            _ => (true, flag.once),
        };
        if used_up && read == Read::Consume {
            self.storage().delete_revocation(target).await?;
        }
        Ok(revoked.then_some(if flag.superseded {
            Revocation::Superseded
        } else {
            Revocation::Revoked
        }))
    }
}
