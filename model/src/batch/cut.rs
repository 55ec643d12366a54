//! Cutting the input into chunks of whole records, quoted line breaks included.

use super::{Chunk, CHUNK_BYTES};
use crate::data::{DataError, MAX_LINE_BYTES, MAX_RECORD_BYTES};
use std::io::Read;
use std::sync::mpsc::SyncSender;

/// Cuts the input into chunks of whole records.
#[derive(Default)]
pub(super) struct Cutter {
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
    pub(super) fn header(&mut self, input: &mut impl Read) -> Result<Vec<u8>, DataError> {
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
    pub(super) fn cut_all(mut self, mut input: impl Read, chunks: SyncSender<Chunk>) {
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
pub(super) fn record_end(bytes: &[u8]) -> Option<usize> {
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
