//! Patients and their assessment history.

use cardiorisk_contract::{
    Contribution, HistoryEntry, Measurements, Patient, PatientInput, RiskBand,
};
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
pub fn history(conn: &Connection, patient_id: i64) -> rusqlite::Result<Vec<HistoryEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.*, u.username FROM assessments a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.patient_id = ?1 ORDER BY a.created_at, a.id",
    )?;
    let rows = stmt.query_map([patient_id], |row| {
        let band: String = row.get("band")?;
        let contributions: String = row.get("contributions")?;
        Ok(HistoryEntry {
            id: row.get("id")?,
            created_at: row.get("created_at")?,
            inputs: Measurements {
                colesterol: row.get("colesterol")?,
                presion: row.get("presion")?,
                glucosa: row.get("glucosa")?,
                edad: row.get::<_, i64>("edad")? as f64,
                sobrepeso: row.get::<_, i64>("sobrepeso")? as f64,
                tabaquismo: row.get::<_, i64>("tabaquismo")? as f64,
            },
            probability: row.get("probability")?,
            at_risk: row.get("at_risk")?,
            band: RiskBand::parse(&band).unwrap_or(RiskBand::High),
            contributions: serde_json::from_str::<Vec<Contribution>>(&contributions)
                .unwrap_or_default(),
            model_version: row.get("model_version")?,
            username: row.get("username")?,
        })
    })?;
    rows.collect()
}
