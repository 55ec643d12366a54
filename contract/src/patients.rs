//! Patients and their reports: IPC types and the rules for a patient's fields.

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
    pub fn check(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors = Vec::new();
        let rn = self.record_number.trim();
        if rn.is_empty()
            || rn.len() > 32
            || !rn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        {
            errors.push((
                "record_number".into(),
                "record_number must be 1 to 32 letters, digits, '-' or '/'".into(),
            ));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(("name".into(), "name must be 1 to 100 characters".into()));
        }
        if let Some(y) = self.birth_year {
            if !(1900..=2100).contains(&y) {
                errors.push((
                    "birth_year".into(),
                    "birth_year must be from 1900 to 2100".into(),
                ));
            }
        }
        if self.notes.chars().count() > 2000 {
            errors.push((
                "notes".into(),
                "notes must be at most 2000 characters".into(),
            ));
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

names! {
    /// The language of the UI and of what it prints.
    Language {
        English => "en",
        Spanish => "es",
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
