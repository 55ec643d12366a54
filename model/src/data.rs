//! Labelled data sets: reading CSV files by header name, and their fingerprint.

use cardiorisk_contract::{FieldError, FIELDS, LABEL};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Rows of the six inputs (feature order of [`FIELDS`]) with 0/1 labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    pub x: Vec<[f32; 6]>,
    pub y: Vec<f32>,
    /// SHA-256 of the source bytes, hex.
    pub sha256: String,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn positives(&self) -> usize {
        self.y.iter().filter(|&&v| v == 1.0).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("CSV is malformed: {0}")]
    Csv(#[from] csv::Error),
    #[error("missing column(s): {0} (columns are matched by header name)")]
    MissingColumns(String),
    #[error("row {row}, column {column}: {message}")]
    BadCell {
        row: usize,
        column: String,
        message: String,
    },
    #[error("{count} invalid row(s); first: {first}")]
    BadRows { count: usize, first: String },
}

/// Positions of the six inputs (and optionally the label) in a CSV header.
pub struct Columns {
    pub inputs: [usize; 6],
    pub label: Option<usize>,
}

impl Columns {
    /// Matches columns by name; an unnamed index column and extra columns are ignored.
    pub fn find(headers: &csv::StringRecord, need_label: bool) -> Result<Self, DataError> {
        let position = |name: &str| headers.iter().position(|h| h.trim() == name);
        let mut missing = Vec::new();
        let mut inputs = [0; 6];
        for (slot, spec) in inputs.iter_mut().zip(FIELDS.iter()) {
            match position(spec.name) {
                Some(i) => *slot = i,
                None => missing.push(spec.name),
            }
        }
        let label = position(LABEL);
        if need_label && label.is_none() {
            missing.push(LABEL);
        }
        if !missing.is_empty() {
            return Err(DataError::MissingColumns(missing.join(", ")));
        }
        Ok(Columns { inputs, label })
    }

    /// Parses the six inputs of one record, reporting every bad cell.
    pub fn inputs(&self, record: &csv::StringRecord) -> Result<[f64; 6], Vec<FieldError>> {
        let mut values = [0.0; 6];
        let mut errors = Vec::new();
        for (i, spec) in FIELDS.iter().enumerate() {
            match spec.parse(record.get(self.inputs[i])) {
                Ok(v) => values[i] = v,
                Err(p) => errors.push(FieldError::new(spec, p)),
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }
}

/// How to treat invalid rows in training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidRows {
    /// Refuse the whole file (the default: nothing is trained on a file with bad rows).
    #[default]
    Refuse,
    /// Leave them out and count them.
    Skip,
}

/// A labelled data set and how many invalid rows were skipped.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub data: Dataset,
    pub skipped: usize,
}

pub fn read_labelled_file(path: &Path, invalid: InvalidRows) -> Result<Loaded, DataError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| DataError::Io {
            path: path.display().to_string(),
            source,
        })?;
    read_labelled(&bytes, invalid)
}

/// Reads a labelled CSV. Rows are numbered from 1 for the first data row, as a
/// spreadsheet would show them after the header.
pub fn read_labelled(bytes: &[u8], invalid: InvalidRows) -> Result<Loaded, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let columns = Columns::find(reader.headers()?, true)?;
    let label_at = columns.label.expect("label column required above");
    let mut data = Dataset {
        sha256: hex(&Sha256::digest(bytes)),
        ..Dataset::default()
    };
    let mut bad = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record?;
        let row = index + 1;
        let label = match record.get(label_at).map(str::trim) {
            Some("0") | Some("0.0") => Ok(0.0),
            Some("1") | Some("1.0") => Ok(1.0),
            other => Err(format!(
                "row {row}, column {LABEL}: label must be 0 or 1 (got {:?})",
                other.unwrap_or("")
            )),
        };
        let inputs = columns.inputs(&record).map_err(|errors| {
            let text: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            format!("row {row}: {}", text.join("; "))
        });
        match (inputs, label) {
            (Ok(x), Ok(y)) => {
                data.x.push(x.map(|v| v as f32));
                data.y.push(y);
            }
            (Err(e), _) | (_, Err(e)) => bad.push(e),
        }
    }
    if !bad.is_empty() && invalid == InvalidRows::Refuse {
        return Err(DataError::BadRows {
            count: bad.len(),
            first: bad.swap_remove(0),
        });
    }
    Ok(Loaded {
        data,
        skipped: bad.len(),
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_columns_by_name_ignoring_index_and_extras() {
        let csv = ",extra,tabaquismo,sobrepeso,edad,glucosa,presion,colesterol,riesgo_cardiaco\n\
                   0,x,1,0,60,1.2,1.1,2.5,1\n";
        let loaded = read_labelled(csv.as_bytes(), InvalidRows::Refuse).unwrap();
        assert_eq!(loaded.data.x, vec![[2.5, 1.1, 1.2, 60.0, 0.0, 1.0]]);
        assert_eq!(loaded.data.y, vec![1.0]);
    }

    #[test]
    fn missing_column_is_named() {
        let csv = "colesterol,presion,glucosa,edad,sobrepeso,riesgo_cardiaco\n2,1,1,50,0,1\n";
        let err = read_labelled(csv.as_bytes(), InvalidRows::Refuse).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing column(s): tabaquismo (columns are matched by header name)"
        );
    }

    #[test]
    fn bad_cells_name_row_and_column_or_are_skipped() {
        let csv = "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,riesgo_cardiaco\n\
                   2,1,1,50,0,1,1\n\
                   9,1,1,50,0,1,0\n\
                   2,1,1,50,0,1,maybe\n";
        let err = read_labelled(csv.as_bytes(), InvalidRows::Refuse).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("2 invalid row(s); first: row 2: colesterol is out of range"));
        let loaded = read_labelled(csv.as_bytes(), InvalidRows::Skip).unwrap();
        assert_eq!((loaded.data.len(), loaded.skipped), (1, 2));
    }
}
