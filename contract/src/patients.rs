//! Patients and their reports: IPC types and the rules for a patient's fields.

use crate::{FieldError, Language};
use serde::{Deserialize, Serialize};

/// A patient as entered by a clinician.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientInput {
    /// The clinic's record number: 1 to 32 letters, digits, '-' or '/'.
    pub record_number: String,
    pub name: String,
    pub birth_year: Option<i32>,
    pub notes: String,
}

impl PatientInput {
    /// Every problem, each naming its field.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let rn = self.record_number.trim();
        if rn.is_empty()
            || rn.len() > 32
            || !rn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        {
            errors.push(FieldError::rule("record_number", &[]));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::rule("name", &[]));
        }
        if let Some(y) = self.birth_year {
            if !(1900..=2100).contains(&y) {
                errors.push(FieldError::rule("birth_year", &[]));
            }
        }
        if self.notes.chars().count() > 2000 {
            errors.push(FieldError::rule("notes", &[]));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub id: i64,
    pub record_number: String,
    pub name: String,
    pub birth_year: Option<i32>,
    pub notes: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatePatientArgs {
    pub token: String,
    pub patient: PatientInput,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdatePatientArgs {
    pub token: String,
    pub patient_id: i64,
    pub patient: PatientInput,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchPatientsArgs {
    pub token: String,
    /// Matches the name or the record number; empty lists everyone.
    pub query: String,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatientArgs {
    pub token: String,
    pub patient_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientRecord {
    pub patient: Patient,
    /// Oldest first.
    pub history: Vec<crate::AssessmentRecord>,
}

/// Arguments of the report export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportArgs {
    pub token: String,
    pub patient_id: i64,
    pub format: ReportFormat,
    pub language: Language,
    pub units: Units,
}

names! {
    /// What a report is exported as; the name is also the file's extension.
    ReportFormat {
        Html => "html",
        Pdf => "pdf",
    }
}

// `names!` declares the enum, so the default cannot be an attribute on its variant.
#[allow(clippy::derivable_impls)]
impl Default for Units {
    fn default() -> Self {
        Units::Original
    }
}

names! {
    /// Units of the measurements: the original data's (g/L, hundreds of mmHg) or the
    /// conventional ones (mg/dL, mmHg).
    Units {
        Original => "original",
        Conventional => "conventional",
    }
}
