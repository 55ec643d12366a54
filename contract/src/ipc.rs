//! Argument and result types of every IPC command, shared by the UI and the backend.

use crate::{FieldError, Language, Measurements, Units, ValidationErrors};
use cardiorisk_i18n::{format as word, text};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Arguments of [`command::WhatIf`]: score without storing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhatIfArgs {
    pub token: String,
    pub inputs: Measurements,
}

/// Display preferences of this installation, chosen by any signed-in user.
pub const PREF_LANGUAGE: &str = "ui.language";
pub const PREF_UNITS: &str = "ui.units";

/// The values a preference may take, as stored; the first is the default.
pub fn preference_values(key: &str) -> Option<Vec<&'static str>> {
    match key {
        PREF_LANGUAGE => Some(Language::ALL.iter().map(|l| l.as_str()).collect()),
        PREF_UNITS => Some(Units::ALL.iter().map(|u| u.as_str()).collect()),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Preferences {
    pub language: Language,
    pub units: Units,
}

/// Arguments of [`command::SetPreference`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreferenceArgs {
    pub token: String,
    pub key: String,
    pub value: String,
}

/// When the page reached its milestones, in ms of the page's clock
/// (`performance.now()`, from the page's navigation start).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct UiReadyArgs {
    /// The wasm module began to run.
    pub wasm_ms: f64,
    /// The first screen was painted.
    pub painted_ms: f64,
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

/// Arguments of [`command::Predict`]: score and store, for a patient or unassigned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictArgs {
    pub token: String,
    pub patient_id: Option<i64>,
    pub inputs: Measurements,
}

/// Arguments of [`command::RecentAssessments`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecentArgs {
    pub token: String,
    pub limit: u32,
}

/// Largest page the backend returns for one list request.
pub const MAX_PAGE: u32 = 500;

/// Coarse risk category shown to clinicians. Spelled "low", "moderate", "high" in
/// every machine interface (CLI JSON, REST `banda`, IPC, database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// The band as shown to people ("Low risk").
    pub fn label(self, language: Language) -> String {
        text(language, &format!("band-{}", self.as_str()))
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

/// Result of [`command::Predict`]: the prediction and the row it was stored as.
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

names! {
    /// Why a command failed: with its arguments, the key of its text in the catalogues
    /// (`error-<code>`), so each reader sees it in their own language.
    ErrorCode {
        SessionEnded => "session-ended",
        AdminOnly => "admin-only",
        WrongCredentials => "wrong-credentials",
        AccountDisabled => "account-disabled",
        AccountLocked => "account-locked",
        AccountNowLocked => "account-now-locked",
        AlreadySetUp => "already-set-up",
        UsernameTaken => "username-taken",
        OwnRole => "own-role",
        OwnAccount => "own-account",
        NoAccount => "no-account",
        NoPatient => "no-patient",
        NoClient => "no-client",
        NoModel => "no-model",
        RecordNumberTaken => "record-number-taken",
        ModelUnusable => "model-unusable",
        TrainingRunning => "training-running",
        ScoringFailed => "scoring-failed",
        BadPlan => "bad-plan",
        PageLimit => "page-limit",
        CannotWrite => "cannot-write",
        BackupFailed => "backup-failed",
        NotABackup => "not-a-backup",
        RestoreFailed => "restore-failed",
        Database => "database",
        Internal => "internal",
        CommandStopped => "command-stopped",
        PrintingUnavailable => "printing-unavailable",
        InvalidInput => "invalid-input",
        SignInFirst => "sign-in-first",
        KeyFile => "key-file",
        RecoveryKey => "recovery-key",
        BackupFromElsewhere => "backup-from-elsewhere",
        BackupSecret => "backup-secret",
    }
}

impl ErrorCode {
    /// The kind of every error with this code.
    pub fn kind(self) -> ErrorKind {
        use ErrorCode::*;
        match self {
            SessionEnded | WrongCredentials | SignInFirst | RecoveryKey => {
                ErrorKind::Unauthenticated
            }
            AdminOnly => ErrorKind::Forbidden,
            AccountDisabled | AccountLocked | AccountNowLocked => ErrorKind::Locked,
            NoAccount | NoPatient | NoClient | NoModel => ErrorKind::NotFound,
            AlreadySetUp | UsernameTaken | RecordNumberTaken | TrainingRunning => {
                ErrorKind::Conflict
            }
            OwnRole | OwnAccount | ModelUnusable | BadPlan | PageLimit | NotABackup
            | InvalidInput | BackupFromElsewhere | BackupSecret => ErrorKind::Invalid,
            ScoringFailed | CannotWrite | BackupFailed | RestoreFailed | Database | Internal
            | CommandStopped | PrintingUnavailable | KeyFile => ErrorKind::Internal,
        }
    }

    fn key(self) -> String {
        format!("error-{}", self.as_str())
    }
}

/// The error every command returns: a kind, a code with its arguments (worded in the
/// reader's language by [`CommandError::worded`]), the English message for logs, the
/// CLI and the gateway, and the offending fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub code: ErrorCode,
    pub args: Vec<(String, String)>,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl CommandError {
    /// An error with its code's kind and English message.
    pub fn coded(code: ErrorCode, args: &[(&str, &str)]) -> Self {
        CommandError {
            kind: code.kind(),
            code,
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            message: word(Language::English, &code.key(), args),
            fields: Vec::new(),
        }
    }

    /// Something failed inside the app; `detail` is for support, not translated.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::coded(ErrorCode::Internal, &[("detail", &detail.to_string())])
    }

    /// An invalid-input error naming each offending field.
    pub fn fields(problems: Vec<FieldError>) -> Self {
        CommandError {
            kind: ErrorKind::Invalid,
            code: ErrorCode::InvalidInput,
            args: Vec::new(),
            message: problems
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            fields: problems,
        }
    }

    /// The message in `language`, field ranges in `units`.
    pub fn worded(&self, language: Language, units: Units) -> String {
        if !self.fields.is_empty() {
            return self
                .fields
                .iter()
                .map(|f| f.worded(language, units))
                .collect::<Vec<_>>()
                .join("; ");
        }
        let args: Vec<(&str, &str)> = self
            .args
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        word(language, &self.code.key(), &args)
    }
}

impl From<FieldError> for CommandError {
    fn from(e: FieldError) -> Self {
        Self::fields(vec![e])
    }
}

impl From<ValidationErrors> for CommandError {
    fn from(e: ValidationErrors) -> Self {
        Self::fields(e.0)
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

/// A probability as people read it: one decimal in the language's way ("45.7 %",
/// "45,7 %"), never a false "100 %" or "0 %".
pub fn percent_text(language: Language, probability: f64) -> String {
    let v = probability * 100.0;
    let number = if v > 99.9 {
        ">\u{a0}99.9".to_string()
    } else if v < 0.1 {
        "<\u{a0}0.1".to_string()
    } else {
        format!("{v:.1}")
    };
    // A no-break space: the sign never wraps away from its number.
    format!("{}\u{a0}%", crate::localised_number(language, number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_text_never_claims_certainty() {
        assert_eq!(
            percent_text(Language::English, 0.99999),
            ">\u{a0}99.9\u{a0}%"
        );
        assert_eq!(
            percent_text(Language::English, 0.00001),
            "<\u{a0}0.1\u{a0}%"
        );
        assert_eq!(percent_text(Language::English, 0.4567), "45.7\u{a0}%");
        assert_eq!(percent_text(Language::Spanish, 0.4567), "45,7\u{a0}%");
        assert_eq!(
            percent_text(Language::Spanish, 0.99999),
            ">\u{a0}99,9\u{a0}%"
        );
    }

    #[test]
    fn every_error_code_is_worded_in_every_language() {
        for &code in ErrorCode::ALL {
            for &language in Language::ALL {
                assert!(
                    cardiorisk_i18n::has(language, &code.key()),
                    "{} has no text for {}",
                    language.as_str(),
                    code.as_str()
                );
            }
        }
    }

    #[test]
    fn an_error_travels_as_its_code_and_is_worded_by_the_reader() {
        let e = CommandError::coded(ErrorCode::UsernameTaken, &[("username", "cleo")]);
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert_eq!(e.message, "The username cleo is taken.");
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"code\":\"username-taken\""), "{json}");
        let back: CommandError = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.worded(Language::Spanish, Units::Original),
            "El usuario cleo ya existe."
        );
    }

    #[test]
    fn field_errors_are_worded_in_the_readers_language_and_units() {
        let e: CommandError = crate::Measurements::from_array([9.0, 1.2, 1.0, 50.0, 0.0, 0.0])
            .validate()
            .unwrap_err()
            .into();
        assert_eq!(
            e.message,
            "colesterol is out of range: valid is 1.0 to 3.0 g/L"
        );
        assert_eq!(
            e.worded(Language::Spanish, Units::Conventional),
            "colesterol está fuera de rango: válido es 100 a 300 mg/dL"
        );
        let rule = CommandError::from(crate::FieldError::rule("password", &[("min", "10")]));
        assert_eq!(rule.message, "password must be 10 to 256 characters");
        assert_eq!(
            rule.worded(Language::Spanish, Units::Original),
            "password debe tener de 10 a 256 caracteres"
        );
    }

    #[test]
    fn bands_are_spelled_the_same_in_every_interface() {
        for band in [RiskBand::Low, RiskBand::Moderate, RiskBand::High] {
            let json = serde_json::to_string(&band).unwrap();
            assert_eq!(json, format!("\"{}\"", band.as_str()));
            assert_eq!(serde_json::from_str::<RiskBand>(&json).unwrap(), band);
            assert_eq!(RiskBand::parse(band.as_str()), Some(band));
        }
    }

    #[test]
    fn bands_split_at_documented_points() {
        assert_eq!(RiskBand::of(0.19), RiskBand::Low);
        assert_eq!(RiskBand::of(0.2), RiskBand::Moderate);
        assert_eq!(RiskBand::of(0.5), RiskBand::High);
    }
}
