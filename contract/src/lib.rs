//! The one definition of CardioRisk's inputs, their valid ranges and validation,
//! and of the IPC types exchanged between the UI (wasm) and the backend.
//!
//! It depends on serde and the message catalogues only, so that the Leptos UI, the
//! Tauri backend, the CLI and the REST gateway all compile the same rules and word
//! them the same way.

pub use cardiorisk_i18n::Language;
use cardiorisk_i18n::{format as word, text};
use serde::{Deserialize, Serialize};
use std::fmt;

#[macro_use]
mod names;
mod accounts;
mod audit;
mod commands;
mod decimal;
mod gateway;
mod ipc;
mod models;
mod patients;
mod report;
mod time;
pub use accounts::*;
pub use audit::*;
pub use commands::{command, Command};
pub use decimal::parse_number;
pub use gateway::*;
pub use ipc::*;
pub use models::*;
pub use patients::*;
pub use report::*;
pub use time::*;

/// How a field's values are constrained beyond its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    /// Any finite decimal within the range.
    Decimal,
    /// A whole number within the range.
    Whole,
    /// Exactly 0 (no) or 1 (yes).
    Flag,
}

/// One input of the model, as named in the original assignment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FieldSpec {
    /// The original (Spanish) column and parameter name; its label and unit are in
    /// the catalogues as `label-<name>` and `unit-<name>`.
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
    pub kind: FieldKind,
}

impl FieldSpec {
    /// The label people read, e.g. "Total cholesterol".
    pub fn label(&self, language: Language) -> String {
        text(language, &format!("label-{}", self.name))
    }

    /// How many shown units make one stored unit: 100 for the decimal measurements in
    /// conventional units (mg/dL, mmHg), 1 otherwise.
    pub fn factor(&self, units: Units) -> f64 {
        if units == Units::Conventional && self.kind == FieldKind::Decimal {
            100.0
        } else {
            1.0
        }
    }

    /// The unit as shown, e.g. "g/L" or "mg/dL"; empty for flags.
    pub fn unit(&self, language: Language, units: Units) -> String {
        match self.kind {
            FieldKind::Flag => String::new(),
            FieldKind::Decimal if units == Units::Conventional => {
                text(language, &format!("unit-conventional-{}", self.name))
            }
            _ => text(language, &format!("unit-{}", self.name)),
        }
    }

    /// A stored value as shown, without its unit: "2.4" ("2,4" in Spanish), "240" in mg/dL, "61", or
    /// "yes"/"no" for a flag.
    pub fn shown(&self, language: Language, units: Units, value: f64) -> String {
        let factor = self.factor(units);
        match self.kind {
            FieldKind::Flag => text(language, if value == 1.0 { "word-yes" } else { "word-no" }),
            FieldKind::Whole => format!("{value:.0}"),
            FieldKind::Decimal if factor > 1.0 => format!("{:.0}", value * factor),
            FieldKind::Decimal => localised_number(language, format!("{value:.1}")),
        }
    }

    /// The valid range in words, e.g. "1.0 to 3.0 g/L", "100 to 300 mg/dL" or "0 or 1".
    pub fn range_text(&self, language: Language, units: Units) -> String {
        let factor = self.factor(units);
        let (min, max) = match self.kind {
            FieldKind::Flag => return text(language, "range-flag"),
            FieldKind::Whole => (format!("{}", self.min), format!("{}", self.max)),
            FieldKind::Decimal if factor > 1.0 => (
                format!("{:.0}", self.min * factor),
                format!("{:.0}", self.max * factor),
            ),
            FieldKind::Decimal => (
                localised_number(language, format!("{:.1}", self.min)),
                localised_number(language, format!("{:.1}", self.max)),
            ),
        };
        let unit = self.unit(language, units);
        let key = match self.kind {
            FieldKind::Whole => "range-whole",
            _ if unit.is_empty() => "range-decimal-no-unit",
            _ => "range-decimal",
        };
        word(
            language,
            key,
            &[("min", &min), ("max", &max), ("unit", &unit)],
        )
    }

    /// Checks one already-parsed value against this field's rules.
    pub fn check(&self, value: f64) -> Result<(), Problem> {
        if !value.is_finite() {
            return Err(Problem::NotFinite);
        }
        match self.kind {
            FieldKind::Flag if value != 0.0 && value != 1.0 => Err(Problem::NotFlag),
            // `value.fract() != 0.0` without its call: from 2^53 up every f64 is whole.
            FieldKind::Whole
                if value.abs() < 9_007_199_254_740_992.0 && value != (value as i64) as f64 =>
            {
                Err(Problem::NotWhole)
            }
            _ if value < self.min || value > self.max => Err(Problem::OutOfRange),
            _ => Ok(()),
        }
    }

    /// Parses and checks one textual value (CLI argument, query parameter, CSV cell, form field).
    pub fn parse(&self, raw: Option<&str>) -> Result<f64, Problem> {
        let text = raw.map(trim).unwrap_or("");
        if text.is_empty() {
            return Err(Problem::Missing);
        }
        let value = parse_number(text).ok_or(Problem::NotANumber)?;
        self.check(value)?;
        Ok(value)
    }
}

/// `text.trim()`, without its Unicode scan when both ends are plainly not space.
fn trim(text: &str) -> &str {
    let plain = |b: &u8| b.is_ascii() && !char::from(*b).is_whitespace();
    match text.as_bytes() {
        [first, .., last] if plain(first) && plain(last) => text,
        [only] if plain(only) => text,
        _ => text.trim(),
    }
}

pub const COLESTEROL: FieldSpec = FieldSpec {
    name: "colesterol",
    min: 1.0,
    max: 3.0,
    kind: FieldKind::Decimal,
};
pub const PRESION: FieldSpec = FieldSpec {
    name: "presion",
    min: 0.6,
    max: 1.8,
    kind: FieldKind::Decimal,
};
pub const GLUCOSA: FieldSpec = FieldSpec {
    name: "glucosa",
    min: 0.5,
    max: 2.0,
    kind: FieldKind::Decimal,
};
pub const EDAD: FieldSpec = FieldSpec {
    name: "edad",
    min: 0.0,
    max: 99.0,
    kind: FieldKind::Whole,
};
pub const SOBREPESO: FieldSpec = FieldSpec {
    name: "sobrepeso",
    min: 0.0,
    max: 1.0,
    kind: FieldKind::Flag,
};
pub const TABAQUISMO: FieldSpec = FieldSpec {
    name: "tabaquismo",
    min: 0.0,
    max: 1.0,
    kind: FieldKind::Flag,
};

/// The six inputs in the model's feature order.
pub const FIELDS: [FieldSpec; 6] = [COLESTEROL, PRESION, GLUCOSA, EDAD, SOBREPESO, TABAQUISMO];

/// The reference patient contributions are measured against: a healthy 45-year-old
/// with cholesterol 1.8 g/L, pressure 1.2, glucose 0.9 g/L, not overweight, not smoking.
pub const REFERENCE_PATIENT: [f64; 6] = [1.8, 1.2, 0.9, 45.0, 0.0, 0.0];

/// Name of the label column in training data.
pub const LABEL: &str = "riesgo_cardiaco";

/// What is wrong with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    Missing,
    NotANumber,
    NotFinite,
    OutOfRange,
    NotWhole,
    NotFlag,
    /// Any other rule of a non-measurement field; the message says which.
    Invalid,
}

/// One offending field, with a message that names it and its valid range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
    /// In English, for logs, the CLI and the gateway; people read [`FieldError::worded`].
    pub message: String,
    /// The rule it broke, worded as `rule-<rule>` in the catalogues; empty for a
    /// measurement, whose text follows from its problem and range.
    #[serde(default)]
    pub rule: String,
    /// The arguments of that rule's text.
    #[serde(default)]
    pub args: Vec<(String, String)>,
}

impl Problem {
    fn key(self) -> &'static str {
        match self {
            Problem::Missing => "problem-missing",
            Problem::NotANumber => "problem-not-a-number",
            Problem::NotFinite => "problem-not-finite",
            Problem::OutOfRange => "problem-out-of-range",
            Problem::NotWhole => "problem-not-whole",
            Problem::NotFlag => "problem-not-flag",
            Problem::Invalid => "problem-invalid",
        }
    }
}

impl FieldError {
    /// A measurement that broke its rule.
    pub fn new(spec: &FieldSpec, problem: Problem) -> Self {
        FieldError {
            field: spec.name.to_string(),
            problem,
            message: measurement_text(spec, problem, Language::English, Units::Original),
            rule: String::new(),
            args: Vec::new(),
        }
    }

    /// Any other field that broke its rule, worded as `rule-<field>` with `args`.
    pub fn rule(field: &str, args: &[(&str, &str)]) -> Self {
        Self::broke(field, field, args)
    }

    /// `field` broke a rule worded as `rule-<rule>` (several fields can share one).
    pub fn broke(field: &str, rule: &str, args: &[(&str, &str)]) -> Self {
        FieldError {
            field: field.to_string(),
            problem: Problem::Invalid,
            message: word(Language::English, &format!("rule-{rule}"), args),
            rule: rule.to_string(),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The message in `language`, with ranges in `units`.
    pub fn worded(&self, language: Language, units: Units) -> String {
        let measurement = FIELDS.iter().find(|s| s.name == self.field);
        match measurement {
            Some(spec) if self.problem != Problem::Invalid => {
                measurement_text(spec, self.problem, language, units)
            }
            _ => {
                let key = format!("rule-{}", self.rule);
                if cardiorisk_i18n::has(language, &key) {
                    let args: Vec<(&str, &str)> = self
                        .args
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    word(language, &key, &args)
                } else {
                    self.message.clone()
                }
            }
        }
    }
}

fn measurement_text(
    spec: &FieldSpec,
    problem: Problem,
    language: Language,
    units: Units,
) -> String {
    word(
        language,
        "field-error",
        &[
            ("field", spec.name),
            ("problem", &text(language, problem.key())),
            ("range", &spec.range_text(language, units)),
        ],
    )
}

/// Every offending field of one set of inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.iter().map(|e| e.message.as_str()).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// The six measurements of one patient, in the original units.
/// Flags and age are carried as numbers, as in the original data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    pub colesterol: f64,
    pub presion: f64,
    pub glucosa: f64,
    pub edad: f64,
    pub sobrepeso: f64,
    pub tabaquismo: f64,
}

impl Measurements {
    pub fn from_array(v: [f64; 6]) -> Self {
        Measurements {
            colesterol: v[0],
            presion: v[1],
            glucosa: v[2],
            edad: v[3],
            sobrepeso: v[4],
            tabaquismo: v[5],
        }
    }

    pub fn to_array(&self) -> [f64; 6] {
        [
            self.colesterol,
            self.presion,
            self.glucosa,
            self.edad,
            self.sobrepeso,
            self.tabaquismo,
        ]
    }

    /// Checks every field; the error lists every offending one.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let errors: Vec<FieldError> = FIELDS
            .iter()
            .zip(self.to_array())
            .filter_map(|(spec, v)| spec.check(v).err().map(|p| FieldError::new(spec, p)))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// Parses and checks textual values looked up by field name.
    pub fn parse<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Result<Self, ValidationErrors> {
        let mut values = [0.0; 6];
        let mut errors = Vec::new();
        for (i, spec) in FIELDS.iter().enumerate() {
            match spec.parse(lookup(spec.name)) {
                Ok(v) => values[i] = v,
                Err(p) => errors.push(FieldError::new(spec, p)),
            }
        }
        if errors.is_empty() {
            Ok(Self::from_array(values))
        } else {
            Err(ValidationErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trimming_matches_the_standard_trim() {
        for text in [
            "",
            " ",
            "2.5",
            " 2.5",
            "2.5 ",
            "\t2\n",
            "\u{b}2\u{b}",
            "2\u{85}",
            "\u{a0}2",
            "\u{3000}2.5\u{3000}",
            "ñ",
            "2ñ",
            "a",
            "\r",
            "x\u{2028}",
        ] {
            assert_eq!(super::trim(text), text.trim(), "{text:?}");
        }
    }

    use super::*;

    fn good() -> Measurements {
        Measurements::from_array([2.0, 1.2, 1.0, 50.0, 0.0, 1.0])
    }

    #[test]
    fn accepts_range_edges() {
        assert!(Measurements::from_array([1.0, 0.6, 0.5, 0.0, 0.0, 0.0])
            .validate()
            .is_ok());
        assert!(Measurements::from_array([3.0, 1.8, 2.0, 99.0, 1.0, 1.0])
            .validate()
            .is_ok());
    }

    #[test]
    fn names_every_offending_field_with_its_range() {
        let mut m = good();
        m.colesterol = 3.01;
        m.edad = 45.5;
        m.tabaquismo = 2.0;
        m.glucosa = f64::NAN;
        let err = m.validate().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["colesterol", "glucosa", "edad", "tabaquismo"]);
        let text = err.to_string();
        assert!(text.contains("colesterol is out of range: valid is 1.0 to 3.0 g/L"));
        assert!(text.contains("edad must be a whole number: valid is a whole number from 0 to 99"));
        assert!(text.contains("tabaquismo must be 0 or 1"));
        assert!(text.contains("glucosa is not a finite number"));
    }

    #[test]
    fn parse_reports_missing_and_malformed() {
        let err = Measurements::parse(|name| match name {
            "colesterol" => Some("abc"),
            "presion" => Some(" "),
            "glucosa" => Some("1.0"),
            "edad" => Some("-1"),
            "sobrepeso" => Some("1"),
            _ => None,
        })
        .unwrap_err();
        let problems: Vec<(&str, Problem)> = err
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.problem))
            .collect();
        assert_eq!(
            problems,
            [
                ("colesterol", Problem::NotANumber),
                ("presion", Problem::Missing),
                ("edad", Problem::OutOfRange),
                ("tabaquismo", Problem::Missing),
            ]
        );
    }

    #[test]
    fn parse_accepts_good_text() {
        let m = Measurements::parse(|name| {
            Some(match name {
                "colesterol" => "2.0",
                "presion" => "1.2",
                "glucosa" => "1.0",
                "edad" => "50",
                "sobrepeso" => "0",
                _ => "1",
            })
        })
        .unwrap();
        assert_eq!(m, good());
    }

    #[test]
    fn a_whole_field_refuses_a_fraction_and_only_a_fraction() {
        for v in [30.5, 0.1, -0.5, 99.999_999_9, 4_503_599_627_370_495.5] {
            assert_eq!(EDAD.check(v), Err(Problem::NotWhole), "{v}");
        }
        for v in [0.0, 30.0, 99.0] {
            assert_eq!(EDAD.check(v), Ok(()), "{v}");
        }
        // Every number from 2^53 up is whole; so are the largest and most negative.
        for v in [
            -1.0,
            9_007_199_254_740_992.0,
            1e300,
            f64::MAX,
            -f64::MAX,
            1e19,
        ] {
            assert_eq!(EDAD.check(v), Err(Problem::OutOfRange), "{v}");
        }
    }

    #[test]
    fn rejects_infinity_text() {
        assert_eq!(COLESTEROL.parse(Some("inf")), Err(Problem::NotFinite));
    }
}
