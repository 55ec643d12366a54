//! Batch scoring of a CSV: every input row comes out with its probability and class,
//! or with an error naming what is wrong with it; the valid rows are still scored.
//!
//! The file streams through in chunks cut at record boundaries: one thread reads and
//! cuts, one worker per core parses, scores and formats whole chunks, and the calling
//! thread writes them back in input order. A few chunks per worker are held at once
//! ([`CHUNK_BYTES`], [`IN_FLIGHT`]), so memory stays bounded whatever the file's
//! size. A plain row (no quotes, no carriage return inside) is split and written
//! without the general CSV machinery; any other row goes through the `csv` crate, and
//! both give the bytes the `csv` writer would (tested against it). `cut` cuts the
//! input, `chunk` is a worker's part; ADR 0022.

use crate::data::{Columns, DataError};
use crate::predictor::Predictor;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

mod chunk;
mod cut;
#[cfg(test)]
mod tests;

use chunk::{score_chunks, utf8_at};
use cut::Cutter;

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
    pub(super) fn add(&mut self, other: BatchSummary) {
        self.rows += other.rows;
        self.scored += other.scored;
        self.invalid += other.invalid;
        self.failed += other.failed;
    }
}

/// Input bytes per chunk (a chunk ends at the first record boundary past this).
pub(super) const CHUNK_BYTES: usize = 256 * 1024;
/// Rows given to the network at once.
pub(super) const SCORE_ROWS: usize = 1024;
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
pub(super) type Chunk = (u64, Result<Vec<u8>, DataError>);
/// A numbered chunk's output, or what stopped it.
pub(super) type Done = (u64, Result<Scored, Failed>);

/// A chunk's output and what happened to its rows.
pub(super) struct Scored {
    pub(super) bytes: Vec<u8>,
    pub(super) summary: BatchSummary,
    pub(super) lines: u64,
}

/// What stopped a chunk, and on which of its lines (counted from 0).
pub(super) struct Failed {
    pub(super) error: DataError,
    pub(super) line: u64,
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

pub(super) fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}
