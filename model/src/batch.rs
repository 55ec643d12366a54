//! Batch scoring of a CSV: every input row comes out with its probability and class,
//! or with an error naming what is wrong with it; the valid rows are still scored.

use crate::data::{Columns, DataError};
use crate::predictor::Predictor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    pub rows: usize,
    pub scored: usize,
    pub invalid: usize,
}

/// Reads CSV `input` and returns the output CSV: the input's columns followed by
/// `probability`, `at_risk` (0/1) and `error`.
pub fn score_csv(
    input: &[u8],
    predictor: &Predictor,
) -> Result<(Vec<u8>, BatchSummary), DataError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers()?.clone();
    let columns = Columns::find(&headers, false)?;
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;

    let mut features = Vec::with_capacity(records.len());
    let mut errors = Vec::with_capacity(records.len());
    for record in &records {
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

    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header_out = headers.clone();
    header_out.extend(["probability", "at_risk", "error"]);
    writer.write_record(&header_out)?;
    let mut next = probabilities.iter();
    for (record, error) in records.iter().zip(&errors) {
        let mut out = record.clone();
        match error {
            None => {
                let p = *next.next().expect("one probability per valid row") as f64;
                out.push_field(&format!("{p:.6}"));
                out.push_field(if p >= threshold { "1" } else { "0" });
                out.push_field("");
            }
            Some(e) => {
                out.push_field("");
                out.push_field("");
                out.push_field(e);
            }
        }
        writer.write_record(&out)?;
    }
    let bytes = writer.into_inner().map_err(|e| DataError::Io {
        path: "output".into(),
        source: e.into_error(),
    })?;
    let invalid = errors.iter().filter(|e| e.is_some()).count();
    Ok((
        bytes,
        BatchSummary {
            rows: records.len(),
            scored: records.len() - invalid,
            invalid,
        },
    ))
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
        let (out, summary) = score_csv(input.as_bytes(), &Predictor::embedded()).unwrap();
        assert_eq!(
            summary,
            BatchSummary {
                rows: 3,
                scored: 2,
                invalid: 1
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
