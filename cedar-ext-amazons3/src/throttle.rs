//! Waiting out throttling: an S3 server that answers `503 SlowDown` (or another throttling
//! error) is asking the client to slow down, not refusing the request. The SDK's own retries
//! (4 attempts, for every kind of transient error) are far too few for a nightly batch, and
//! raising them would also retry an unreachable server for minutes; so only throttling is
//! waited out here, with jittered exponential backoff, and every other error fails as before.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The first wait after a throttled request; each further wait doubles, up to `MAX_WAIT`.
const BASE_WAIT: Duration = Duration::from_secs(1);

/// The longest single wait: AWS asks clients to spread retries, and past half a minute a
/// longer wait only delays the night without easing the server more.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// How long one request may wait in total before it fails: throttling that lasts longer than
/// ten minutes is an outage (or a quota) that needs a person, not a slower client.
pub(crate) const MAX_TOTAL_WAIT: Duration = Duration::from_secs(600);

/// Test-only: the base wait in milliseconds, so that the end-to-end tests wait milliseconds
/// instead of seconds. Not meant for production use (documented as such in doc/offsite.md).
const BASE_WAIT_ENV: &str = "CEDAR_TEST_S3_THROTTLE_BASE_MS";

/// The base wait: `BASE_WAIT`, unless the tests set `BASE_WAIT_ENV`.
fn base_wait() -> Duration {
    std::env::var(BASE_WAIT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(BASE_WAIT)
}

/// The wait before retry number `round` (from 0) of a request that has already waited
/// `waited`, or `None` when the total budget is spent.
pub(crate) fn next_wait(round: u32, waited: Duration) -> Option<Duration> {
    wait_with(base_wait(), round, waited, random_fraction())
}

/// "Equal jitter": between half and all of the capped exponential delay, so that clients
/// throttled together do not come back together, and no wait collapses to nothing.
fn wait_with(base: Duration, round: u32, waited: Duration, fraction: f64) -> Option<Duration> {
    if waited >= MAX_TOTAL_WAIT {
        return None;
    }
    let cap = base.saturating_mul(1u32 << round.min(16)).min(MAX_WAIT);
    let wait = cap.mul_f64(0.5 + fraction.clamp(0.0, 1.0) / 2.0);
    Some(wait.min(MAX_TOTAL_WAIT - waited))
}

/// A number in `[0, 1)` from the standard library's per-process random hash keys.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether an error code or HTTP status means "slow down".
pub(crate) fn is_throttling(code: Option<&str>, status: u16) -> bool {
    matches!(
        code,
        Some(
            "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "RequestThrottled"
                | "RequestThrottledException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "ProvisionedThroughputExceededException"
                | "BandwidthLimitExceeded"
        )
    ) || status == 503
        || status == 429
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_with_jitter_up_to_the_cap() {
        let base = Duration::from_secs(1);
        assert_eq!(
            wait_with(base, 0, Duration::ZERO, 0.0),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            wait_with(base, 3, Duration::ZERO, 1.0),
            Some(Duration::from_secs(8))
        );
        assert_eq!(wait_with(base, 10, Duration::ZERO, 1.0), Some(MAX_WAIT));
        assert_eq!(wait_with(base, 40, Duration::ZERO, 0.0), Some(MAX_WAIT / 2));
    }

    #[test]
    fn the_total_budget_ends_the_waiting() {
        let base = Duration::from_secs(1);
        assert_eq!(
            wait_with(base, 10, MAX_TOTAL_WAIT - Duration::from_secs(2), 1.0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(wait_with(base, 10, MAX_TOTAL_WAIT, 0.5), None);
    }

    #[test]
    fn slow_down_and_503_are_throttling_a_refusal_is_not() {
        assert!(is_throttling(Some("SlowDown"), 503));
        assert!(is_throttling(None, 503));
        assert!(is_throttling(Some("Throttling"), 400));
        assert!(!is_throttling(Some("AccessDenied"), 403));
        assert!(!is_throttling(Some("InternalError"), 500));
    }

    #[test]
    fn random_fractions_lie_in_the_unit_interval() {
        let f = random_fraction();
        assert!((0.0..1.0).contains(&f), "{f}");
    }
}
