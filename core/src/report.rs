//! The one-page patient report as a standalone HTML file or a PDF (written here,
//! with the PDF standard Helvetica fonts, so nothing is fetched or embedded).

use cardiorisk_contract::{
    percent_text, AssessmentRecord, FieldKind, PatientRecord, RiskBand, FIELDS,
};

/// Assessments listed in the report's history table, newest first.
const HISTORY_ROWS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Pdf,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }
}

/// Who printed the report and when, in the chosen language ("en" or "es").
pub struct Context<'a> {
    pub spanish: bool,
    /// mg/dL and mmHg instead of the original g/L and hundreds of mmHg.
    pub conventional_units: bool,
    pub printed_by: &'a str,
    /// UTC, RFC 3339.
    pub printed_at: &'a str,
}

impl Context<'_> {
    fn t(&self, en: &'static str, es: &'static str) -> &'static str {
        if self.spanish {
            es
        } else {
            en
        }
    }

    fn band(&self, band: RiskBand) -> &'static str {
        band.label(self.spanish)
    }

    fn value(&self, i: usize, v: f64) -> String {
        let spec = FIELDS[i];
        match spec.kind {
            FieldKind::Flag if v == 1.0 => self.t("yes", "sí").to_string(),
            FieldKind::Flag => "no".to_string(),
            FieldKind::Whole => format!("{v:.0} {}", self.t("years", "años")),
            FieldKind::Decimal if self.conventional_units => {
                let unit = if spec.name == "presion" {
                    "mmHg"
                } else {
                    "mg/dL"
                };
                format!("{:.0} {unit}", v * 100.0)
            }
            FieldKind::Decimal => format!("{v:.1} {}", spec.unit),
        }
    }
}

fn day_time(rfc3339: &str) -> String {
    rfc3339.replace('T', " ").chars().take(16).collect()
}

fn points(value: f64) -> String {
    format!("{:+.1} pts", (value * 1000.0).round() / 10.0 + 0.0)
}

/// The report's lines of content, shared by both formats.
struct Content {
    title: &'static str,
    patient: String,
    patient_line: String,
    printed: String,
    latest_heading: Option<String>,
    result: Option<(String, &'static str, RiskBand, String)>,
    measurements: Vec<(String, String, String)>,
    history: Vec<[String; 4]>,
    disclaimer: &'static str,
}

fn content(rec: &PatientRecord, cx: &Context) -> Content {
    let p = &rec.patient;
    let latest: Option<&AssessmentRecord> = rec.history.last();
    let born = p
        .birth_year
        .map(|y| format!(" · {} {y}", cx.t("born", "nacido en")))
        .unwrap_or_default();
    Content {
        title: cx.t("Cardiac risk report", "Informe de riesgo cardíaco"),
        patient: p.name.clone(),
        patient_line: format!("{} {}{born}", cx.t("Record no.", "N.º historia"), p.record_number),
        printed: format!(
            "CardioRisk · {} {} UTC {} {}",
            cx.t("printed", "impreso"),
            day_time(cx.printed_at),
            cx.t("by", "por"),
            cx.printed_by
        ),
        latest_heading: latest.map(|a| {
            format!(
                "{} {} UTC",
                cx.t("Latest assessment,", "Última evaluación,"),
                day_time(&a.created_at)
            )
        }),
        result: latest.map(|a| {
            (
                percent_text(a.probability),
                cx.band(a.band),
                a.band,
                format!(
                    "{}: {} · {} {} · {} {}",
                    cx.t("Cardiac risk", "Riesgo cardíaco"),
                    if a.at_risk { cx.t("yes", "sí") } else { "no" },
                    cx.t("model", "modelo"),
                    a.model_version,
                    cx.t("assessed by", "evaluado por"),
                    a.username.as_deref().unwrap_or("—")
                ),
            )
        }),
        measurements: latest
            .map(|a| {
                FIELDS
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        (
                            cx.t(f.label, f.label_es).to_string(),
                            cx.value(i, a.inputs.to_array()[i]),
                            a.contributions
                                .get(i)
                                .map(|c| points(c.value))
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        history: rec
            .history
            .iter()
            .rev()
            .take(HISTORY_ROWS)
            .map(|a| {
                [
                    day_time(&a.created_at),
                    percent_text(a.probability),
                    cx.band(a.band).to_string(),
                    a.username.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        disclaimer: cx.t(
            "Estimated by a statistical model from six measurements; it supports and does not replace clinical judgement.",
            "Estimación de un modelo estadístico a partir de seis mediciones; apoya y no sustituye el juicio clínico.",
        ),
    }
}

pub fn render(rec: &PatientRecord, cx: &Context, format: Format) -> Vec<u8> {
    let c = content(rec, cx);
    match format {
        Format::Html => html(&c, cx).into_bytes(),
        Format::Pdf => pdf(&c, cx),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(c: &Content, cx: &Context) -> String {
    let mut body = String::new();
    body.push_str(&format!(
        "<header><div><h1>{}</h1><p class=\"meta\">{}</p></div><div class=\"patient\"><strong>{}</strong><br>{}</div></header>\n",
        escape(c.title),
        escape(&c.printed),
        escape(&c.patient),
        escape(&c.patient_line)
    ));
    match (&c.latest_heading, &c.result) {
        (Some(heading), Some((pct, band, kind, line))) => {
            body.push_str(&format!(
                "<h2>{}</h2>\n<p class=\"band {}\"><span class=\"pct\">{}</span> {}</p>\n<p>{}</p>\n",
                escape(heading),
                kind.as_str(),
                escape(pct),
                escape(band),
                escape(line)
            ));
            body.push_str(&format!(
                "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
                cx.t("Measurement", "Medición"),
                cx.t("Value", "Valor"),
                cx.t("Contribution", "Contribución")
            ));
            for (label, value, contribution) in &c.measurements {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    escape(label),
                    escape(value),
                    escape(contribution)
                ));
            }
            body.push_str("</tbody></table>\n");
        }
        _ => body.push_str(&format!(
            "<p>{}</p>\n",
            cx.t(
                "No assessments for this patient yet.",
                "Este paciente aún no tiene evaluaciones."
            )
        )),
    }
    if !c.history.is_empty() {
        body.push_str(&format!(
            "<h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
            cx.t("Recent history", "Historial reciente"),
            cx.t("When (UTC)", "Cuándo (UTC)"),
            cx.t("Risk", "Riesgo"),
            cx.t("Band", "Categoría"),
            cx.t("By", "Por")
        ));
        for row in &c.history {
            body.push_str("<tr>");
            for cell in row {
                body.push_str(&format!("<td>{}</td>", escape(cell)));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</tbody></table>\n");
    }
    body.push_str(&format!("<p class=\"meta\">{}</p>\n", escape(c.disclaimer)));
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{} — {}</title><style>{}</style></head><body>\n{}</body></html>\n",
        if cx.spanish { "es" } else { "en" },
        escape(c.title),
        escape(&c.patient),
        STYLE,
        body
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;color:#1d2430;max-width:760px;margin:2em auto;font-size:14px}\
header{display:flex;justify-content:space-between;border-bottom:2px solid #14324f;padding-bottom:.6em}\
h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:1.2em 0 .4em}.meta{color:#5b6675;font-size:.85em}\
.patient{text-align:right}.band{padding:.5em .8em;border-radius:6px;font-weight:600}.pct{font-size:1.8em}\
.low{background:#e6f4ea;color:#1e7a3c}.moderate{background:#fff4dc;color:#8a5a00}.high{background:#fdecea;color:#b3261e}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #d5dbe3}\
@media print{body{margin:0}}";

/// Text in the PDF's WinAnsiEncoding, escaped for a string literal.
fn pdf_text(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for ch in text.chars() {
        let byte = match ch {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                ch as u8
            }
            ' '..='~' => ch as u8,
            '\u{a0}'..='\u{ff}' => ch as u32 as u8,
            '–' => 0x96,
            '—' => 0x97,
            '€' => 0x80,
            '‘' | '’' => b'\'',
            '“' | '”' => b'"',
            _ => b'?',
        };
        out.push(byte);
    }
    out
}

/// Drawing operations of one A4 page, top-down coordinates.
struct Page {
    ops: Vec<u8>,
}

const PAGE_W: f64 = 595.0;
const PAGE_H: f64 = 842.0;
const MARGIN: f64 = 56.0;

impl Page {
    fn text(&mut self, x: f64, top: f64, size: f64, bold: bool, text: &str) {
        let font = if bold { "F2" } else { "F1" };
        self.ops.extend_from_slice(
            format!("BT /{font} {size} Tf {x:.1} {:.1} Td (", PAGE_H - top).as_bytes(),
        );
        self.ops.extend(pdf_text(text));
        self.ops.extend_from_slice(b") Tj ET\n");
    }

    fn colour(&mut self, (r, g, b): (u8, u8, u8)) {
        self.ops.extend_from_slice(
            format!(
                "{:.3} {:.3} {:.3} rg\n",
                f64::from(r) / 255.0,
                f64::from(g) / 255.0,
                f64::from(b) / 255.0
            )
            .as_bytes(),
        );
    }

    fn rect(&mut self, x: f64, top: f64, w: f64, h: f64, fill: (u8, u8, u8)) {
        self.colour(fill);
        self.ops.extend_from_slice(
            format!("{x:.1} {:.1} {w:.1} {h:.1} re f\n", PAGE_H - top - h).as_bytes(),
        );
        self.colour((29, 36, 48));
    }

    fn rule(&mut self, top: f64) {
        self.rect(MARGIN, top, PAGE_W - 2.0 * MARGIN, 0.7, (213, 219, 227));
    }
}

fn band_colours(band: RiskBand) -> ((u8, u8, u8), (u8, u8, u8)) {
    match band {
        RiskBand::Low => ((230, 244, 234), (30, 122, 60)),
        RiskBand::Moderate => ((255, 244, 220), (138, 90, 0)),
        RiskBand::High => ((253, 236, 234), (179, 38, 30)),
    }
}

fn pdf(c: &Content, cx: &Context) -> Vec<u8> {
    let mut page = Page { ops: Vec::new() };
    let right = PAGE_W - MARGIN;
    page.text(MARGIN, 70.0, 20.0, true, c.title);
    page.text(MARGIN, 88.0, 9.0, false, &c.printed);
    page.text(right - 200.0, 66.0, 12.0, true, &c.patient);
    page.text(right - 200.0, 82.0, 9.0, false, &c.patient_line);
    page.rect(MARGIN, 98.0, PAGE_W - 2.0 * MARGIN, 1.5, (20, 50, 79));
    let mut y = 130.0;
    match (&c.latest_heading, &c.result) {
        (Some(heading), Some((pct, band, kind, line))) => {
            page.text(MARGIN, y, 13.0, true, heading);
            y += 14.0;
            let (bg, ink) = band_colours(*kind);
            page.rect(MARGIN, y, PAGE_W - 2.0 * MARGIN, 44.0, bg);
            page.colour(ink);
            page.text(MARGIN + 12.0, y + 31.0, 24.0, true, pct);
            page.text(MARGIN + 150.0, y + 28.0, 14.0, true, band);
            page.colour((29, 36, 48));
            y += 62.0;
            page.text(MARGIN, y, 10.0, false, line);
            y += 26.0;
            let cols = [MARGIN, MARGIN + 200.0, MARGIN + 330.0];
            page.text(cols[0], y, 10.0, true, cx.t("Measurement", "Medición"));
            page.text(cols[1], y, 10.0, true, cx.t("Value", "Valor"));
            page.text(cols[2], y, 10.0, true, cx.t("Contribution", "Contribución"));
            y += 6.0;
            page.rule(y);
            for (label, value, contribution) in &c.measurements {
                y += 16.0;
                page.text(cols[0], y, 10.0, false, label);
                page.text(cols[1], y, 10.0, false, value);
                page.text(cols[2], y, 10.0, false, contribution);
            }
            y += 6.0;
            page.rule(y);
        }
        _ => {
            page.text(
                MARGIN,
                y,
                11.0,
                false,
                cx.t(
                    "No assessments for this patient yet.",
                    "Este paciente aún no tiene evaluaciones.",
                ),
            );
        }
    }
    if !c.history.is_empty() {
        y += 36.0;
        page.text(
            MARGIN,
            y,
            13.0,
            true,
            cx.t("Recent history", "Historial reciente"),
        );
        y += 20.0;
        let cols = [MARGIN, MARGIN + 130.0, MARGIN + 210.0, MARGIN + 330.0];
        let heads = [
            cx.t("When (UTC)", "Cuándo (UTC)"),
            cx.t("Risk", "Riesgo"),
            cx.t("Band", "Categoría"),
            cx.t("By", "Por"),
        ];
        for (x, h) in cols.iter().zip(heads) {
            page.text(*x, y, 10.0, true, h);
        }
        y += 6.0;
        page.rule(y);
        for row in &c.history {
            y += 16.0;
            for (x, cell) in cols.iter().zip(row) {
                page.text(*x, y, 10.0, false, cell);
            }
        }
    }
    page.text(MARGIN, PAGE_H - 50.0, 8.0, false, c.disclaimer);
    document(&page.ops)
}

/// Wraps one page's content stream into a complete PDF file with its cross-reference table.
fn document(content: &[u8]) -> Vec<u8> {
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
             /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
            content,
            b"\nendstream",
        ]
        .concat(),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardiorisk_contract::{Contribution, Measurements, Patient};

    fn record(name: &str) -> PatientRecord {
        let inputs = Measurements::from_array([2.4, 1.5, 0.9, 61.0, 1.0, 0.0]);
        PatientRecord {
            patient: Patient {
                id: 1,
                record_number: "HC-1".into(),
                name: name.into(),
                birth_year: Some(1964),
                notes: String::new(),
                created_at: "2026-11-01T09:00:00.000Z".into(),
                updated_at: "2026-11-01T09:00:00.000Z".into(),
            },
            history: vec![AssessmentRecord {
                id: 7,
                created_at: "2026-11-02T10:30:00.000Z".into(),
                patient_id: Some(1),
                inputs,
                probability: 0.93,
                at_risk: true,
                band: RiskBand::High,
                contributions: FIELDS
                    .iter()
                    .map(|f| Contribution {
                        field: f.name.into(),
                        value: 0.1,
                    })
                    .collect(),
                model_version: "v1".into(),
                username: Some("ada".into()),
            }],
        }
    }

    fn cx(spanish: bool) -> Context<'static> {
        Context {
            spanish,
            conventional_units: spanish,
            printed_by: "Ada Admin",
            printed_at: "2026-11-29T12:00:00.000Z",
        }
    }

    #[test]
    fn pdf_cross_references_point_at_their_objects() {
        let bytes = render(&record("José Núñez (test)"), &cx(true), Format::Pdf);
        assert!(bytes.starts_with(b"%PDF-1.4\n"));
        assert!(bytes.ends_with(b"%%EOF\n"));
        let marker = b"startxref\n";
        let at = bytes
            .windows(marker.len())
            .rposition(|w| w == marker)
            .expect("startxref");
        let tail = std::str::from_utf8(&bytes[at + marker.len()..]).unwrap();
        let start: usize = tail.lines().next().unwrap().parse().unwrap();
        let table = std::str::from_utf8(&bytes[start..]).unwrap();
        assert!(table.starts_with("xref\n0 7\n"));
        for (i, line) in table.lines().skip(3).take(6).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            let expected = format!("{} 0 obj", i + 1);
            assert!(
                bytes[offset..].starts_with(expected.as_bytes()),
                "object {}",
                i + 1
            );
        }
        let text = String::from_utf8_lossy(&bytes);
        // Spanish letters in WinAnsiEncoding; parentheses escaped.
        let name = [b"Jos\xe9 N\xfa\xf1ez \\(test\\)".as_slice()].concat();
        assert!(bytes.windows(name.len()).any(|w| w == name.as_slice()));
        assert!(text.contains("Informe de riesgo card"));
        assert!(text.contains("(240 mg/dL) Tj"), "conventional units");
        assert!(text.contains("93.0 %") || text.contains("93 %"));
    }

    #[test]
    fn html_escapes_what_people_typed() {
        let bytes = render(
            &record("<script>alert(1)</script>"),
            &cx(false),
            Format::Html,
        );
        let html = String::from_utf8(bytes).unwrap();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Cardiac risk report"));
        assert!(html.contains("Total cholesterol</td><td>2.4 g/L</td><td>+10.0 pts"));
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn a_patient_without_assessments_still_gets_a_page() {
        let mut rec = record("Ana");
        rec.history.clear();
        let html = String::from_utf8(render(&rec, &cx(false), Format::Html)).unwrap();
        assert!(html.contains("No assessments for this patient yet."));
        let pdf = render(&rec, &cx(false), Format::Pdf);
        assert!(pdf.ends_with(b"%%EOF\n"));
    }
}
