//! The one-page patient report as people read it, worded once: the UI's report page,
//! the HTML file and the PDF all render this.

use crate::FIELDS;
use crate::{localised_number, percent_text, time_text, zone_text, Zone};
use crate::{AssessmentRecord, FieldKind, Language, PatientRecord, RiskBand, Units};
use cardiorisk_i18n::text;

/// Assessments listed in the report's history table, newest first.
pub const HISTORY_ROWS: usize = 8;

/// Who printed the report, when, and how: language and units.
pub struct ReportContext<'a> {
    pub language: Language,
    pub units: Units,
    pub printed_by: &'a str,
    /// UTC, RFC 3339.
    pub printed_at: &'a str,
    /// The computer's time zone: every time is printed in it, and named.
    pub zone: &'a dyn Zone,
}

/// The latest assessment's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportResult {
    pub percent: String,
    pub band_label: String,
    pub band: RiskBand,
    /// "Cardiac risk: yes · model v1 · assessed by ada".
    pub line: String,
}

/// Every line of the report, in the chosen language and units.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub language: Language,
    pub title: String,
    pub patient: String,
    pub patient_line: String,
    pub printed: String,
    pub latest_heading: Option<String>,
    pub result: Option<ReportResult>,
    pub measurement_heads: [String; 3],
    /// Label, value with unit, contribution in points.
    pub measurements: Vec<[String; 3]>,
    /// Shown instead of the latest result when there is none.
    pub no_assessments: String,
    pub history_title: String,
    pub history_heads: [String; 4],
    /// When, risk, band, by.
    pub history: Vec<[String; 4]>,
    pub disclaimer: String,
}

/// A contribution in percentage points, "+1.5 pts" ("+1,5 pts" in Spanish).
pub fn points(language: Language, value: f64) -> String {
    let number = format!("{:+.1}", (value * 1000.0).round() / 10.0 + 0.0);
    format!("{} pts", localised_number(language, number))
}

/// A stored value as shown with its unit: "2.4 g/L", "240 mg/dL", "61 years", "yes".
pub fn value_text(language: Language, units: Units, field: usize, value: f64) -> String {
    let spec = FIELDS[field];
    let number = spec.shown(language, units, value);
    match spec.kind {
        FieldKind::Flag => number,
        _ => format!("{number} {}", spec.unit(language, units)),
    }
}

impl Report {
    pub fn new(rec: &PatientRecord, cx: &ReportContext) -> Report {
        let t = |key: &str| text(cx.language, key);
        let when = |at: &str| time_text(cx.language, cx.zone, at);
        let p = &rec.patient;
        let latest: Option<&AssessmentRecord> = rec.history.last();
        let born = p
            .birth_year
            .map(|y| format!(" · {} {y}", t("report-born")))
            .unwrap_or_default();
        Report {
            language: cx.language,
            title: t("report-cardiac-risk-report"),
            patient: p.name.clone(),
            patient_line: format!("{} {}{born}", t("report-record-no"), p.record_number),
            printed: format!(
                "CardioRisk · {} {} ({}) {} {}",
                t("report-printed"),
                when(cx.printed_at),
                zone_text(cx.zone, cx.printed_at),
                t("report-by"),
                cx.printed_by
            ),
            latest_heading: latest
                .map(|a| format!("{} {}", t("report-latest-assessment"), when(&a.created_at))),
            result: latest.map(|a| ReportResult {
                percent: percent_text(cx.language, a.probability),
                band_label: a.band.label(cx.language),
                band: a.band,
                line: format!(
                    "{}: {} · {} {} · {} {}",
                    t("report-cardiac-risk"),
                    t(if a.at_risk { "word-yes" } else { "word-no" }),
                    t("report-model"),
                    a.model_version,
                    t("report-assessed-by"),
                    a.username.as_deref().unwrap_or("—")
                ),
            }),
            measurements: latest
                .map(|a| {
                    let values = a.inputs.to_array();
                    FIELDS
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            [
                                f.label(cx.language),
                                value_text(cx.language, cx.units, i, values[i]),
                                a.contributions
                                    .get(i)
                                    .map(|c| points(cx.language, c.value))
                                    .unwrap_or_default(),
                            ]
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
                        when(&a.created_at),
                        percent_text(cx.language, a.probability),
                        a.band.label(cx.language),
                        a.username.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
            measurement_heads: [
                t("report-measurement"),
                t("report-value"),
                t("report-contribution"),
            ],
            no_assessments: t("report-no-assessments-for-this-patient-yet"),
            history_title: t("report-recent-history"),
            history_heads: [
                t("report-when"),
                t("report-risk"),
                t("report-band"),
                t("report-by-2"),
            ],
            disclaimer: t("report-estimated-by-a-statistical-model-from"),
        }
    }

    /// Everything the report prints, so a PDF writer can find a font for each character.
    pub fn every_text(&self) -> String {
        let mut all: Vec<&str> = vec![
            &self.title,
            &self.patient,
            &self.patient_line,
            &self.printed,
        ];
        all.extend(self.latest_heading.as_deref());
        if let Some(r) = &self.result {
            all.extend([r.percent.as_str(), &r.band_label, &r.line]);
        }
        all.extend(self.measurement_heads.iter().map(String::as_str));
        all.extend([self.no_assessments.as_str(), &self.history_title]);
        all.extend(self.history_heads.iter().map(String::as_str));
        for row in &self.measurements {
            all.extend(row.iter().map(String::as_str));
        }
        for row in &self.history {
            all.extend(row.iter().map(String::as_str));
        }
        all.push(&self.disclaimer);
        all.join("\n")
    }
}
