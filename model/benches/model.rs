//! Model benchmarks: start-up load, single prediction, batch scoring and training.
//! Prints figures; run with `cargo bench -p cardiorisk-model --bench model`.

use cardiorisk_contract::Measurements;
use cardiorisk_model::batch::score_csv_with;
use cardiorisk_model::data::{read_labelled_file, InvalidRows};
use cardiorisk_model::predictor::EMBEDDED_MODEL;
use cardiorisk_model::synth::{generate, to_csv, to_dataset, Span};
use cardiorisk_model::{train, Predictor, TrainConfig};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // Load: parse, verify checksum and shapes, build the network.
    let loads: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            black_box(Predictor::from_bytes(black_box(EMBEDDED_MODEL)).unwrap());
            t.elapsed()
        })
        .collect();
    println!(
        "model load            median {:>9.1} µs",
        micros(median(loads))
    );

    let p = Predictor::embedded();
    let rows = generate(200_000, 11, Span::Valid);
    let inputs: Vec<Measurements> = rows
        .iter()
        .map(|(x, _)| Measurements::from_array(*x))
        .collect();
    for m in inputs.iter().take(1000) {
        black_box(p.probability(m));
    }
    let single: Vec<Duration> = inputs
        .iter()
        .take(20_000)
        .map(|m| {
            let t = Instant::now();
            black_box(p.probability(black_box(m)));
            t.elapsed()
        })
        .collect();
    let mut sorted = single.clone();
    sorted.sort();
    println!(
        "single probability    median {:>9.1} µs   p99 {:>9.1} µs",
        micros(median(single)),
        micros(sorted[sorted.len() * 99 / 100])
    );
    let explained: Vec<Duration> = inputs
        .iter()
        .take(5_000)
        .map(|m| {
            let t = Instant::now();
            black_box(p.predict(black_box(m)).unwrap());
            t.elapsed()
        })
        .collect();
    println!(
        "prediction + contributions median {:>6.1} µs",
        micros(median(explained))
    );

    let features: Vec<[f32; 6]> = rows.iter().map(|(x, _)| x.map(|v| v as f32)).collect();
    for chunk_rows in [1024, 4096, 8192, 16384] {
        let t = Instant::now();
        let mut scored = 0;
        for chunk in features.chunks(chunk_rows) {
            scored += black_box(p.probabilities(chunk)).len();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "batch scoring         {:>12.0} rows/s ({scored} rows in {:.3} s, {chunk_rows} a call)",
            scored as f64 / secs,
            secs
        );
    }

    // CSV to CSV in memory, as `cardiorisk batch` streams it (no disk).
    let csv = to_csv(&generate(1_000_000, 7, Span::Valid));
    for workers in [1, 2] {
        let mut out = Vec::with_capacity(csv.len() * 3 / 2);
        let t = Instant::now();
        let summary = score_csv_with(csv.as_bytes(), &mut out, &p, workers).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "CSV -> CSV            {:>12.0} rows/s ({} rows in {:.3} s, {workers} worker(s))",
            summary.rows as f64 / secs,
            summary.rows,
            secs
        );
    }

    let original =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/datos_de_pacientes_5000.csv");
    let (data, source) = match read_labelled_file(&original, InvalidRows::Refuse) {
        Ok(l) => (l.data, "the original 5000-row file"),
        Err(_) => (
            to_dataset(&generate(5000, 1, Span::File)),
            "5000 synthetic rows (original file not on this machine)",
        ),
    };
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let m = train(
            &data,
            0,
            &TrainConfig::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        times.push((t.elapsed(), m.training.epochs_run));
    }
    for (d, epochs) in &times {
        println!(
            "training on {source}: {:.3} s ({epochs} epochs)",
            d.as_secs_f64()
        );
    }
}
