//! Benchmark, not a test (ignored by `cargo test`; `scripts/bench-client.sh` runs it):
//! many assessments of one patient in the real window, each from the click to its
//! painted result as the page measures it with `performance.now()`. Prints figures;
//! asserts only that each assessment was measured.

use super::app::{App, PaintTiming, ONE_AT_A_TIME};

const ASSESSMENTS: usize = 41;

#[test]
#[ignore = "a benchmark: run by scripts/bench-client.sh"]
fn assessment_click_to_paint() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let data = tempfile::tempdir().unwrap();
    let app = App::start(data.path(), &[]);
    let s = &app.s;
    app.set_up_admin();
    app.add_patient("HC-2001", "Bench Patient", Some("1960"));
    app.click("#patient-assess");
    for (id, value) in [("presion", "1.6"), ("glucosa", "0.9"), ("edad", "45")] {
        app.fill(id, value);
    }
    let mut runs: Vec<PaintTiming> = Vec::new();
    for i in 0..ASSESSMENTS {
        app.fill("colesterol", if i % 2 == 0 { "1.8" } else { "2.4" });
        s.execute(
            "const r = document.querySelector('#result');
             if (r) r.removeAttribute('data-click-to-paint-ms');
             return 0;",
        );
        app.click("#assess");
        runs.push(app.paint_timing());
    }
    // Away to the patient's page and back: the first result on a new page again.
    app.click("#assess-patient a");
    s.wait_text("#patient-title", |t| t == "Bench Patient");
    app.click("#patient-assess");
    for (id, value) in [
        ("colesterol", "2.0"),
        ("presion", "1.6"),
        ("glucosa", "0.9"),
        ("edad", "45"),
    ] {
        app.fill(id, value);
    }
    app.click("#assess");
    let again = app.paint_timing();
    println!(
        "first assessment after leaving and coming back: {:.0} ms (answer after {:.0} ms, frame began after {:.0} ms)",
        again.painted, again.answered, again.frame
    );
    let column = |of: fn(&PaintTiming) -> f64| {
        let mut v: Vec<f64> = runs[1..].iter().map(of).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() * 9 / 10])
    };
    let (paint, paint_p90) = column(|t| t.painted);
    let (answer, _) = column(|t| t.answered);
    let (frame, _) = column(|t| t.frame);
    let first = runs[0];
    println!(
        "first assessment on the page: {:.0} ms from click to painted result (answer after {:.0} ms, frame began after {:.0} ms)",
        first.painted, first.answered, first.frame
    );
    println!(
        "next {} assessments: click to painted result median {paint:.0} ms (p90 {paint_p90:.0} ms); answer median {answer:.0} ms; frame began median {frame:.0} ms",
        runs.len() - 1
    );
}
