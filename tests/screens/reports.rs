//! Patient reports: written whole, audited, every name printed.

use super::*;

/// A CJK font of the computer's own, when it has one (the PDF falls back to it).
fn cjk_font_present() -> bool {
    let known = [
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    ];
    let present = known.iter().any(|p| std::path::Path::new(p).exists());
    if !present {
        crate::support::skip(
            true,
            "the Chinese part: no CJK font here (fonts-droid-fallback)",
        );
    }
    present
}

#[test]
fn reports_are_written_whole_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let token = admin(&services);
    let cleo = clinician(&services, &token);
    let p = services
        .create_patient(
            &cleo,
            &PatientInput {
                record_number: "HC-9".into(),
                name: "María <b>Ibáñez</b>".into(),
                birth_year: Some(1958),
                notes: String::new(),
            },
        )
        .unwrap();
    services.assess(&cleo, Some(p.id), &patient()).unwrap();

    let pdf = dir.path().join("report.pdf");
    services
        .export_report(
            &cleo,
            p.id,
            Format::Pdf,
            Language::Spanish,
            Units::Conventional,
            &pdf,
        )
        .unwrap();
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = support::pdf_text(&pdf) {
        assert!(text.contains("María <b>Ibáñez</b>"), "{text}");
        assert!(text.contains("240 mg/dL"), "in the chosen units: {text}");
        assert!(text.contains("Informe de riesgo cardíaco"), "{text}");
    }

    let html = dir.path().join("report.html");
    services
        .export_report(
            &cleo,
            p.id,
            Format::Html,
            Language::English,
            Units::Original,
            &html,
        )
        .unwrap();
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("María &lt;b&gt;Ibáñez&lt;/b&gt;"));
    assert!(text.contains("High risk"));
    assert!(text.contains("Cleo Clinician"), "printed by");

    let e = services
        .export_report(
            &cleo,
            999,
            Format::Pdf,
            Language::English,
            Units::Original,
            &dir.path().join("x.pdf"),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(!dir.path().join("x.pdf").exists());
    let log = actions(&services, &token, "report.exported");
    assert_eq!(log.len(), 2, "{log:?}");
}

#[test]
fn a_report_prints_names_in_every_script_and_wraps_long_ones() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::open(dir.path(), &crate::support::test_key()).unwrap();
    let token = admin(&services);
    let names = [
        "Łukasz Nguyễn-Владимиров 李",
        "محمد بن سلمان",
        "Maximiliana Eufrosina Wilhelmina Hernández-Gutiérrez de la Santísima Trinidad y Nguyễn",
    ];
    for (i, name) in names.iter().enumerate() {
        let p = services
            .create_patient(
                &token,
                &PatientInput {
                    record_number: format!("HC-{i}"),
                    name: name.to_string(),
                    birth_year: Some(1970),
                    notes: String::new(),
                },
            )
            .unwrap();
        services.assess(&token, Some(p.id), &patient()).unwrap();
        let pdf = dir.path().join(format!("report-{i}.pdf"));
        services
            .export_report(
                &token,
                p.id,
                Format::Pdf,
                Language::English,
                Units::Original,
                &pdf,
            )
            .unwrap();
        let Some(text) = support::pdf_text(&pdf) else {
            return;
        };
        // pdftotext marks right-to-left text with bidi controls; the letters are what count.
        let text: String = text
            .chars()
            .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
            .collect();
        assert!(!text.contains('?'), "no character replaced: {text}");
        // Wrapped lines come out as separate lines; compare words, in order.
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut expected: Vec<&str> = name.split_whitespace().collect();
        if name.contains('李') && !cjk_font_present() {
            expected.retain(|w| *w != "李");
        }
        let found = words
            .windows(expected.len())
            .any(|w| w == expected.as_slice());
        assert!(found, "{name:?} not intact in: {text}");
        if i == 2 {
            let first = text.lines().find(|l| l.contains("Maximiliana")).unwrap();
            assert!(
                !first.contains("Nguyễn"),
                "a long name wraps in its box: {text}"
            );
        }
    }
}
