//! The one-page patient report: its content worded once here, then rendered as a
//! standalone HTML file (`html`) or an A4 PDF (`pdf`, fonts in `fonts`).

use cardiorisk_contract::{
    percent_text, AssessmentRecord, FieldKind, PatientRecord, RiskBand, FIELDS,
};

mod fonts;
mod html;
mod pdf;

/// Assessments listed in the report's history table, newest first.
const HISTORY_ROWS: usize = 8;

pub use cardiorisk_contract::ReportFormat as Format;

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
    measurement_heads: [&'static str; 3],
    measurements: Vec<(String, String, String)>,
    /// Shown instead of the latest result when there is none.
    no_assessments: &'static str,
    history_title: &'static str,
    history_heads: [&'static str; 4],
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
        measurement_heads: [
            cx.t("Measurement", "Medición"),
            cx.t("Value", "Valor"),
            cx.t("Contribution", "Contribución"),
        ],
        no_assessments: cx.t(
            "No assessments for this patient yet.",
            "Este paciente aún no tiene evaluaciones.",
        ),
        history_title: cx.t("Recent history", "Historial reciente"),
        history_heads: [
            cx.t("When (UTC)", "Cuándo (UTC)"),
            cx.t("Risk", "Riesgo"),
            cx.t("Band", "Categoría"),
            cx.t("By", "Por"),
        ],
        disclaimer: cx.t(
            "Estimated by a statistical model from six measurements; it supports and does not replace clinical judgement.",
            "Estimación de un modelo estadístico a partir de seis mediciones; apoya y no sustituye el juicio clínico.",
        ),
    }
}

impl Content {
    /// Everything the report prints, so the PDF can find a font for each character.
    fn every_text(&self) -> String {
        let mut all = vec![self.title, &self.patient, &self.patient_line, &self.printed];
        all.extend(self.latest_heading.as_deref());
        if let Some((pct, band, _, line)) = &self.result {
            all.extend([pct.as_str(), band, line.as_str()]);
        }
        all.extend(self.measurement_heads);
        all.extend([self.no_assessments, self.history_title]);
        all.extend(self.history_heads);
        for (a, b, c) in &self.measurements {
            all.extend([a.as_str(), b, c]);
        }
        for row in &self.history {
            all.extend(row.iter().map(String::as_str));
        }
        all.push(self.disclaimer);
        all.join("\n")
    }
}

/// The report in `format`; an error only when the PDF writer fails.
pub fn render(rec: &PatientRecord, cx: &Context, format: Format) -> Result<Vec<u8>, String> {
    let c = content(rec, cx);
    match format {
        Format::Html => Ok(html::html(&c, cx).into_bytes()),
        Format::Pdf => pdf::pdf(&c, cx),
    }
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
    fn a_pdf_embeds_its_fonts_and_says_who_it_is_for() {
        let bytes = render(&record("José Núñez (test)"), &cx(true), Format::Pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("/FontFile2"), "the font is embedded");
        assert!(!text.contains("/Helvetica"), "no unembedded standard fonts");
        assert!(text.contains("DejaVuSans"), "the subset names its font");
    }

    #[test]
    fn html_escapes_what_people_typed() {
        let bytes = render(
            &record("<script>alert(1)</script>"),
            &cx(false),
            Format::Html,
        )
        .unwrap();
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
        let html = String::from_utf8(render(&rec, &cx(false), Format::Html).unwrap()).unwrap();
        assert!(html.contains("No assessments for this patient yet."));
        let pdf = render(&rec, &cx(false), Format::Pdf).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
