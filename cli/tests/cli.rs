//! The `cardiorisk` command-line binary, run as a user would.

use cardiorisk_model::synth::{self, Span};
#[path = "../../tests/support/mod.rs"]
mod support;

use serde_json::Value;
use std::process::Command;
use support::{original_data, CLI};

fn cli() -> Command {
    Command::new(CLI)
}

fn json_out(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn predict_prints_json_and_refuses_bad_values_naming_them() {
    let v = json_out(cli().args([
        "predict",
        "--colesterol",
        "1.2",
        "--presion",
        "0.9",
        "--glucosa",
        "0.8",
        "--edad",
        "30",
        "--sobrepeso",
        "0",
        "--tabaquismo",
        "1",
    ]));
    assert_eq!(v["at_risk"], false);
    assert_eq!(v["band"], "low", "bands are spelled lowercase everywhere");
    assert!(v["probability"].as_f64().unwrap() < 0.1);

    let out = cli()
        .args([
            "predict",
            "--colesterol",
            "9",
            "--presion",
            "abc",
            "--glucosa",
            "0.8",
            "--edad",
            "30",
            "--sobrepeso",
            "0",
            "--tabaquismo",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("colesterol is out of range: valid is 1.0 to 3.0 g/L"),
        "{err}"
    );
    assert!(err.contains("presion is not a number"), "{err}");
}

#[test]
fn embedded_model_is_accurate_on_fresh_data_over_the_full_valid_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heldout.csv");
    std::fs::write(
        &path,
        synth::to_csv(&synth::generate(20_000, 2026, Span::Valid)),
    )
    .unwrap();
    let v = json_out(cli().args(["evaluate", "--data"]).arg(&path));
    assert_eq!(v["n"], 20_000);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.995, "{v}");
    assert!(v["auc"].as_f64().unwrap() >= 0.999, "{v}");
}

#[test]
fn train_then_evaluate_a_small_generated_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    let model = dir.path().join("model.json");
    std::fs::write(&data, synth::to_csv(&synth::generate(1500, 5, Span::File))).unwrap();
    let out = cli()
        .args(["train", "--epochs", "60", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let heldout = dir.path().join("heldout.csv");
    std::fs::write(
        &heldout,
        synth::to_csv(&synth::generate(5000, 6, Span::File)),
    )
    .unwrap();
    let v = json_out(
        cli()
            .args(["evaluate", "--data"])
            .arg(&heldout)
            .arg("--model")
            .arg(&model),
    );
    assert!(v["accuracy"].as_f64().unwrap() >= 0.95, "{v}");
}

#[test]
fn evaluate_on_the_original_file_when_present() {
    let Some(path) = original_data() else { return };
    let v = json_out(cli().args(["evaluate", "--data"]).arg(&path));
    assert_eq!(v["n"], 5000);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.99, "{v}");
}

#[test]
fn batch_scores_valid_rows_and_marks_invalid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let output = dir.path().join("out.csv");
    std::fs::write(
        &input,
        "id,colesterol,presion,glucosa,edad,sobrepeso,tabaquismo
         a,2.5,1.6,0.8,30,0,0
         b,1.5,1.0,0.8,30,0,0
         c,1.5,1.0,,30,0,0
",
    )
    .unwrap();
    let out = cli()
        .args(["batch", "--data"])
        .arg(&input)
        .arg("--out")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 row(s): 2 scored, 1 invalid"));
    let text = std::fs::read_to_string(&output).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][7..], ["probability", "at_risk", "error"]);
    assert_eq!(rows[1][8], "1");
    assert_eq!(rows[2][8], "0");
    assert_eq!(rows[3][9], "glucosa is missing: valid is 0.5 to 2.0 g/L");
}

#[test]
fn predict_output_carries_contributions() {
    let v = json_out(cli().args([
        "predict",
        "--colesterol",
        "2.5",
        "--presion",
        "1.6",
        "--glucosa",
        "0.9",
        "--edad",
        "45",
        "--sobrepeso",
        "0",
        "--tabaquismo",
        "0",
    ]));
    let c = v["contributions"].as_array().unwrap();
    let names: Vec<&str> = c.iter().map(|x| x["field"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "colesterol",
            "presion",
            "glucosa",
            "edad",
            "sobrepeso",
            "tabaquismo"
        ]
    );
    assert!(c[0]["value"].as_f64().unwrap() > 0.3);
}

#[test]
fn a_file_missing_a_column_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "colesterol,presion,glucosa,edad,sobrepeso,riesgo_cardiaco\n2,1,1,50,0,1\n",
    )
    .unwrap();
    let out = cli()
        .args(["evaluate", "--data"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing column(s): tabaquismo"));
}

/// Runs the CLI expecting it to refuse; returns what it printed on stderr.
fn refused(args: &[&str]) -> String {
    let out = cli().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    stderr
}

#[test]
fn hostile_and_empty_inputs_are_refused_clearly_without_reading_them_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let out = out.to_str().unwrap();
    for cmd in ["evaluate", "train", "batch"] {
        let mut args = vec![cmd, "--data", "/dev/zero"];
        if cmd != "evaluate" {
            args.extend(["--out", out]);
        }
        assert!(refused(&args).contains("is not a regular file"), "{cmd}");
    }
    let header_only = dir.path().join("header.csv");
    std::fs::write(
        &header_only,
        "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,riesgo_cardiaco\n",
    )
    .unwrap();
    let err = refused(&["evaluate", "--data", header_only.to_str().unwrap()]);
    assert!(err.contains("no data rows"), "{err}");

    let big = dir.path().join("big.csv");
    std::fs::write(&big, synth::to_csv(&synth::generate(200, 1, Span::Valid))).unwrap();
    let out_cmd = cli()
        .args(["evaluate", "--data", big.to_str().unwrap()])
        .env("CARDIORISK_MAX_CSV_ROWS", "100")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out_cmd.stderr);
    assert_eq!(out_cmd.status.code(), Some(2));
    assert!(
        stderr.contains("limit is 100") && stderr.contains("CARDIORISK_MAX_CSV_ROWS"),
        "{stderr}"
    );

    let err = refused(&["synth", "--rows", "1000000000000", "--out", out]);
    assert!(err.contains("--rows must be from 1 to 10000000"), "{err}");
    assert!(!std::path::Path::new(out).exists(), "nothing half-written");

    // A file of zeros is refused by `batch` at its first over-long line, and the
    // output is left as it was.
    let zeros = dir.path().join("zeros.csv");
    std::fs::write(&zeros, vec![0u8; 1 << 20]).unwrap();
    let err = refused(&["batch", "--data", zeros.to_str().unwrap(), "--out", out]);
    assert!(err.contains("longer than"), "{err}");
    assert!(!std::path::Path::new(out).exists());
}

#[test]
fn audit_verify_says_the_trail_holds_and_names_the_entry_an_edit_broke() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str], password: &str| {
        cli()
            .args(args)
            .args(["--data-dir", data])
            .env("CARDIORISK_PASSWORD", password)
            .output()
            .unwrap()
    };
    let setup = run(
        &[
            "setup",
            "--username",
            "admin",
            "--display-name",
            "Ada Admin",
        ],
        support::ADMIN_PASSWORD,
    );
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    for _ in 0..3 {
        // Refused sign-ins are entries too.
        let refused = run(
            &["audit", "verify", "--username", "admin"],
            "not the password",
        );
        assert_eq!(refused.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("error:"));
    }

    let holds = run(
        &["audit", "verify", "--username", "admin"],
        support::ADMIN_PASSWORD,
    );
    let said = String::from_utf8_lossy(&holds.stdout);
    assert_eq!(holds.status.code(), Some(0), "{said}");
    assert!(said.starts_with("audit trail verified: "), "{said}");
    assert!(said.contains("chained since"), "{said}");

    let db = support::open_db(&dir.path().join("cardiorisk.db")).unwrap();
    db.execute(
        "UPDATE audit_log SET detail = 'nothing happened' WHERE id = 3",
        [],
    )
    .unwrap();
    drop(db);
    let broken = run(
        &["audit", "verify", "--username", "admin"],
        support::ADMIN_PASSWORD,
    );
    let said = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with("audit trail BROKEN at entry 3 ("),
        "{said}"
    );
    assert!(said.contains("not what was written"), "{said}");
}

/// Runs the CLI with `args` in a pseudo-terminal (util-linux `script`), without
/// secrets in its environment, answering each prompt that ends with `prompts[i]`
/// with `answers[i]`; returns all the terminal showed and the exit status.
#[cfg(target_os = "linux")]
fn at_a_terminal(args: &[&str], answers: &[(&str, &str)]) -> (String, bool) {
    use std::io::{Read, Write};
    let line = std::iter::once(env!("CARGO_BIN_EXE_cardiorisk"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qefc", &line, "/dev/null"])
        .env_remove("CARDIORISK_PASSWORD")
        .env_remove("CARDIORISK_RECOVERY_KEY")
        .env_remove("CARDIORISK_USERNAME")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the CLI in a pseudo-terminal");
    let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let mut shown = Vec::new();
    for (prompt, answer) in answers {
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&shown).trim_end().ends_with(prompt) {
            assert_eq!(
                stdout.read(&mut byte).unwrap(),
                1,
                "the terminal closed before {prompt:?}: {}",
                String::from_utf8_lossy(&shown)
            );
            shown.push(byte[0]);
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        shown.extend_from_slice(b" ");
    }
    stdout.read_to_end(&mut shown).unwrap();
    drop(stdin);
    let ok = child.wait().unwrap().success();
    (String::from_utf8_lossy(&shown).into_owned(), ok)
}

#[cfg(target_os = "linux")]
#[test]
fn secrets_are_typed_at_the_terminal_without_echo_when_the_environment_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let setup = [
        "setup",
        "--username",
        "admin",
        "--display-name",
        "Ada Admin",
        "--data-dir",
        data,
    ];
    let (shown, ok) = at_a_terminal(
        &setup,
        &[
            ("admin's password:", "typed-at-terminal-1"),
            ("admin's password, again:", "typed-differently-2"),
        ],
    );
    assert!(!ok, "two different entries are refused: {shown}");
    assert!(shown.contains("differ"), "{shown}");
    assert!(
        !dir.path().join("cardiorisk.db").exists(),
        "nothing was set up"
    );

    let (shown, ok) = at_a_terminal(
        &setup,
        &[
            ("admin's password:", "typed-at-terminal-1"),
            ("admin's password, again:", "typed-at-terminal-1"),
        ],
    );
    assert!(ok, "{shown}");
    assert!(!shown.contains("typed-at-terminal"), "echoed: {shown}");

    let verify = ["audit", "verify", "--username", "admin", "--data-dir", data];
    let (shown, ok) = at_a_terminal(&verify, &[("admin's password:", "typed-at-terminal-1")]);
    assert!(ok, "the typed password opens the data: {shown}");
    assert!(!shown.contains("typed-at-terminal"), "echoed: {shown}");

    // Without a terminal and without the environment: told what to set, not hung.
    let out = cli()
        .args(verify)
        .env_remove("CARDIORISK_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("set CARDIORISK_PASSWORD"), "{said}");
}
