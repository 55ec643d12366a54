//! Every key the sources ask for is in the catalogues, and every key of the
//! catalogues is asked for somewhere: no missing text, no dead text.

use cardiorisk_i18n::{has, keys, Language};
use std::path::{Path, PathBuf};

/// Keys built at run time from a name: `error-<code>`, `rule-<field>`, `label-<field>`...
const BUILT_PREFIXES: [&str; 8] = [
    "error-",
    "rule-",
    "label-",
    "unit-",
    "problem-",
    "band-",
    "range-",
    "field-error",
];

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs: Vec<PathBuf> = [
        "ui/src",
        "contract/src",
        "core/src",
        "cli/src",
        "src-tauri/src",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The string literals of `text` that follow one of `openers`, e.g. `t("` or `label="`.
fn literals_after<'a>(text: &'a str, openers: &[&str]) -> Vec<&'a str> {
    let mut found = Vec::new();
    for opener in openers {
        let mut rest = text;
        while let Some(at) = rest.find(opener) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + opener.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') && opener.len() < 5 {
                continue;
            }
            if let Some(end) = rest.find('"') {
                found.push(&rest[..end]);
            }
        }
    }
    found
}

#[test]
fn every_key_asked_for_is_in_every_catalogue() {
    let mut missing = Vec::new();
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        for key in literals_after(
            &text,
            &["t(\"", "tr(\"", "tf(\"", "label=\"", "compare_row(\""],
        ) {
            for &language in Language::ALL {
                if !has(language, key) {
                    missing.push(format!("{}: {key} ({})", file.display(), language.as_str()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "missing texts:\n{}", missing.join("\n"));
}

#[test]
fn every_key_of_the_catalogues_is_used() {
    let all: String = sources()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let unused: Vec<String> = keys(Language::English)
        .into_iter()
        .filter(|k| !BUILT_PREFIXES.iter().any(|p| k.starts_with(p)))
        // An argument's name, `("rows", &…)`, is not a use of the key `rows`.
        .filter(|k| {
            let quoted = format!("\"{k}\"");
            let as_argument = format!("(\"{k}\", &");
            let as_formatted = format!("tf(\"{k}\", &");
            let arguments = all.matches(&as_argument).count() - all.matches(&as_formatted).count();
            all.matches(&quoted).count() <= arguments
        })
        .collect();
    assert!(
        unused.is_empty(),
        "texts nothing uses:\n{}",
        unused.join("\n")
    );
}
