//! [`RetryPolicy`]: how long a writer waits before it tries a write again
//! after losing a race. It is the manager's policy, not the storage's: a
//! manager owns one (chosen on its builder), waits by it in `modify`, and
//! hands it to the storage with each rollout shortcut
//! ([`ShortcutRequest::retry`](crate::storage::ShortcutRequest::retry)),
//! for a storage that applies shortcuts as read-modify-write.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a writer pauses before its `attempt`-th retry of a write that
/// lost a race (`attempt` counts from 1), so that writers contending for
/// one switch stop colliding in lockstep. How many attempts are made is a
/// limit of gate's (64), not part of the policy.
///
/// The default, [`RetryPolicy::none`], does not pause: right for a storage
/// in this process, whose writers are serialised by a lock anyway. A
/// Redis manager pauses [`jittered`](RetryPolicy::jittered) by default.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gate::RetryPolicy;
///
/// let manager = gate::Manager::builder()
///     .retry_policy(RetryPolicy::custom(|attempt| {
///         Duration::from_millis(attempt as u64)
///     }))
///     .build();
/// # let _ = manager;
/// assert_eq!(RetryPolicy::none().pause(3), Duration::ZERO);
/// assert!(RetryPolicy::jittered().pause(1) < Duration::from_micros(200));
/// ```
#[derive(Clone, Default)]
pub struct RetryPolicy {
    pause: Pause,
}

#[derive(Clone, Default)]
enum Pause {
    #[default]
    None,
    Jittered,
    Custom(Arc<dyn Fn(usize) -> Duration + Send + Sync>),
}

/// The policy of a request that was given none.
pub(crate) static NO_PAUSE: RetryPolicy = RetryPolicy { pause: Pause::None };

impl RetryPolicy {
    /// Retries at once (the default).
    pub fn none() -> Self {
        RetryPolicy { pause: Pause::None }
    }

    /// Pauses a random time below a ceiling that doubles from 200 µs
    /// (about a round trip to a server nearby) up to 50 ms: writers that
    /// keep colliding spread out, so that one gets through at each turn.
    /// The default of a Redis manager.
    pub fn jittered() -> Self {
        RetryPolicy {
            pause: Pause::Jittered,
        }
    }

    /// Pauses `pause(attempt)` (`attempt` counts from 1).
    pub fn custom(pause: impl Fn(usize) -> Duration + Send + Sync + 'static) -> Self {
        RetryPolicy {
            pause: Pause::Custom(Arc::new(pause)),
        }
    }

    /// How long to pause before the `attempt`-th retry.
    pub fn pause(&self, attempt: usize) -> Duration {
        match &self.pause {
            Pause::None => Duration::ZERO,
            Pause::Jittered => jittered(attempt),
            Pause::Custom(pause) => pause(attempt),
        }
    }

    /// Waits [`pause(attempt)`](Self::pause), on the tokio timer; returns
    /// at once (without touching the timer) when that is zero.
    pub async fn wait(&self, attempt: usize) {
        let pause = self.pause(attempt);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.pause {
            Pause::None => "RetryPolicy::none()",
            Pause::Jittered => "RetryPolicy::jittered()",
            Pause::Custom(_) => "RetryPolicy::custom(..)",
        })
    }
}

/// The pause of [`RetryPolicy::jittered`].
fn jittered(attempt: usize) -> Duration {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let noise = crate::bucket::crc32(&(nanos ^ NEXT.fetch_add(1, Ordering::Relaxed)).to_le_bytes());
    // Random, below a ceiling that doubles from 200 µs (about a round
    // trip) up to 50 ms: writers that keep colliding spread out, so
    // that one gets through at each turn.
    let ceiling = (200u32 << attempt.clamp(1, 9).saturating_sub(1)).min(50_000);
    Duration::from_micros(u64::from(noise % ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jittered_pauses_stay_below_a_doubling_ceiling() {
        for attempt in 1..20 {
            let ceiling = (200u64 << (attempt.min(9) - 1)).min(50_000);
            for _ in 0..50 {
                let pause = RetryPolicy::jittered().pause(attempt);
                assert!(
                    pause < Duration::from_micros(ceiling),
                    "{attempt}: {pause:?}"
                );
            }
        }
        assert_eq!(RetryPolicy::default().pause(5), Duration::ZERO);
        assert_eq!(
            RetryPolicy::custom(|a| Duration::from_secs(a as u64)).pause(2),
            Duration::from_secs(2)
        );
    }
}
