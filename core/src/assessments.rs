//! Stored assessments.

use cardiorisk_contract::{AssessmentRecord, Measurements, Prediction, RiskBand};
use rusqlite::{params, Connection, Row};

/// Inserts one assessment inside the caller's transaction and returns its id.
pub fn insert(
    tx: &Connection,
    m: &Measurements,
    p: &Prediction,
    patient_id: Option<i64>,
    user_id: Option<i64>,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO assessments (colesterol, presion, glucosa, edad, sobrepeso, tabaquismo,
             probability, at_risk, band, model_version, elapsed_ms, patient_id, user_id, contributions)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
            m.colesterol,
            m.presion,
            m.glucosa,
            m.edad as i64,
            m.sobrepeso as i64,
            m.tabaquismo as i64,
            p.probability,
            p.at_risk,
            p.band.as_str(),
            p.model_version,
            p.elapsed_ms,
            patient_id,
            user_id,
            serde_json::to_string(&p.contributions).expect("contributions serialise"),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Maps a row of `assessments` joined with `users` (as `username`).
pub fn from_row(row: &Row) -> rusqlite::Result<AssessmentRecord> {
    let band: String = row.get("band")?;
    let band = RiskBand::parse(&band).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown band {band:?}").into(),
        )
    })?;
    let contributions: String = row.get("contributions")?;
    Ok(AssessmentRecord {
        id: row.get("id")?,
        created_at: row.get("created_at")?,
        patient_id: row.get("patient_id")?,
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
        band,
        contributions: serde_json::from_str(&contributions).unwrap_or_default(),
        model_version: row.get("model_version")?,
        username: row.get("username")?,
    })
}

/// The newest `limit` assessments, newest first.
pub fn recent(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<AssessmentRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.*, u.username FROM assessments a LEFT JOIN users u ON u.id = a.user_id
         ORDER BY a.created_at DESC, a.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], from_row)?;
    rows.collect()
}
