//! Synthetic patients drawn like the original assignment's file, for held-out
//! evaluation and for test fixtures on machines without the original data.
//!
//! The file's inputs are uniform on a 0.1 grid (whole years for age, fair coins for
//! the flags), and its label follows one rule with no exception in its 5000 rows:
//! risk when (colesterol > 2.0 and presion > 1.4) or (glucosa > 1.0 and edad > 50)
//! or (sobrepeso and tabaquismo).

use crate::data::Dataset;
use crate::rng::SplitMix64;
use std::fmt::Write;

/// Which input ranges to draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The original file's observed ranges (colesterol up to 2.9, presion 1.7, glucosa 1.9, edad 98).
    File,
    /// The full valid ranges (colesterol up to 3.0, presion 1.8, glucosa 2.0, edad 99).
    Valid,
}

/// The generating rule of the original data.
pub fn reference_label(x: &[f64; 6]) -> bool {
    let [colesterol, presion, glucosa, edad, sobrepeso, tabaquismo] = *x;
    // Compare on tenths to stay exact for grid values given as binary floats.
    let tenths = |v: f64| (v * 10.0).round() as i64;
    (tenths(colesterol) > 20 && tenths(presion) > 14)
        || (tenths(glucosa) > 10 && edad > 50.0)
        || (sobrepeso == 1.0 && tabaquismo == 1.0)
}

/// Draws `n` rows; the same seed gives the same rows.
pub fn generate(n: usize, seed: u64, span: Span) -> Vec<([f64; 6], bool)> {
    let top = match span {
        Span::File => 0,
        Span::Valid => 1,
    };
    let mut rng = SplitMix64::new(seed);
    // `low + uniform(0..count)`, with the valid span one grid step wider than the file's.
    let mut grid = |low: u64, count: u64| (low + rng.below(count + top)) as f64;
    (0..n)
        .map(|_| {
            let x = [
                grid(10, 20) / 10.0,
                grid(6, 12) / 10.0,
                grid(5, 15) / 10.0,
                grid(0, 99),
                grid(0, 2 - top),
                grid(0, 2 - top),
            ];
            (x, reference_label(&x))
        })
        .collect()
}

pub fn to_dataset(rows: &[([f64; 6], bool)]) -> Dataset {
    Dataset {
        x: rows.iter().map(|(x, _)| x.map(|v| v as f32)).collect(),
        y: rows
            .iter()
            .map(|(_, y)| if *y { 1.0 } else { 0.0 })
            .collect(),
        sha256: String::new(),
    }
}

/// Writes rows as CSV in the original file's layout (leading unnamed index column).
pub fn to_csv(rows: &[([f64; 6], bool)]) -> String {
    let mut out =
        String::from(",colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,riesgo_cardiaco\n");
    for (i, (x, y)) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "{i},{:.1},{:.1},{:.1},{},{},{},{}",
            x[0], x[1], x[2], x[3], x[4], x[5], *y as u8
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_within_span_and_reproducibly() {
        let a = generate(2000, 7, Span::File);
        assert_eq!(a, generate(2000, 7, Span::File));
        let max = |i: usize| a.iter().map(|(x, _)| x[i]).fold(f64::MIN, f64::max);
        assert_eq!([max(0), max(1), max(2), max(3)], [2.9, 1.7, 1.9, 98.0]);
        let v = generate(4000, 7, Span::Valid);
        let vmax = |i: usize| v.iter().map(|(x, _)| x[i]).fold(f64::MIN, f64::max);
        assert_eq!([vmax(0), vmax(1), vmax(2), vmax(3)], [3.0, 1.8, 2.0, 99.0]);
        let positives = a.iter().filter(|(_, y)| *y).count() as f64 / a.len() as f64;
        assert!((0.45..0.6).contains(&positives), "{positives}");
    }

    #[test]
    fn rule_on_known_rows_of_the_original_file() {
        assert!(!reference_label(&[1.0, 0.9, 1.0, 5.0, 0.0, 1.0]));
        assert!(reference_label(&[2.4, 1.4, 1.8, 72.0, 0.0, 0.0]));
        assert!(!reference_label(&[2.2, 1.1, 0.6, 73.0, 0.0, 1.0]));
        assert!(reference_label(&[2.1, 1.5, 0.5, 10.0, 0.0, 0.0]));
    }
}
