//! Per-client rate limits over a sliding 60-second window, with an injected clock so
//! tests never sleep. A client may have at most its plan's N answers in any 60
//! seconds: each client keeps counts in 100 ms slots over the last 60.1 s (601
//! slots, with the millisecond of each slot's latest request: a fixed 3 KB whatever
//! the plan). A slot's requests stay counted until its latest one is 60 s old (up to
//! 100 ms longer than the ideal for the others, never shorter), and a request is
//! allowed only while fewer than N are counted. `Retry-After` is the wait until a
//! request will be allowed, rounded up to whole seconds: never more than 60, and a
//! retry after it is answered. Clients idle for a minute are forgotten.

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
    /// The millisecond inside each slot of its latest request (0 to 99).
    latest: Box<[u8; SLOTS]>,
    /// The slot number (time / SLOT_MS) last written.
    last: u64,
    total: u64,
}

impl Window {
    fn new(slot: u64) -> Self {
        Window {
            counts: Box::new([0; SLOTS]),
            latest: Box::new([0; SLOTS]),
            last: slot,
            total: 0,
        }
    }

    fn index(slot: u64) -> usize {
        (slot % SLOTS as u64) as usize
    }

    fn clear(&mut self, slot: u64) {
        let i = Self::index(slot);
        self.total -= self.counts[i] as u64;
        self.counts[i] = 0;
    }

    /// When the requests counted in `slot` leave the window (ms since the epoch).
    fn leaves_at(&self, slot: u64) -> u64 {
        slot * SLOT_MS + self.latest[Self::index(slot)] as u64 + WINDOW_MS
    }

    /// Moves the window forward to `now`, dropping counts that fell out of it.
    fn advance(&mut self, now: u64) {
        let slot = now / SLOT_MS;
        if slot > self.last {
            let steps = (slot - self.last).min(SLOTS as u64);
            for s in 1..=steps {
                self.clear(self.last + s);
            }
            self.last = slot;
        }
        // The oldest slot kept is the only one that can be partly past 60 s.
        let oldest = self.last.saturating_sub(SLOTS as u64 - 1);
        if self.counts[Self::index(oldest)] > 0 && self.leaves_at(oldest) <= now {
            self.clear(oldest);
        }
    }

    fn count(&mut self, now: u64) {
        let i = Self::index(now / SLOT_MS);
        self.counts[i] += 1;
        self.latest[i] = (now % SLOT_MS) as u8;
        self.total += 1;
    }

    /// Milliseconds until `excess` counted requests have left the window: at most
    /// `WINDOW_MS`, since every counted request is at most that old.
    fn wait_ms(&self, now: u64, excess: u64) -> u64 {
        let mut seen = 0;
        for age in (0..SLOTS as u64).rev() {
            let Some(slot) = self.last.checked_sub(age) else {
                continue;
            };
            seen += self.counts[Self::index(slot)] as u64;
            if seen >= excess {
                return self.leaves_at(slot).saturating_sub(now).min(WINDOW_MS);
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
        window.advance(now);
        if window.total >= per_minute as u64 {
            let excess = window.total - per_minute as u64 + 1;
            return Err(window.wait_ms(now, excess).div_ceil(1000).max(1));
        }
        window.count(now);
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
        // The first leaves the window 60 s after it was answered: 39 s from now.
        assert_eq!(limiter.check(1, 2), Err(39));
        now.store(10_000_000 + 59_999, Ordering::Relaxed);
        assert!(limiter.check(1, 2).is_err(), "still inside its 60 s");
        now.store(10_000_000 + 60_000, Ordering::Relaxed);
        assert_eq!(limiter.check(1, 2), Ok(()));
    }

    #[test]
    fn retry_after_is_never_more_than_the_window_and_a_retry_then_is_answered() {
        for start in [7_000_000, 7_000_001, 7_000_050, 7_000_099] {
            let (limiter, now) = limiter(start);
            assert_eq!(limiter.check(1, 1), Ok(()));
            let wait = limiter.check(1, 1).unwrap_err();
            assert_eq!(wait, 60, "from {start}");
            now.fetch_add(wait * 1000, Ordering::Relaxed);
            assert_eq!(limiter.check(1, 1), Ok(()), "retried after {wait} s");
        }
        // A burst spread over one slot: the slot leaves with its latest request.
        let (limiter, now) = limiter(9_000_010);
        limiter.check(2, 2).unwrap();
        now.store(9_000_090, Ordering::Relaxed);
        limiter.check(2, 2).unwrap();
        let wait = limiter.check(2, 2).unwrap_err();
        assert_eq!(wait, 60);
        now.fetch_add(wait * 1000, Ordering::Relaxed);
        assert_eq!(limiter.check(2, 2), Ok(()));
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
