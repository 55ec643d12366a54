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
    #[error("cannot write {path}: {source}")]
    Write {
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
    #[error("{path} is not a regular file")]
    NotAFile { path: String },
    #[error("{path} is {size} bytes; the limit is {limit} bytes (set {BYTES_ENV} to raise it)")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("more than {limit} data rows; the limit is {limit} (set {ROWS_ENV} to raise it)")]
    TooManyRows { limit: usize },
    #[error("a line is longer than {MAX_LINE_BYTES} bytes: not a CardioRisk CSV")]
    LineTooLong,
    #[error("a record runs past {MAX_RECORD_BYTES} bytes (a quoted field never closed?): not a CardioRisk CSV")]
    RecordTooLong,
    #[error("line {line} is not UTF-8 text")]
    NotUtf8 { line: u64 },
    #[error("line {line} has {cells} cells where the header has {expected}: every row needs the header's columns")]
    RowWidth {
        line: u64,
        cells: usize,
        expected: usize,
    },
    #[error("the file has a header but no data rows")]
    NoRows,
}

impl DataError {
    /// The error with its line number set, for errors found on a line counted
    /// from the start of a piece of the file.
    pub fn at_line(self, line: u64) -> Self {
        match self {
            DataError::NotUtf8 { .. } => DataError::NotUtf8 { line },
            DataError::RowWidth {
                cells, expected, ..
            } => DataError::RowWidth {
                line,
                cells,
                expected,
            },
            other => other,
        }
    }
}

/// An I/O error met by `?` is the output's: reads name their file explicitly.
impl From<std::io::Error> for DataError {
    fn from(source: std::io::Error) -> Self {
        DataError::Write {
            path: "the output file".into(),
            source,
        }
    }
}

/// Environment variables that raise the limits on a CSV read whole.
pub const BYTES_ENV: &str = "CARDIORISK_MAX_CSV_BYTES";
pub const ROWS_ENV: &str = "CARDIORISK_MAX_CSV_ROWS";
/// No line of a CSV of six measurements comes near this; a longer one is refused
/// instead of buffered (a file of zeros, a binary file).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// The longest record, quoted line breaks included, that batch scoring takes.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Bounds on a labelled CSV, which is read whole into memory (training, evaluation):
/// 64 MiB and 1,000,000 data rows by default (the original file is 5,000 rows and
/// 200 KB), raised with [`BYTES_ENV`] and [`ROWS_ENV`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_rows: 1_000_000,
        }
    }
}

impl Limits {
    /// The defaults, raised or lowered by the environment variables when set.
    pub fn from_env() -> Self {
        let d = Limits::default();
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
        Limits {
            max_bytes: var(BYTES_ENV).unwrap_or(d.max_bytes),
            max_rows: var(ROWS_ENV).map(|v: u64| v as usize).unwrap_or(d.max_rows),
        }
    }
}

/// Opens a CSV for reading: regular files only (never a device or a pipe that
/// never ends), at most `max_bytes` when given.
pub fn open_csv(path: &Path, max_bytes: Option<u64>) -> Result<std::fs::File, DataError> {
    let io = |source| DataError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(DataError::NotAFile {
            path: path.display().to_string(),
        });
    }
    if let Some(limit) = max_bytes.filter(|l| meta.len() > *l) {
        return Err(DataError::TooLarge {
            path: path.display().to_string(),
            size: meta.len(),
            limit,
        });
    }
    Ok(file)
}

/// Passes bytes through, failing once a line runs past [`MAX_LINE_BYTES`].
pub struct LineGuard<R> {
    inner: R,
    since_newline: usize,
}

impl<R> LineGuard<R> {
    pub fn new(inner: R) -> Self {
        LineGuard {
            inner,
            since_newline: 0,
        }
    }
}

impl<R: Read> Read for LineGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.since_newline = match chunk.iter().rposition(|&b| b == b'\n') {
            Some(i) => n - i - 1,
            None => self.since_newline + n,
        };
        if self.since_newline > MAX_LINE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                LINE_TOO_LONG,
            ));
        }
        Ok(n)
    }
}

const LINE_TOO_LONG: &str = "line too long";

/// Turns the guard's I/O error back into [`DataError::LineTooLong`].
pub fn csv_error(e: csv::Error) -> DataError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if io.kind() == std::io::ErrorKind::InvalidData && io.to_string() == LINE_TOO_LONG {
            return DataError::LineTooLong;
        }
    }
    DataError::Csv(e)
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
        self.inputs_of(|i| record.get(i))
    }

    /// The six inputs of a row whose `i`th cell is `cell(i)`.
    pub fn inputs_of<'a>(
        &self,
        cell: impl Fn(usize) -> Option<&'a str>,
    ) -> Result<[f64; 6], Vec<FieldError>> {
        let mut values = [0.0; 6];
        let mut errors = Vec::new();
        for (i, spec) in FIELDS.iter().enumerate() {
            match spec.parse(cell(self.inputs[i])) {
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

/// Reads a labelled CSV file within [`Limits::from_env`]; refuses a file with no data rows.
pub fn read_labelled_file(path: &Path, invalid: InvalidRows) -> Result<Loaded, DataError> {
    read_labelled_file_within(path, invalid, Limits::from_env())
}

pub fn read_labelled_file_within(
    path: &Path,
    invalid: InvalidRows,
    limits: Limits,
) -> Result<Loaded, DataError> {
    let mut bytes = Vec::new();
    open_csv(path, Some(limits.max_bytes))?
        .take(limits.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| DataError::Io {
            path: path.display().to_string(),
            source,
        })?;
    read_labelled_within(&bytes, invalid, limits)
}

/// Reads a labelled CSV. Rows are numbered from 1 for the first data row, as a
/// spreadsheet would show them after the header.
pub fn read_labelled(bytes: &[u8], invalid: InvalidRows) -> Result<Loaded, DataError> {
    read_labelled_within(bytes, invalid, Limits::default())
}

pub fn read_labelled_within(
    bytes: &[u8],
    invalid: InvalidRows,
    limits: Limits,
) -> Result<Loaded, DataError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(DataError::TooLarge {
            path: "the data".into(),
            size: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(LineGuard::new(bytes));
    let columns = Columns::find(reader.headers().map_err(csv_error)?, true)?;
    let label_at = columns.label.expect("label column required above");
    let mut data = Dataset {
        sha256: hex(&Sha256::digest(bytes)),
        ..Dataset::default()
    };
    let mut bad = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(csv_error)?;
        let row = index + 1;
        if row > limits.max_rows {
            return Err(DataError::TooManyRows {
                limit: limits.max_rows,
            });
        }
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
    if data.is_empty() && bad.is_empty() {
        return Err(DataError::NoRows);
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

    const HEADER: &str = "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,riesgo_cardiaco\n";

    #[test]
    fn limits_refuse_before_reading_and_name_the_override() {
        let err = read_labelled(HEADER.as_bytes(), InvalidRows::Refuse).unwrap_err();
        assert!(matches!(err, DataError::NoRows), "{err}");

        let rows = format!("{HEADER}{}", "2.0,1.2,0.9,40,0,0,0\n".repeat(11));
        let small = Limits {
            max_bytes: 1 << 20,
            max_rows: 10,
        };
        let err = read_labelled_within(rows.as_bytes(), InvalidRows::Refuse, small).unwrap_err();
        assert!(matches!(err, DataError::TooManyRows { limit: 10 }), "{err}");
        assert!(err.to_string().contains(ROWS_ENV));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, &rows).unwrap();
        let tiny = Limits {
            max_bytes: 100,
            max_rows: 10,
        };
        let err = read_labelled_file_within(&path, InvalidRows::Refuse, tiny).unwrap_err();
        assert!(
            matches!(err, DataError::TooLarge { limit: 100, .. }),
            "{err}"
        );
        assert!(err.to_string().contains(BYTES_ENV));
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_not_read() {
        let err = read_labelled_file(Path::new("/dev/zero"), InvalidRows::Refuse).unwrap_err();
        assert!(matches!(err, DataError::NotAFile { .. }), "{err}");
    }
}
