//! Argument and result types of every IPC command, shared by the UI and the backend.

use crate::{FieldError, Measurements, ValidationErrors};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Names of the Tauri commands, so neither side spells them by hand.
pub mod command {
    pub const PREDICT: &str = "predict";
    pub const RECENT_ASSESSMENTS: &str = "recent_assessments";
    pub const MODEL_STATUS: &str = "model_status";
    pub const NEEDS_SETUP: &str = "needs_setup";
    pub const SET_UP: &str = "set_up";
    pub const SIGN_IN: &str = "sign_in";
    pub const SIGN_OUT: &str = "sign_out";
    pub const GATEWAY_STATUS: &str = "gateway_status";
    pub const SET_GATEWAY: &str = "set_gateway";
    pub const CACHE_STATS: &str = "cache_stats";
    pub const WHAT_IF: &str = "what_if";
    pub const PREFERENCES: &str = "preferences";
    pub const SET_PREFERENCE: &str = "set_preference";
    pub const CREATE_PATIENT: &str = "create_patient";
    pub const UPDATE_PATIENT: &str = "update_patient";
    pub const SEARCH_PATIENTS: &str = "search_patients";
    pub const PATIENT_RECORD: &str = "patient_record";
    pub const AUDIT_LOG: &str = "audit_log";
    pub const LIST_USERS: &str = "list_users";
    pub const CREATE_USER: &str = "create_user";
    pub const SET_USER_DISABLED: &str = "set_user_disabled";
    pub const SET_USER_ROLE: &str = "set_user_role";
    pub const RESET_PASSWORD: &str = "reset_password";
    pub const LIST_CLIENTS: &str = "list_clients";
    pub const CREATE_CLIENT: &str = "create_client";
    pub const DELETE_CLIENT: &str = "delete_client";
    pub const LIST_MODELS: &str = "list_models";
    pub const START_TRAINING: &str = "start_training";
    pub const TRAINING_STATUS: &str = "training_status";
    pub const CANCEL_TRAINING: &str = "cancel_training";
    pub const ACTIVATE_MODEL: &str = "activate_model";
    pub const EXPORT_AUDIT: &str = "export_audit";
    pub const BACKUP: &str = "backup";
    pub const RESTORE: &str = "restore";
    pub const EXPORT_REPORT: &str = "export_report";
    pub const DATA_LOCATION: &str = "data_location";
    pub const PRINT_PAGE: &str = "print_page";
}

/// Arguments of [`command::WHAT_IF`]: score without storing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhatIfArgs {
    pub token: String,
    pub inputs: Measurements,
}

/// Display preferences of this installation, chosen by any signed-in user.
pub const PREF_LANGUAGE: &str = "ui.language";
pub const PREF_UNITS: &str = "ui.units";

/// Each preference with its allowed values; the first is the default.
pub const PREFERENCE_VALUES: [(&str, &[&str]); 2] = [
    (PREF_LANGUAGE, &["en", "es"]),
    (PREF_UNITS, &["original", "conventional"]),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    /// "en" or "es".
    pub language: String,
    /// "original" (g/L, ×100 mmHg) or "conventional" (mg/dL, mmHg).
    pub units: String,
}

/// Arguments of [`command::SET_PREFERENCE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreferenceArgs {
    pub token: String,
    pub key: String,
    pub value: String,
}

/// Arguments of a command that takes none.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoArgs {}

/// Which model scores patients now, and any problem loading the chosen one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelStatus {
    pub version: String,
    /// "embedded", "registry" or "fallback".
    pub source: String,
    /// Set when the activated model could not be loaded and the embedded one is used.
    pub warning: Option<String>,
}

/// Arguments of [`command::PREDICT`]: score and store, for a patient or unassigned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictArgs {
    pub token: String,
    pub patient_id: Option<i64>,
    pub inputs: Measurements,
}

/// Arguments of [`command::RECENT_ASSESSMENTS`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecentArgs {
    pub token: String,
    pub limit: u32,
}

/// Largest page the backend returns for one list request.
pub const MAX_PAGE: u32 = 500;

/// Coarse risk category shown to clinicians.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RiskBand {
    Low,
    Moderate,
    High,
}

impl RiskBand {
    /// Low below 0.2, moderate below 0.5 (the decision threshold), high from 0.5.
    pub fn of(probability: f64) -> Self {
        if probability < 0.2 {
            RiskBand::Low
        } else if probability < 0.5 {
            RiskBand::Moderate
        } else {
            RiskBand::High
        }
    }

    /// The band as shown to people, in English or Spanish.
    pub fn label(self, spanish: bool) -> &'static str {
        match (self, spanish) {
            (RiskBand::Low, false) => "Low risk",
            (RiskBand::Moderate, false) => "Moderate risk",
            (RiskBand::High, false) => "High risk",
            (RiskBand::Low, true) => "Riesgo bajo",
            (RiskBand::Moderate, true) => "Riesgo moderado",
            (RiskBand::High, true) => "Riesgo alto",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RiskBand::Low => "low",
            RiskBand::Moderate => "moderate",
            RiskBand::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "low" => Some(RiskBand::Low),
            "moderate" => Some(RiskBand::Moderate),
            "high" => Some(RiskBand::High),
            _ => None,
        }
    }
}

/// How much one input moved this prediction's probability away from the reference
/// patient's (positive raises the risk). See `Predictor::contributions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub field: String,
    pub value: f64,
}

/// What the model says about one set of inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Probability of cardiac risk, 0 to 1.
    pub probability: f64,
    /// `probability >= threshold`.
    pub at_risk: bool,
    pub threshold: f64,
    pub band: RiskBand,
    /// Per input, in the order of `FIELDS`; they sum to `probability` minus the
    /// reference patient's probability.
    pub contributions: Vec<Contribution>,
    pub model_version: String,
    /// Time spent in the model, in milliseconds.
    pub elapsed_ms: f64,
}

/// A stored assessment with who made it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentRecord {
    pub id: i64,
    /// UTC, RFC 3339.
    pub created_at: String,
    pub patient_id: Option<i64>,
    pub inputs: Measurements,
    pub probability: f64,
    pub at_risk: bool,
    pub band: RiskBand,
    pub contributions: Vec<Contribution>,
    pub model_version: String,
    /// Who assessed; `None` for rows from before accounts existed.
    pub username: Option<String>,
}

/// Result of [`command::PREDICT`]: the prediction and the row it was stored as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentOutcome {
    pub prediction: Prediction,
    pub assessment_id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The inputs broke a rule; `fields` says which.
    Invalid,
    /// No session, or it expired: sign in again.
    Unauthenticated,
    /// Signed in, but this role may not do this.
    Forbidden,
    /// The account is locked or disabled.
    Locked,
    /// The id names nothing.
    NotFound,
    /// It clashes with what exists (e.g. a record number in use).
    Conflict,
    /// Something failed inside the app (database, model).
    Internal,
}

/// The error every command returns: a kind, a message for people, and the offending fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl CommandError {
    pub fn internal(message: impl Into<String>) -> Self {
        CommandError {
            kind: ErrorKind::Internal,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// An invalid-input error naming each `(field, message)`.
    pub fn fields(problems: Vec<(String, String)>) -> Self {
        let message = problems
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        CommandError {
            kind: ErrorKind::Invalid,
            message,
            fields: problems
                .into_iter()
                .map(|(field, message)| FieldError {
                    field,
                    problem: crate::Problem::Invalid,
                    message,
                })
                .collect(),
        }
    }
}

impl From<ValidationErrors> for CommandError {
    fn from(e: ValidationErrors) -> Self {
        CommandError {
            kind: ErrorKind::Invalid,
            message: e.to_string(),
            fields: e.0,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

/// A probability as people read it: one decimal, never a false "100 %" or "0 %".
pub fn percent_text(probability: f64) -> String {
    let v = probability * 100.0;
    if v > 99.9 {
        "> 99.9 %".to_string()
    } else if v < 0.1 {
        "< 0.1 %".to_string()
    } else {
        format!("{v:.1} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_text_never_claims_certainty() {
        assert_eq!(percent_text(0.99999), "> 99.9 %");
        assert_eq!(percent_text(0.00001), "< 0.1 %");
        assert_eq!(percent_text(0.4567), "45.7 %");
    }

    #[test]
    fn bands_split_at_documented_points() {
        assert_eq!(RiskBand::of(0.19), RiskBand::Low);
        assert_eq!(RiskBand::of(0.2), RiskBand::Moderate);
        assert_eq!(RiskBand::of(0.5), RiskBand::High);
    }
}
