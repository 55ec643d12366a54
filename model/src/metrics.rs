//! Classification metrics for a binary model's probabilities.

pub use cardiorisk_contract::{Confusion, Metrics, RocPoint};

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Metrics of `probabilities` against 0/1 `labels` at `threshold`.
pub fn evaluate(probabilities: &[f32], labels: &[f32], threshold: f64) -> Metrics {
    assert_eq!(probabilities.len(), labels.len());
    let mut c = Confusion::default();
    let mut brier = 0.0;
    let mut log_loss = 0.0;
    for (&p, &y) in probabilities.iter().zip(labels) {
        let (p, positive) = (p as f64, y == 1.0);
        match (p >= threshold, positive) {
            (true, true) => c.true_positive += 1,
            (true, false) => c.false_positive += 1,
            (false, false) => c.true_negative += 1,
            (false, true) => c.false_negative += 1,
        }
        brier += (p - y as f64).powi(2);
        let q = p.clamp(1e-7, 1.0 - 1e-7);
        log_loss -= if positive { q.ln() } else { (1.0 - q).ln() };
    }
    let n = probabilities.len() as u64;
    let precision = ratio(c.true_positive, c.true_positive + c.false_positive);
    let recall = ratio(c.true_positive, c.true_positive + c.false_negative);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let (auc, roc) = roc_curve(probabilities, labels);
    Metrics {
        n,
        accuracy: ratio(c.true_positive + c.true_negative, n),
        precision,
        recall,
        f1,
        auc,
        brier: brier / n.max(1) as f64,
        log_loss: log_loss / n.max(1) as f64,
        confusion: c,
        roc,
    }
}

/// ROC AUC (ties counted half) and the curve, one point per distinct score.
/// The curve is thinned to at most ~100 points for storage and charts.
fn roc_curve(probabilities: &[f32], labels: &[f32]) -> (f64, Vec<RocPoint>) {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    let positives = labels.iter().filter(|&&y| y == 1.0).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return (f64::NAN, Vec::new());
    }
    let (mut tp, mut fp, mut area) = (0.0, 0.0, 0.0);
    let mut points = vec![RocPoint {
        threshold: 1.0,
        false_positive_rate: 0.0,
        true_positive_rate: 0.0,
    }];
    let mut i = 0;
    while i < order.len() {
        let score = probabilities[order[i]];
        let (tp0, fp0) = (tp, fp);
        while i < order.len() && probabilities[order[i]] == score {
            if labels[order[i]] == 1.0 {
                tp += 1.0
            } else {
                fp += 1.0
            }
            i += 1;
        }
        area += (fp - fp0) * (tp + tp0) / 2.0;
        points.push(RocPoint {
            threshold: score as f64,
            false_positive_rate: fp / negatives,
            true_positive_rate: tp / positives,
        });
    }
    let step = points.len().div_ceil(100).max(1);
    let last = *points.last().expect("at least the origin");
    let mut thinned: Vec<RocPoint> = points.into_iter().step_by(step).collect();
    if thinned.last() != Some(&last) {
        thinned.push(last);
    }
    (area / (positives * negatives), thinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_inverted_scores() {
        let y = [0.0, 0.0, 1.0, 1.0];
        let m = evaluate(&[0.1, 0.2, 0.8, 0.9], &y, 0.5);
        assert_eq!((m.accuracy, m.auc, m.f1), (1.0, 1.0, 1.0));
        assert!((m.brier - 0.025).abs() < 1e-6);
        let m = evaluate(&[0.9, 0.8, 0.2, 0.1], &y, 0.5);
        assert_eq!((m.accuracy, m.auc), (0.0, 0.0));
    }

    #[test]
    fn ties_count_half() {
        let m = evaluate(&[0.5, 0.5], &[0.0, 1.0], 0.5);
        assert_eq!(m.auc, 0.5);
        assert_eq!(m.confusion.false_positive, 1);
        assert_eq!(m.roc.last().unwrap().true_positive_rate, 1.0);
    }
}
