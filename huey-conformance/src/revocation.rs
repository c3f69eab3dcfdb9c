//! [`RevocationStorage`](huey_core::storage::RevocationStorage): revocation flags.

use huey_core::Storage;
use huey_core::storage::RevocationTarget;

use crate::support::{b, claim};

/// Revocation flags: per instance and per type, read together, deleted once, cleared by a
/// flush of the results (as in Huey, whose flags live in the result store).
pub async fn test_revocation_methods(s: &dyn Storage) {
    let instance = RevocationTarget::Instance("t1");
    let of_type = RevocationTarget::Type("app::send");
    assert_eq!(s.revocation(instance).await.unwrap(), None);
    s.put_revocation(instance, b("once")).await.unwrap();
    s.put_revocation(of_type, b("forever")).await.unwrap();
    let [by_id, by_name] = s.revocations("t1", "app::send").await.unwrap();
    assert_eq!((by_id, by_name), (Some(b("once")), Some(b("forever"))));
    let [other, _] = s.revocations("t2", "app::send").await.unwrap();
    assert_eq!(other, None, "flags are per instance");
    s.put_revocation(instance, b("until")).await.unwrap();
    assert_eq!(
        s.revocation(instance).await.unwrap(),
        Some(b("until")),
        "replaced"
    );
    assert!(s.delete_revocation(instance).await.unwrap());
    assert!(!s.delete_revocation(instance).await.unwrap());
    s.flush_results().await.unwrap();
    assert_eq!(s.revocation(of_type).await.unwrap(), None);
}

/// A claim made while a revocation flag exists says so
/// ([`Delivery::revocations`](huey_core::storage::Delivery::revocations)), or the executor
/// would skip the check and run a revoked task.
pub async fn test_claim_reports_revocations(s: &dyn Storage) {
    s.put_revocation(RevocationTarget::Type("app::send"), b("flag"))
        .await
        .unwrap();
    let job = claim(s, "by type", 0).await;
    assert!(job.revocations, "a type flag exists");
    s.ack(&job).await.unwrap();
    assert!(
        s.delete_revocation(RevocationTarget::Type("app::send"))
            .await
            .unwrap()
    );
    s.put_revocation(RevocationTarget::Instance("t1"), b("flag"))
        .await
        .unwrap();
    let job = claim(s, "by instance", 0).await;
    assert!(job.revocations, "an instance flag exists");
    s.ack(&job).await.unwrap();
}
