//! Batch scoring of a CSV: every input row comes out with its probability and class,
//! or with an error naming what is wrong with it; the valid rows are still scored.
//!
//! The file streams through in chunks cut at record boundaries: one thread reads and
//! cuts, one worker per core parses, scores and formats whole chunks, and the calling
//! thread writes them back in input order. A few chunks per worker are held at once
//! ([`CHUNK_BYTES`], [`IN_FLIGHT`]), so memory stays bounded whatever the file's size. A plain row (no quotes, no
//! carriage return inside) is split and written without the general CSV machinery;
//! any other row goes through the `csv` crate, and both give the bytes the `csv`
//! writer would (tested against it).

use crate::data::{csv_error, Columns, DataError, MAX_LINE_BYTES, MAX_RECORD_BYTES};
use crate::predictor::{is_probability, Predictor};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchSummary {
    pub rows: usize,
    pub scored: usize,
    /// Rows with an input out of range or unreadable (see their error column).
    pub invalid: usize,
    /// Valid rows the model gave no probability for (never given a class).
    pub failed: usize,
}

impl BatchSummary {
    fn add(&mut self, other: BatchSummary) {
        self.rows += other.rows;
        self.scored += other.scored;
        self.invalid += other.invalid;
        self.failed += other.failed;
    }
}

/// Input bytes per chunk (a chunk ends at the first record boundary past this).
const CHUNK_BYTES: usize = 256 * 1024;
/// Rows given to the network at once.
const SCORE_ROWS: usize = 1024;
/// Chunks read but not yet written, at most, per worker.
const IN_FLIGHT: usize = 3;

/// Streams CSV `input` to `output`: the input's columns followed by `probability`,
/// `at_risk` (0/1) and `error`, in the input's order.
pub fn score_csv(
    input: impl Read + Send,
    output: impl Write,
    predictor: &Predictor,
) -> Result<BatchSummary, DataError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    score_csv_with(input, output, predictor, workers)
}

/// [`score_csv`] with `workers` scoring threads.
pub fn score_csv_with(
    mut input: impl Read + Send,
    output: impl Write,
    predictor: &Predictor,
    workers: usize,
) -> Result<BatchSummary, DataError> {
    let mut cutter = Cutter::default();
    let header = cutter.header(&mut input)?;
    let headers = {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(header.as_slice());
        reader.headers().map_err(|e| utf8_at(e, 1))?.clone()
    };
    let columns = Columns::find(&headers, false)?;
    let mut output = csv::Writer::from_writer(output);
    let width = headers.len();
    let mut header_out = headers;
    header_out.extend(["probability", "at_risk", "error"]);
    output.write_record(&header_out)?;
    let mut output = output.into_inner().map_err(|e| e.into_error())?;
    let first_line = 1 + count_lines(&header);

    let workers = workers.max(1);
    let (work_tx, work_rx) = sync_channel::<Chunk>(workers);
    let (done_tx, done_rx) = sync_channel::<Done>(workers * IN_FLIGHT);
    let work_rx = Arc::new(Mutex::new(work_rx));
    std::thread::scope(|scope| {
        scope.spawn(move || cutter.cut_all(input, work_tx));
        for _ in 0..workers {
            let work = Arc::clone(&work_rx);
            let done = done_tx.clone();
            let columns = &columns;
            scope.spawn(move || score_chunks(&work, &done, columns, width, predictor));
        }
        // Only the workers hold these now, so each side sees the other stop.
        drop(work_rx);
        drop(done_tx);
        write_in_order(done_rx, &mut output, first_line)
    })
}

/// A numbered piece of the input, whole records only (or what stopped the reading).
type Chunk = (u64, Result<Vec<u8>, DataError>);
/// A numbered chunk's output, or what stopped it.
type Done = (u64, Result<Scored, Failed>);

/// A chunk's output and what happened to its rows.
struct Scored {
    bytes: Vec<u8>,
    summary: BatchSummary,
    lines: u64,
}

/// What stopped a chunk, and on which of its lines (counted from 0).
struct Failed {
    error: DataError,
    line: u64,
}

fn write_in_order(
    done: Receiver<Done>,
    output: &mut impl Write,
    first_line: u64,
) -> Result<BatchSummary, DataError> {
    let mut waiting = BTreeMap::new();
    let mut next = 0;
    let mut line = first_line;
    let mut summary = BatchSummary::default();
    for (seq, result) in done {
        waiting.insert(seq, result);
        while let Some(result) = waiting.remove(&next) {
            match result {
                Ok(chunk) => {
                    output.write_all(&chunk.bytes)?;
                    summary.add(chunk.summary);
                    line += chunk.lines;
                }
                Err(failed) => return Err(failed.error.at_line(line + failed.line)),
            }
            next += 1;
        }
    }
    output.flush()?;
    Ok(summary)
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Cuts the input into chunks of whole records.
#[derive(Default)]
struct Cutter {
    buffer: Vec<u8>,
    at_end: bool,
}

impl Cutter {
    /// Reads more input; `false` once there is none.
    fn fill(&mut self, input: &mut impl Read, want: usize) -> Result<bool, DataError> {
        if self.at_end {
            return Ok(false);
        }
        let start = self.buffer.len();
        self.buffer.resize(start + want, 0);
        let read = loop {
            match input.read(&mut self.buffer[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(DataError::Io {
                        path: "the input".into(),
                        source,
                    })
                }
            }
        };
        self.buffer.truncate(start + read);
        self.at_end = read == 0;
        Ok(read > 0)
    }

    /// The first record (the header), with its line break.
    fn header(&mut self, input: &mut impl Read) -> Result<Vec<u8>, DataError> {
        loop {
            if let Some(end) = record_end(&self.buffer) {
                return Ok(self.buffer.drain(..end).collect());
            }
            if self.buffer.len() > MAX_LINE_BYTES {
                return Err(DataError::LineTooLong);
            }
            if !self.fill(input, 64 * 1024)? {
                return Ok(std::mem::take(&mut self.buffer));
            }
        }
    }

    /// Sends the rest of the input as numbered chunks of whole records; an error
    /// ends the stream.
    fn cut_all(mut self, mut input: impl Read, chunks: SyncSender<Chunk>) {
        let mut seq = 0;
        loop {
            let chunk = self.next_chunk(&mut input);
            let last = !matches!(chunk, Ok(Some(_)));
            let chunk = match chunk {
                Ok(Some(c)) => Ok(c),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            if chunks.send((seq, chunk)).is_err() || last {
                return;
            }
            seq += 1;
        }
    }

    fn next_chunk(&mut self, input: &mut impl Read) -> Result<Option<Vec<u8>>, DataError> {
        loop {
            if self.buffer.len() >= CHUNK_BYTES || self.at_end {
                if let Some(cut) = last_record_end(&self.buffer) {
                    let rest = self.buffer.split_off(cut);
                    return Ok(Some(std::mem::replace(&mut self.buffer, rest)));
                }
                if self.at_end {
                    return Ok((!self.buffer.is_empty()).then(|| std::mem::take(&mut self.buffer)));
                }
                if self.buffer.len() > MAX_RECORD_BYTES {
                    return Err(if memchr::memchr(b'\n', &self.buffer).is_none() {
                        DataError::LineTooLong
                    } else {
                        DataError::RecordTooLong
                    });
                }
            }
            let want = CHUNK_BYTES.saturating_sub(self.buffer.len()).max(64 * 1024);
            self.fill(input, want)?;
        }
    }
}

/// Where the record starting at 0 ends (after its line break); quoted line breaks
/// belong to the record.
fn record_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The end of the last whole record in `bytes` (after its line break).
fn last_record_end(bytes: &[u8]) -> Option<usize> {
    if memchr::memchr(b'"', bytes).is_none() {
        return memchr::memrchr(b'\n', bytes).map(|i| i + 1);
    }
    let mut quoted = false;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => end = Some(i + 1),
            _ => {}
        }
    }
    end
}

fn score_chunks(
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
        let probabilities: Vec<f32> = self
            .features
            .chunks(SCORE_ROWS)
            .flat_map(|rows| self.predictor.probabilities(rows))
            .collect();
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
                    self.check_width(self.cells.len(), line)?;
                    let cells = &self.cells;
                    let inputs = self
                        .columns
                        .inputs_of(|i| cells.get(i).map(|&(s, e)| &text[s..e]));
                    self.push(Row::Plain(content), inputs);
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
fn utf8_at(e: csv::Error, line: u64) -> DataError {
    if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
        DataError::NotUtf8 { line }
    } else {
        csv_error(e)
    }
}

/// `p` (a probability from an `f32`) with six decimals, as `format!("{p:.6}")`: the
/// product with 10^6 is exact in an `f64`, so rounding it half to even is the
/// formatter's rounding of the exact value.
fn push_fixed6(out: &mut Vec<u8>, p: f64) {
    let millionths = (p * 1e6).round_ties_even() as u32;
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

    #[test]
    fn six_decimals_round_as_the_formatter_does() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut values: Vec<f32> = (0..2_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        // Ties at the sixth decimal: k/128 is exactly half a millionth away from one.
        values.extend((0..=128).map(|k| k as f32 / 128.0));
        values.extend([0.0, 1.0, 0.5, 0.999_999_5, 0.000_000_5, f32::MIN_POSITIVE]);
        for v in values {
            let p = f64::from(v);
            let mut ours = Vec::new();
            push_fixed6(&mut ours, p);
            assert_eq!(String::from_utf8(ours).unwrap(), format!("{p:.6}"), "{v:e}");
        }
    }
}

/// The scoring before it was split into parallel chunks, kept as the reference the
/// streaming one must match byte for byte.
#[cfg(test)]
mod reference {
    use super::*;
    use crate::data::LineGuard;

    const CHUNK_ROWS: usize = 4096;
    const CHUNK_BYTES: usize = 4 << 20;

    fn score_csv_sequential(
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
                        out.push_field(&format!(
                            "the model gave no probability for this row ({p})"
                        ));
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

    /// A file with every kind of row: plain, quoted (with commas, quotes and line
    /// breaks inside), CRLF and lone CR endings, blank lines, short and long rows,
    /// invalid values, unusual number forms, non-ASCII text.
    fn tricky_file(rows: usize, seed: u64) -> String {
        let mut state = seed | 1;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut s = String::from("id,colesterol,presion,glucosa,edad,sobrepeso,tabaquismo,note\n");
        for i in 0..rows {
            let c = format!("{}.{}", 1 + next(2), next(10));
            let p = format!("{}.{}", next(2), 6 + next(4));
            let g = format!("{}.{}", next(2), 5 + next(5));
            let e = next(100).to_string();
            let (o, t) = (next(2), next(2));
            let row = match next(20) {
                0 => format!("{i},{c},{p},{g},{e},{o},{t},\"a, \"\"quoted\"\"\nnote\"\n"),
                1 => format!("{i},{c},{p},{g},{e},{o},{t},crlf\r\n"),
                2 => format!("{i},{c},{p},{g},{e},{o},{t},cr\r"),
                3 => "\n".to_string(),
                5 => format!("{i},9.9,{p},{g},{e},{o},{t},high\n"),
                6 => format!("{i}, {c} ,+{p},{g}e0,{e}.0,{o},{t},forms\n"),
                7 => format!("{i},{c},{p},{g},{e},{o},{t},\"ñandú, 李\"\n"),
                8 => format!("\"{i}\",\"{c}\",{p},{g},{e},{o},{t},\"\"\n"),
                9 => format!("{i},{c},{p},{g},{e},2,{t},flag\n"),
                10 => format!("{i},,{p},{g},abc,{o},{t},empty\n"),
                _ => format!("{i},{c},{p},{g},{e},{o},{t},plain\n"),
            };
            s.push_str(&row);
        }
        s
    }

    #[test]
    fn streaming_gives_the_same_bytes_as_the_sequential_reference() {
        let predictor = Predictor::embedded();
        for (rows, seed) in [(0, 1), (1, 2), (300, 3), (40_000, 4)] {
            let file = tricky_file(rows, seed);
            let mut expected = Vec::new();
            let want = score_csv_sequential(file.as_bytes(), &mut expected, &predictor).unwrap();
            for workers in [1, 2, 3] {
                let mut got = Vec::new();
                let summary =
                    score_csv_with(file.as_bytes(), &mut got, &predictor, workers).unwrap();
                assert_eq!(summary, want, "{rows} rows, {workers} workers");
                if got != expected {
                    let (g, e) = (
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&expected),
                    );
                    let first = g.lines().zip(e.lines()).position(|(a, b)| a != b);
                    panic!("{rows} rows, {workers} workers: first differing line {first:?}");
                }
            }
        }
    }

    #[test]
    fn a_file_without_a_final_line_break_or_with_only_a_header_matches_too() {
        let predictor = Predictor::embedded();
        for file in [
            "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n2.5,1.6,0.8,30,0,0",
            "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo",
            "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\r\n2.5,1.6,0.8,30,0,0\r\n",
            "\u{feff}colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n2.5,1.6,0.8,30,0,0\n",
        ] {
            let mut expected = Vec::new();
            let want = score_csv_sequential(file.as_bytes(), &mut expected, &predictor).unwrap();
            let mut got = Vec::new();
            let summary = score_csv(file.as_bytes(), &mut got, &predictor).unwrap();
            assert_eq!((summary, got), (want, expected), "{file:?}");
        }
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
        let n: usize = 60_000;
        for i in 0..n {
            let bad = i % 7919 == 0;
            let colesterol = if bad { "9" } else { "2.5" };
            input.push_str(&format!("{colesterol},1.6,0.8,{},0,0,{i}\n", i % 100));
        }
        let mut out = Vec::new();
        let summary = score_csv(input.as_bytes(), &mut out, &Predictor::embedded()).unwrap();
        assert_eq!((summary.rows, summary.invalid), (n, n.div_ceil(7919)));
        let text = String::from_utf8(out).unwrap();
        for (i, line) in text.lines().skip(1).enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[6], i.to_string(), "row order");
            let bad = i % 7919 == 0;
            assert_eq!(cells[9].is_empty(), !bad, "{line}");
        }
    }

    #[test]
    fn a_file_without_line_breaks_is_refused_not_buffered() {
        let zeros = std::io::repeat(0).take(10 << 20);
        let err = score_csv(zeros, std::io::sink(), &Predictor::embedded()).unwrap_err();
        assert!(matches!(err, DataError::LineTooLong), "{err}");
        let header = "colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n".as_bytes();
        let err = score_csv(
            header.chain(std::io::repeat(b'7').take(10 << 20)),
            std::io::sink(),
            &Predictor::embedded(),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::LineTooLong), "{err}");
    }

    #[test]
    fn a_quote_never_closed_is_refused_once_the_record_passes_its_limit() {
        let mut input = b"colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n\"".to_vec();
        input.extend(std::iter::repeat_n(b"2.5,1.6,0.8,30,0,0\n".as_slice(), 200_000).flatten());
        let err = score_csv(input.as_slice(), std::io::sink(), &Predictor::embedded()).unwrap_err();
        assert!(matches!(err, DataError::RecordTooLong), "{err}");
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_naming_its_line() {
        let mut input = b"colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n".to_vec();
        for _ in 0..20_000 {
            input.extend_from_slice(b"2.5,1.6,0.8,30,0,0\n");
        }
        input.extend_from_slice(b"2.5,1.6,0.8,30,0,0,\xff\n");
        let err = score_csv(input.as_slice(), std::io::sink(), &Predictor::embedded()).unwrap_err();
        assert!(matches!(err, DataError::NotUtf8 { line: 20_002 }), "{err}");
    }

    /// A row with fewer or more cells than the header stops the batch naming its line
    /// (the output's columns would not line up), as the sequential scoring did.
    #[test]
    fn a_row_of_another_width_is_refused_naming_its_line() {
        for (row, cells) in [
            ("2.5,1.6,0.8\n", 3),
            ("2.5,1.6,0.8,30,0,0,x\n", 7),
            ("\"2.5\",1.6\r\n", 2),
        ] {
            let mut input = b"colesterol,presion,glucosa,edad,sobrepeso,tabaquismo\n".to_vec();
            for _ in 0..30_000 {
                input.extend_from_slice(b"2.5,1.6,0.8,30,0,0\n");
            }
            input.extend_from_slice(row.as_bytes());
            input.extend_from_slice(b"2.5,1.6,0.8,30,0,0\n");
            let err =
                score_csv(input.as_slice(), std::io::sink(), &Predictor::embedded()).unwrap_err();
            assert!(
                matches!(err, DataError::RowWidth { line: 30_002, cells: c, expected: 6 } if c == cells),
                "{row:?}: {err}"
            );
        }
    }
}
