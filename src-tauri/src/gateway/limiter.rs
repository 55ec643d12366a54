//! Per-client rate limits over fixed one-minute windows, with an injected clock so
//! tests never sleep.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    })
}

const WINDOW_MS: u64 = 60_000;

pub struct RateLimiter {
    clock: Clock,
    /// client id -> (window number, requests in it)
    windows: Mutex<HashMap<i64, (u64, u32)>>,
}

impl RateLimiter {
    pub fn new(clock: Clock) -> Self {
        RateLimiter {
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request; `Err(seconds)` to wait when over `per_minute`.
    pub fn check(&self, client: i64, per_minute: u32) -> Result<(), u64> {
        let now = (self.clock)();
        let window = now / WINDOW_MS;
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(client).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= per_minute {
            let next = (window + 1) * WINDOW_MS;
            return Err((next - now).div_ceil(1000).max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    pub fn forget(&self, client: i64) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn the_sixth_request_in_a_minute_waits_for_the_next_window() {
        let now = Arc::new(AtomicU64::new(120_000 + 15_000));
        let t = Arc::clone(&now);
        let limiter = RateLimiter::new(Arc::new(move || t.load(Ordering::Relaxed)));
        for _ in 0..5 {
            assert_eq!(limiter.check(1, 5), Ok(()));
        }
        assert_eq!(limiter.check(1, 5), Err(45));
        assert_eq!(limiter.check(2, 5), Ok(()), "clients are counted apart");
        now.store(180_000, Ordering::Relaxed);
        assert_eq!(limiter.check(1, 5), Ok(()));
    }
}
