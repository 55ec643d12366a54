//! What the tests of the sealed data share: a vault with test-cost wraps, records
//! with a name, a record number and measurements found nowhere else, and a search of
//! every file's raw bytes for them.

use super::support;
use cardiorisk_contract::{Measurements, PatientInput};
use cardiorisk_core::keys::{KdfCost, Keystore};
use cardiorisk_core::service::Services;
use cardiorisk_core::vault::Vault;
use std::path::Path;

pub const NAME: &str = "Rosalind Quintanilla";
pub const RECORD: &str = "HC-UPGRADE-4711";
/// Measurements no other test data uses, searched for as text and as SQLite's REAL.
pub const CHOLESTEROL: f64 = 2.3456;

pub fn vault(dir: &Path) -> Vault {
    Vault::new(dir).with_cost(KdfCost::FOR_TESTS)
}

/// The key file of the data directory `dir`, as it is on disk.
pub fn key_file(dir: &Path) -> Keystore {
    Keystore::load(&Keystore::path_in(dir)).unwrap().unwrap()
}

pub fn measurements() -> Measurements {
    Measurements::from_array([CHOLESTEROL, 1.55, 0.95, 61.0, 1.0, 0.0])
}

/// A patient with an assessment and a clinician, written by `services`.
pub fn add_records(services: &Services, admin: &str) {
    let patient = services
        .create_patient(
            admin,
            &PatientInput {
                record_number: RECORD.into(),
                name: NAME.into(),
                birth_year: Some(1961),
                notes: "allergic to penicillin".into(),
            },
        )
        .unwrap();
    services
        .assess(admin, Some(patient.id), &measurements())
        .unwrap();
    support::clinician(services, admin, "nurse", "Nurse Joy");
}

/// Every file under `dir` whose raw bytes show a patient's name, record number,
/// notes or a measurement in clear.
pub fn files_in_clear(dir: &Path) -> Vec<String> {
    let needles: Vec<Vec<u8>> = vec![
        NAME.as_bytes().to_vec(),
        RECORD.as_bytes().to_vec(),
        b"penicillin".to_vec(),
        b"2.3456".to_vec(),
        CHOLESTEROL.to_be_bytes().to_vec(),
    ];
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        for needle in &needles {
            if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                found.push(format!(
                    "{} holds {:?}",
                    path.display(),
                    String::from_utf8_lossy(needle)
                ));
            }
        }
    }
    found
}

pub fn patients(services: &Services, token: &str) -> usize {
    services.search_patients(token, "", 100).unwrap().len()
}
