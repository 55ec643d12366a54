//! The one-page patient report: its content worded once here, then rendered as a
//! standalone HTML file (`html`) or an A4 PDF (`pdf`, fonts in `fonts`).

pub use cardiorisk_contract::ReportContext as Context;
use cardiorisk_contract::{PatientRecord, Report};

mod fonts;
mod html;
mod pdf;

pub use cardiorisk_contract::ReportFormat as Format;

/// The report in `format`; an error only when the PDF writer fails.
pub fn render(rec: &PatientRecord, cx: &Context, format: Format) -> Result<Vec<u8>, String> {
    let c = Report::new(rec, cx);
    match format {
        Format::Html => Ok(html::html(&c).into_bytes()),
        Format::Pdf => pdf::pdf(&c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardiorisk_contract::{
        AssessmentRecord, Contribution, Language, Measurements, Patient, PatientRecord, RiskBand,
        Units, FIELDS,
    };

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

    const UTC: cardiorisk_contract::FixedZone = cardiorisk_contract::FixedZone(0);

    fn cx(spanish: bool) -> Context<'static> {
        let (language, units) = if spanish {
            (Language::Spanish, Units::Conventional)
        } else {
            (Language::English, Units::Original)
        };
        Context {
            language,
            units,
            printed_by: "Ada Admin",
            printed_at: "2026-11-29T12:00:00.000Z",
            zone: &UTC,
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
