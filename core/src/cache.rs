//! Prediction results cached by inputs for the active model version. Entries are
//! plain numbers (no heap data), so a full cache is emptied in microseconds and
//! 100,000 of them take about 13 MB. A new model version empties the cache.

use cardiorisk_contract::{CacheStats, Contribution, Measurements, Prediction, RiskBand, FIELDS};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const CAPACITY: usize = 100_000;

type Key = [u64; 6];

#[derive(Clone, Copy)]
struct Entry {
    probability: f64,
    at_risk: bool,
    threshold: f64,
    band: RiskBand,
    contributions: [f64; 6],
    elapsed_ms: f64,
}

impl Entry {
    fn of(p: &Prediction) -> Option<Self> {
        let mut contributions = [0.0; 6];
        if p.contributions.len() != 6 {
            return None;
        }
        for (slot, c) in contributions.iter_mut().zip(&p.contributions) {
            *slot = c.value;
        }
        Some(Entry {
            probability: p.probability,
            at_risk: p.at_risk,
            threshold: p.threshold,
            band: p.band,
            contributions,
            elapsed_ms: p.elapsed_ms,
        })
    }

    fn prediction(&self, version: &str) -> Prediction {
        Prediction {
            probability: self.probability,
            at_risk: self.at_risk,
            threshold: self.threshold,
            band: self.band,
            contributions: FIELDS
                .iter()
                .zip(self.contributions)
                .map(|(f, value)| Contribution {
                    field: f.name.to_string(),
                    value,
                })
                .collect(),
            model_version: version.to_string(),
            elapsed_ms: self.elapsed_ms,
        }
    }
}

#[derive(Default)]
struct Inner {
    version: String,
    map: HashMap<Key, Entry>,
}

#[derive(Default)]
pub struct PredictionCache {
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

fn key(m: &Measurements) -> Key {
    m.to_array().map(f64::to_bits)
}

impl PredictionCache {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached prediction of model `version`, or `compute`'s (then cached; an
    /// error is passed on and never cached).
    pub fn get_or<E>(
        &self,
        m: &Measurements,
        version: &str,
        compute: impl FnOnce() -> Result<Prediction, E>,
    ) -> Result<(Prediction, bool), E> {
        let k = key(m);
        {
            let inner = self.inner();
            if inner.version == version {
                if let Some(e) = inner.map.get(&k) {
                    let hit = *e;
                    drop(inner);
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok((hit.prediction(version), true));
                }
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let p = compute()?;
        if let Some(entry) = Entry::of(&p) {
            let mut inner = self.inner();
            if inner.version != p.model_version {
                inner.map.clear();
                inner.version = p.model_version.clone();
            }
            if inner.map.len() >= CAPACITY {
                inner.map.clear();
            }
            inner.map.insert(k, entry);
        }
        Ok((p, false))
    }

    pub fn clear(&self) {
        self.inner().map.clear();
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.inner().map.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(version: &str, probability: f64) -> Prediction {
        Prediction {
            probability,
            at_risk: probability >= 0.5,
            threshold: 0.5,
            band: RiskBand::of(probability),
            contributions: FIELDS
                .iter()
                .enumerate()
                .map(|(i, f)| Contribution {
                    field: f.name.to_string(),
                    value: i as f64 / 10.0,
                })
                .collect(),
            model_version: version.to_string(),
            elapsed_ms: 0.01,
        }
    }

    #[test]
    fn a_hit_returns_exactly_what_was_computed_for_that_model() {
        let cache = PredictionCache::default();
        let m = Measurements::from_array([2.4, 1.6, 0.9, 45.0, 0.0, 1.0]);
        let (first, cached) = cache
            .get_or(&m, "v1", || Ok::<_, ()>(prediction("v1", 0.93)))
            .unwrap();
        assert!(!cached);
        let (again, cached) = cache
            .get_or::<()>(&m, "v1", || unreachable!("served from the cache"))
            .unwrap();
        assert!(cached);
        assert_eq!(again, first);
        // Another model version never sees v1's answer, and replaces it.
        let (other, cached) = cache
            .get_or(&m, "v2", || Ok::<_, ()>(prediction("v2", 0.4)))
            .unwrap();
        assert!(!cached);
        assert_eq!(other.model_version, "v2");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 2, 1));
    }
}
