//! Batch scoring of a CSV: every input row comes out with its probability and class,
//! or with an error naming what is wrong with it; the valid rows are still scored.

use crate::data::{csv_error, Columns, DataError, LineGuard};
use crate::predictor::{is_probability, Predictor};
use std::io::{Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    pub rows: usize,
    pub scored: usize,
    /// Rows with an input out of range or unreadable (see their error column).
    pub invalid: usize,
    /// Valid rows the model gave no probability for (never given a class).
    pub failed: usize,
}

/// Rows scored together; the chunk also ends at [`CHUNK_BYTES`] of input, so memory
/// stays bounded whatever the file's size or line lengths.
const CHUNK_ROWS: usize = 4096;
const CHUNK_BYTES: usize = 4 << 20;

/// Streams CSV `input` to `output`: the input's columns followed by `probability`,
/// `at_risk` (0/1) and `error`, in the input's order, a chunk at a time.
pub fn score_csv(
    input: impl Read,
    output: impl Write,
    predictor: &Predictor,
) -> Result<BatchSummary, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(LineGuard::new(input));
    let headers = reader.headers().map_err(csv_error)?.clone();
    let columns = Columns::find(&headers, false)?;
    let mut writer = csv::Writer::from_writer(output);
    let mut header_out = headers.clone();
    header_out.extend(["probability", "at_risk", "error"]);
    writer.write_record(&header_out)?;

    let mut summary = BatchSummary {
        rows: 0,
        scored: 0,
        invalid: 0,
        failed: 0,
    };
    let mut chunk: Vec<csv::StringRecord> = Vec::with_capacity(CHUNK_ROWS);
    let mut record = csv::StringRecord::new();
    loop {
        let mut bytes = 0;
        chunk.clear();
        while chunk.len() < CHUNK_ROWS && bytes < CHUNK_BYTES {
            if !reader.read_record(&mut record).map_err(csv_error)? {
                break;
            }
            bytes += record.as_slice().len();
            chunk.push(record.clone());
        }
        if chunk.is_empty() {
            break;
        }
        write_chunk(&chunk, &columns, predictor, &mut writer, &mut summary)?;
    }
    writer.flush().map_err(|source| DataError::Io {
        path: "output".into(),
        source,
    })?;
    Ok(summary)
}

fn write_chunk<W: Write>(
    records: &[csv::StringRecord],
    columns: &Columns,
    predictor: &Predictor,
    writer: &mut csv::Writer<W>,
    summary: &mut BatchSummary,
) -> Result<(), DataError> {
    let mut features = Vec::with_capacity(records.len());
    let mut errors = Vec::with_capacity(records.len());
    for record in records {
        match columns.inputs(record) {
            Ok(x) => {
                features.push(x.map(|v| v as f32));
                errors.push(None);
            }
            Err(e) => {
                let text: Vec<String> = e.into_iter().map(|f| f.message).collect();
                errors.push(Some(text.join("; ")));
            }
        }
    }
    let probabilities = predictor.probabilities(&features);
    let threshold = predictor.payload().threshold;
    let mut next = probabilities.iter();
    let mut out = csv::StringRecord::new();
    for (record, error) in records.iter().zip(&errors) {
        out.clone_from(record);
        summary.rows += 1;
        match error {
            None => {
                let p = *next.next().expect("one probability per valid row") as f64;
                if is_probability(p) {
                    summary.scored += 1;
                    out.push_field(&format!("{p:.6}"));
                    out.push_field(if p >= threshold { "1" } else { "0" });
                    out.push_field("");
                } else {
                    summary.failed += 1;
                    out.push_field("");
                    out.push_field("");
                    out.push_field(&format!("the model gave no probability for this row ({p})"));
                }
            }
            Some(e) => {
                summary.invalid += 1;
                out.push_field("");
                out.push_field("");
                out.push_field(e);
            }
        }
        writer.write_record(&out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_valid_rows_and_explains_invalid_ones() {
        let input = ",colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,note\n\
                     0,2.5,1.6,0.8,30,0,0,a\n\
                     1,9,1.6,0.8,30,0,0,b\n\
                     2,1.5,1.0,0.8,30,0,0,c\n";
        let mut out = Vec::new();
        let summary = score_csv(input.as_bytes(), &mut out, &Predictor::embedded()).unwrap();
        assert_eq!(
            summary,
            BatchSummary {
                rows: 3,
                scored: 2,
                invalid: 1,
                failed: 0,
            }
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            ",colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,note,probability,at_risk,error"
        );
        let first: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(first[..8], ["0", "2.5", "1.6", "0.8", "30", "0", "0", "a"]);
        assert!(first[8].parse::<f64>().unwrap() > 0.9, "{}", lines[1]);
        assert_eq!(first[9..], ["1", ""]);
        assert!(
            lines[2].ends_with(",,,colesterol is out of range: valid is 1.0 to 3.0 g/L"),
            "{}",
            lines[2]
        );
        assert!(lines[3].ends_with(",0,"), "{}", lines[3]);
    }
}

#[cfg(test)]
mod streaming {
    use super::*;

    /// More rows than a chunk, with a bad row on each side of a chunk boundary: the
    /// output keeps the input's order and every row's own result.
    #[test]
    fn chunks_keep_row_order_across_boundaries() {
        let mut input = String::from("colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,id\n");
        let n = CHUNK_ROWS * 2 + 17;
        for i in 0..n {
            let bad = i == CHUNK_ROWS - 1 || i == CHUNK_ROWS;
            let colesterol = if bad { "9" } else { "2.5" };
            input.push_str(&format!("{colesterol},1.6,0.8,{},0,0,{i}\n", i % 100));
        }
        let mut out = Vec::new();
        let summary = score_csv(input.as_bytes(), &mut out, &Predictor::embedded()).unwrap();
        assert_eq!((summary.rows, summary.invalid), (n, 2));
        let text = String::from_utf8(out).unwrap();
        for (i, line) in text.lines().skip(1).enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[6], i.to_string(), "row order");
            let bad = i == CHUNK_ROWS - 1 || i == CHUNK_ROWS;
            assert_eq!(cells[9].is_empty(), !bad, "{line}");
        }
    }

    #[test]
    fn a_file_without_line_breaks_is_refused_not_buffered() {
        let zeros = std::io::repeat(0).take(10 << 20);
        let err = score_csv(zeros, std::io::sink(), &Predictor::embedded()).unwrap_err();
        assert!(matches!(err, DataError::LineTooLong), "{err}");
    }
}
