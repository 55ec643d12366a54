//! Per-client rate limits over a sliding 60-second window, with an injected clock so
//! tests never sleep. A client may have at most its plan's N answers in any 60
//! seconds: each client keeps counts in 100 ms slots over the last 60.1 s (601
//! slots, a fixed 2.4 KB whatever the plan), and a request is allowed only while
//! fewer than N fall in them. `Retry-After` is the wait until a request will be
//! allowed (at most 100 ms more than the ideal), rounded up to whole seconds.
//! Clients idle for a minute are forgotten.

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
const SLOT_MS: u64 = 100;
/// Slots counted: the current one and the 600 before it, so a window always covers
/// any 60 s ending now, whatever the offset inside the current slot.
const SLOTS: usize = (WINDOW_MS / SLOT_MS) as usize + 1;
/// Forget clients past this many (idle ones first), so memory stays bounded.
const MAX_CLIENTS: usize = 10_000;

struct Window {
    counts: Box<[u32; SLOTS]>,
    /// The slot number (time / SLOT_MS) last written.
    last: u64,
    total: u64,
}

impl Window {
    fn new(slot: u64) -> Self {
        Window {
            counts: Box::new([0; SLOTS]),
            last: slot,
            total: 0,
        }
    }

    /// Moves the window forward to `slot`, dropping counts that fell out of it.
    fn advance(&mut self, slot: u64) {
        if slot <= self.last {
            return;
        }
        let steps = (slot - self.last).min(SLOTS as u64);
        for s in 1..=steps {
            let i = ((self.last + s) % SLOTS as u64) as usize;
            self.total -= self.counts[i] as u64;
            self.counts[i] = 0;
        }
        self.last = slot;
    }

    /// Milliseconds until `excess` counted requests have left the window.
    fn wait_ms(&self, now: u64, excess: u64) -> u64 {
        let mut seen = 0;
        for age in (0..SLOTS as u64).rev() {
            let slot = self.last.saturating_sub(age);
            seen += self.counts[(slot % SLOTS as u64) as usize] as u64;
            if seen >= excess {
                // Requests in `slot` leave once the current slot is SLOTS past it.
                return ((slot + SLOTS as u64) * SLOT_MS).saturating_sub(now);
            }
        }
        WINDOW_MS
    }
}

pub struct RateLimiter {
    clock: Clock,
    windows: Mutex<HashMap<i64, Window>>,
}

impl RateLimiter {
    pub fn new(clock: Clock) -> Self {
        RateLimiter {
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request; `Err(seconds)` to wait when `per_minute` were already
    /// answered in the last 60 seconds.
    pub fn check(&self, client: i64, per_minute: u32) -> Result<(), u64> {
        let now = (self.clock)();
        let slot = now / SLOT_MS;
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        crate::bounded::make_room(&mut map, &client, MAX_CLIENTS, |_, w| {
            w.last + SLOTS as u64 > slot
        });
        let window = map.entry(client).or_insert_with(|| Window::new(slot));
        window.advance(slot);
        if window.total >= per_minute as u64 {
            let excess = window.total - per_minute as u64 + 1;
            return Err(window.wait_ms(now, excess).div_ceil(1000).max(1));
        }
        window.counts[(slot % SLOTS as u64) as usize] += 1;
        window.total += 1;
        Ok(())
    }

    pub fn forget(&self, client: i64) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&client);
    }

    /// Clients with a window in memory (for tests and figures).
    pub fn clients(&self) -> usize {
        self.windows.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn limiter(start: u64) -> (RateLimiter, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(start));
        let t = Arc::clone(&now);
        (
            RateLimiter::new(Arc::new(move || t.load(Ordering::Relaxed))),
            now,
        )
    }

    #[test]
    fn a_minute_boundary_does_not_reset_the_count() {
        // Five at hh:mm:57.8, then five at hh:mm+1:00.4: the second five wait.
        let minute = 1_000_000 * 60_000;
        let (limiter, now) = limiter(minute + 57_800);
        for _ in 0..5 {
            assert_eq!(limiter.check(1, 5), Ok(()));
        }
        now.store(minute + 60_000 + 400, Ordering::Relaxed);
        // The first five leave the window at 57.8 + 60 = 117.8 s: 57.4 s from now.
        assert_eq!(limiter.check(1, 5), Err(58));
        assert_eq!(limiter.check(2, 5), Ok(()), "clients are counted apart");
        now.store(minute + 117_900, Ordering::Relaxed);
        for _ in 0..5 {
            assert_eq!(limiter.check(1, 5), Ok(()));
        }
        assert!(limiter.check(1, 5).is_err());
    }

    #[test]
    fn never_more_than_the_plan_in_any_60_seconds() {
        let (limiter, now) = limiter(5_000_000);
        let mut answered: Vec<u64> = Vec::new();
        // A client retrying every 137 ms for five minutes.
        for step in 0..(300_000 / 137) {
            let t = 5_000_000 + step * 137;
            now.store(t, Ordering::Relaxed);
            if limiter.check(7, 50).is_ok() {
                answered.push(t);
            }
        }
        for (i, &t) in answered.iter().enumerate() {
            let in_window = answered[i..]
                .iter()
                .take_while(|&&u| u < t + 60_000)
                .count();
            assert!(in_window <= 50, "{in_window} answers in 60 s from {t}");
        }
        assert!(answered.len() >= 5 * 50 - 50, "{} answered", answered.len());
    }

    #[test]
    fn retry_after_is_the_wait_until_an_answer_is_allowed_rounded_up() {
        let (limiter, now) = limiter(10_000_000);
        assert_eq!(limiter.check(1, 2), Ok(()));
        now.fetch_add(20_000, Ordering::Relaxed);
        assert_eq!(limiter.check(1, 2), Ok(()));
        now.fetch_add(1_000, Ordering::Relaxed);
        // The first leaves the window 60 s after its 100 ms slot ends, 39.1 s from now.
        assert_eq!(limiter.check(1, 2), Err(40));
        now.store(10_000_000 + 60_000, Ordering::Relaxed);
        assert!(limiter.check(1, 2).is_err(), "still inside its 60 s");
        now.store(10_000_000 + 60_100, Ordering::Relaxed);
        assert_eq!(limiter.check(1, 2), Ok(()));
    }

    #[test]
    fn idle_clients_are_forgotten_and_memory_is_bounded() {
        let (limiter, now) = limiter(1_000_000);
        for c in 0..MAX_CLIENTS as i64 {
            limiter.check(c, 5).unwrap();
        }
        now.fetch_add(61_000, Ordering::Relaxed);
        limiter.check(-1, 5).unwrap();
        assert_eq!(limiter.clients(), 1);
    }
}
