//! Prediction results cached by (inputs, model version). The whole cache is dropped
//! when the active model changes; at capacity it is cleared rather than grown.

use cardiorisk_contract::{CacheStats, Measurements, Prediction};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const CAPACITY: usize = 10_000;

type Key = ([u64; 6], String);

#[derive(Default)]
pub struct PredictionCache {
    map: Mutex<HashMap<Key, Prediction>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

fn key(m: &Measurements, version: &str) -> Key {
    (m.to_array().map(f64::to_bits), version.to_string())
}

impl PredictionCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Prediction>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached prediction, or `compute`'s (then cached).
    pub fn get_or(
        &self,
        m: &Measurements,
        version: &str,
        compute: impl FnOnce() -> Prediction,
    ) -> (Prediction, bool) {
        let k = key(m, version);
        if let Some(p) = self.map().get(&k) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return (p.clone(), true);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let p = compute();
        let mut map = self.map();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(k, p.clone());
        (p, false)
    }

    pub fn clear(&self) {
        self.map().clear();
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.map().len() as u64,
        }
    }
}
