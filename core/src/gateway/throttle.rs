//! Failure throttles checked before any password or key hash is computed, so a
//! flood of wrong keys or sign-ins costs the machine almost nothing. A token bucket
//! per key (a key's public prefix, a client address): each failure takes a token,
//! tokens come back at a steady rate, and an empty bucket refuses until one returns.
//! Memory is bounded: past `MAX_KEYS`, refilled buckets are forgotten first.

use super::limiter::Clock;
use std::collections::HashMap;
use std::sync::Mutex;

const MAX_KEYS: usize = 10_000;

struct Bucket {
    tokens: f64,
    at_ms: u64,
}

pub struct Throttle {
    capacity: f64,
    per_ms: f64,
    clock: Clock,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Throttle {
    /// `capacity` failures at once, then one more every `refill_ms`.
    pub fn new(capacity: u32, refill_ms: u64, clock: Clock) -> Self {
        Throttle {
            capacity: capacity as f64,
            per_ms: 1.0 / refill_ms as f64,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, b: &Bucket, now: u64) -> f64 {
        (b.tokens + now.saturating_sub(b.at_ms) as f64 * self.per_ms).min(self.capacity)
    }

    /// `Err(seconds)` to wait while `key` has no failures left.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = (self.clock)();
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match buckets.get(key) {
            Some(b) => {
                let tokens = self.refilled(b, now);
                if tokens >= 1.0 {
                    Ok(())
                } else {
                    Err((((1.0 - tokens) / self.per_ms) / 1000.0).ceil().max(1.0) as u64)
                }
            }
            None => Ok(()),
        }
    }

    /// Counts one failure for `key`.
    pub fn failed(&self, key: &str) {
        let now = (self.clock)();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        crate::bounded::make_room(&mut buckets, key, MAX_KEYS, |_, b| {
            self.refilled(b, now) < self.capacity
        });
        let tokens = match buckets.get(key) {
            Some(b) => self.refilled(b, now),
            None => self.capacity,
        };
        buckets.insert(
            key.to_string(),
            Bucket {
                tokens: (tokens - 1.0).max(0.0),
                at_ms: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn refuses_after_capacity_failures_until_a_token_returns() {
        let now = Arc::new(AtomicU64::new(1_000_000));
        let t = Arc::clone(&now);
        let throttle = Throttle::new(5, 12_000, Arc::new(move || t.load(Ordering::Relaxed)));
        for _ in 0..5 {
            assert_eq!(throttle.check("crk_a"), Ok(()));
            throttle.failed("crk_a");
        }
        assert_eq!(throttle.check("crk_a"), Err(12));
        assert_eq!(throttle.check("crk_b"), Ok(()), "keys are counted apart");
        now.fetch_add(6_000, Ordering::Relaxed);
        assert_eq!(throttle.check("crk_a"), Err(6));
        now.fetch_add(6_000, Ordering::Relaxed);
        assert_eq!(throttle.check("crk_a"), Ok(()));
        throttle.failed("crk_a");
        assert!(
            throttle.check("crk_a").is_err(),
            "one token came back, one was used"
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let throttle = Throttle::new(1, 60_000, Arc::new(|| 5));
        for i in 0..(MAX_KEYS * 3) {
            throttle.failed(&format!("k{i}"));
        }
        assert!(throttle.buckets.lock().unwrap().len() <= MAX_KEYS);
    }
}
