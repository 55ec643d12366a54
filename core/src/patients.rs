//! Patients and their assessment history.

use cardiorisk_contract::{AssessmentRecord, Patient, PatientInput};
use rusqlite::{params, Connection, OptionalExtension, Row};

fn patient(row: &Row) -> rusqlite::Result<Patient> {
    Ok(Patient {
        id: row.get("id")?,
        record_number: row.get("record_number")?,
        name: row.get("name")?,
        birth_year: row.get("birth_year")?,
        notes: row.get("notes")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

pub fn insert(conn: &Connection, p: &PatientInput, created_by: i64) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO patients (record_number, name, birth_year, notes, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            p.record_number.trim(),
            p.name.trim(),
            p.birth_year,
            p.notes,
            created_by
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, p: &PatientInput) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE patients SET record_number = ?2, name = ?3, birth_year = ?4, notes = ?5,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1",
        params![
            id,
            p.record_number.trim(),
            p.name.trim(),
            p.birth_year,
            p.notes
        ],
    )
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Patient>> {
    conn.query_row("SELECT * FROM patients WHERE id = ?1", [id], patient)
        .optional()
}

/// Patients whose name or record number contains `query` (case-insensitive), by name.
pub fn search(conn: &Connection, query: &str, limit: u32) -> rusqlite::Result<Vec<Patient>> {
    let escaped = query
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM patients
         WHERE name LIKE ?1 ESCAPE '\\' OR record_number LIKE ?1 ESCAPE '\\'
         ORDER BY name COLLATE NOCASE, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![pattern, limit], patient)?;
    rows.collect()
}

/// A patient's assessments, oldest first.
pub fn history(conn: &Connection, patient_id: i64) -> rusqlite::Result<Vec<AssessmentRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.*, u.username FROM assessments a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.patient_id = ?1 ORDER BY a.created_at, a.id",
    )?;
    let rows = stmt.query_map([patient_id], crate::assessments::from_row)?;
    rows.collect()
}
