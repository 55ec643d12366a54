//! A worker's part: parsing, scoring and formatting whole chunks.

use super::cut::record_end;
use super::{count_lines, BatchSummary, Chunk, Done, Failed, Scored, SCORE_ROWS};
use crate::data::{csv_error, Columns, DataError, MAX_LINE_BYTES};
use crate::predictor::{is_probability, Predictor};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Mutex;

pub(super) fn score_chunks(
    work: &Mutex<Receiver<Chunk>>,
    done: &SyncSender<Done>,
    columns: &Columns,
    width: usize,
    predictor: &Predictor,
) {
    let mut scorer = ChunkScorer::new(columns, predictor, width);
    loop {
        let next = work.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((seq, chunk)) = next else { return };
        let result = match chunk {
            Ok(bytes) => scorer.score(&bytes),
            Err(error) => Err(Failed { error, line: 0 }),
        };
        if done.send((seq, result)).is_err() {
            return;
        }
    }
}

/// One row of a chunk: a plain line (its byte range) or a record the `csv` crate read.
enum Row {
    Plain(std::ops::Range<usize>),
    Parsed(csv::StringRecord),
}

/// A worker's buffers, reused from chunk to chunk.
struct ChunkScorer<'a> {
    columns: &'a Columns,
    predictor: &'a Predictor,
    /// Cells in the header, and so in every row.
    width: usize,
    rows: Vec<(Row, Option<String>)>,
    features: Vec<[f32; 6]>,
    cells: Vec<(usize, usize)>,
}

impl<'a> ChunkScorer<'a> {
    fn new(columns: &'a Columns, predictor: &'a Predictor, width: usize) -> Self {
        ChunkScorer {
            columns,
            predictor,
            width,
            rows: Vec::new(),
            features: Vec::new(),
            cells: Vec::new(),
        }
    }

    fn score(&mut self, chunk: &[u8]) -> Result<Scored, Failed> {
        self.rows.clear();
        self.features.clear();
        self.read_rows(chunk)?;
        // The network is fastest on batches of about a thousand rows (cache-sized).
        let mut probabilities = Vec::with_capacity(self.features.len());
        for rows in self.features.chunks(SCORE_ROWS) {
            probabilities.extend_from_slice(&self.predictor.probabilities(rows));
        }
        let threshold = self.predictor.payload().threshold;
        let mut summary = BatchSummary::default();
        let mut out = Vec::with_capacity(chunk.len() * 3 / 2);
        let mut next = probabilities.iter();
        let mut record = csv::StringRecord::new();
        for (row, error) in &self.rows {
            summary.rows += 1;
            let p = match error {
                None => Some(f64::from(
                    *next.next().expect("one probability per valid row"),
                )),
                Some(_) => None,
            };
            if let (Row::Plain(range), Some(p)) = (row, p.filter(|p| is_probability(*p))) {
                // What the csv writer would write for these cells and the three added.
                out.extend_from_slice(&chunk[range.clone()]);
                out.push(b',');
                push_fixed6(&mut out, p);
                out.extend_from_slice(if p >= threshold { b",1,\n" } else { b",0,\n" });
                summary.scored += 1;
                continue;
            }
            match row {
                Row::Plain(range) => {
                    record.clear();
                    let line = std::str::from_utf8(&chunk[range.clone()]).expect("checked");
                    for cell in line.split(',') {
                        record.push_field(cell);
                    }
                }
                Row::Parsed(r) => record.clone_from(r),
            }
            match (error, p) {
                (Some(e), _) => {
                    summary.invalid += 1;
                    record.extend(["", "", e.as_str()]);
                }
                (None, Some(p)) if is_probability(p) => {
                    summary.scored += 1;
                    record.push_field(&format!("{p:.6}"));
                    record.push_field(if p >= threshold { "1" } else { "0" });
                    record.push_field("");
                }
                (None, p) => {
                    summary.failed += 1;
                    let p = p.unwrap_or(f64::NAN);
                    record.extend([
                        "",
                        "",
                        &format!("the model gave no probability for this row ({p})"),
                    ]);
                }
            }
            let mut writer = csv::WriterBuilder::new()
                .buffer_capacity(1024)
                .from_writer(&mut out);
            writer
                .write_record(&record)
                .and_then(|()| Ok(writer.flush()?))
                .map_err(|e| failed(e.into(), 0))?;
        }
        Ok(Scored {
            bytes: out,
            summary,
            lines: count_lines(chunk),
        })
    }

    /// Splits the chunk into rows and reads their inputs.
    fn read_rows(&mut self, chunk: &[u8]) -> Result<(), Failed> {
        // Most chunks are plain text from end to end: one pass finds every cell.
        if memchr::memchr2(b'"', b'\r', chunk).is_none() {
            if let Ok(text) = std::str::from_utf8(chunk) {
                return self.read_plain_rows(text);
            }
        }
        self.read_any_rows(chunk)
    }

    /// [`Self::read_any_rows`] for a chunk of UTF-8 with no quote and no carriage
    /// return, in one scan for commas and line breaks.
    fn read_plain_rows(&mut self, text: &str) -> Result<(), Failed> {
        let mut line = 0;
        let mut row_start = 0;
        let mut cell_start = 0;
        self.cells.clear();
        let bytes = text.as_bytes();
        // Cells are a few bytes long: a plain loop beats a vectorised search here.
        let ends = (0..bytes.len())
            .filter(|&i| matches!(bytes[i], b',' | b'\n'))
            .chain(std::iter::once(bytes.len()));
        for at in ends {
            self.cells.push((cell_start - row_start, at - row_start));
            cell_start = at + 1;
            if at < bytes.len() && bytes[at] == b',' {
                continue;
            }
            if at - row_start > MAX_LINE_BYTES {
                return Err(failed(DataError::LineTooLong, line));
            }
            if row_start < at {
                self.read_plain_line(&text[row_start..at], row_start..at, line)?;
            }
            self.cells.clear();
            row_start = cell_start;
            line += 1;
        }
        Ok(())
    }

    /// Splits any chunk into rows and reads their inputs: a plain line directly, a
    /// quoted record (or one with a carriage return) through the `csv` crate.
    fn read_any_rows(&mut self, chunk: &[u8]) -> Result<(), Failed> {
        let mut at = 0;
        let mut line = 0;
        while at < chunk.len() {
            let end = memchr::memchr(b'\n', &chunk[at..]).map_or(chunk.len(), |i| at + i);
            if end - at > MAX_LINE_BYTES {
                return Err(failed(DataError::LineTooLong, line));
            }
            let mut content = at..end;
            if chunk[..end].ends_with(b"\r") && end > at {
                content.end -= 1;
            }
            let plain = memchr::memchr2(b'"', b'\r', &chunk[content.clone()]).is_none();
            if plain {
                if !content.is_empty() {
                    let text = std::str::from_utf8(&chunk[content.clone()])
                        .map_err(|_| failed(DataError::NotUtf8 { line: 0 }, line))?;
                    self.cells.clear();
                    let mut start = 0;
                    for comma in memchr::memchr_iter(b',', text.as_bytes()) {
                        self.cells.push((start, comma));
                        start = comma + 1;
                    }
                    self.cells.push((start, text.len()));
                    self.read_plain_line(text, content, line)?;
                }
                at = end + 1;
                line += 1;
            } else {
                // Quotes or carriage returns: the csv crate reads this record (it
                // may run over several lines).
                let end = record_end(&chunk[at..]).map_or(chunk.len(), |e| at + e);
                let segment = &chunk[at..end];
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(segment);
                let mut record = csv::StringRecord::new();
                loop {
                    match reader.read_record(&mut record) {
                        Ok(true) => {
                            self.check_width(record.len(), line)?;
                            let inputs = self.columns.inputs(&record);
                            self.push(Row::Parsed(record.clone()), inputs);
                        }
                        Ok(false) => break,
                        Err(e) => {
                            let error = utf8_at(e, 0);
                            return Err(failed(error, line));
                        }
                    }
                }
                line += count_lines(segment);
                at = end;
            }
        }
        Ok(())
    }

    /// Reads the inputs of a plain line (`text`, at `range` of the chunk) whose cells
    /// are in `self.cells`.
    fn read_plain_line(
        &mut self,
        text: &str,
        range: std::ops::Range<usize>,
        line: u64,
    ) -> Result<(), Failed> {
        self.check_width(self.cells.len(), line)?;
        let cells = &self.cells;
        let inputs = self
            .columns
            .inputs_of(|i| cells.get(i).map(|&(s, e)| &text[s..e]));
        self.push(Row::Plain(range), inputs);
        Ok(())
    }

    /// Every row has the header's cells, as the output's columns must line up.
    fn check_width(&self, cells: usize, line: u64) -> Result<(), Failed> {
        if cells == self.width {
            return Ok(());
        }
        let error = DataError::RowWidth {
            line: 0,
            cells,
            expected: self.width,
        };
        Err(failed(error, line))
    }

    fn push(&mut self, row: Row, inputs: Result<[f64; 6], Vec<cardiorisk_contract::FieldError>>) {
        match inputs {
            Ok(x) => {
                self.features.push(x.map(|v| v as f32));
                self.rows.push((row, None));
            }
            Err(e) => {
                let text: Vec<String> = e.into_iter().map(|f| f.message).collect();
                self.rows.push((row, Some(text.join("; "))));
            }
        }
    }
}

fn failed(error: DataError, line: u64) -> Failed {
    Failed { error, line }
}

/// A csv error as the batch reports it: text that is not UTF-8 names its line.
pub(super) fn utf8_at(e: csv::Error, line: u64) -> DataError {
    if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
        DataError::NotUtf8 { line }
    } else {
        csv_error(e)
    }
}

/// `p` (a probability from an `f32`) with six decimals, as `format!("{p:.6}")`: the
/// product with 10^6 is exact in an `f64`, so rounding it half to even is the
/// formatter's rounding of the exact value.
pub(super) fn push_fixed6(out: &mut Vec<u8>, p: f64) {
    // Adding 2^52 to a number from 0 to 10^6 rounds it to an integer, half to even
    // (the default rounding), without a call to the C library's rint.
    const TWO_52: f64 = (1u64 << 52) as f64;
    let millionths = ((p * 1e6 + TWO_52) - TWO_52) as u32;
    out.push(b'0' + (millionths / 1_000_000) as u8);
    out.push(b'.');
    let mut digits = [b'0'; 6];
    let mut rest = millionths % 1_000_000;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&digits);
}
