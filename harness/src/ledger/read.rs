//! Reading a ledger back on several threads: one thread cuts the file into
//! blocks of whole lines and deals them out in turn to the parsers; the
//! reader takes the parsed blocks back in the same turn, so entries come
//! out in file order. Channels are bounded: a few blocks are in flight, and
//! dropping the reader stops every thread at its next send.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use super::{Entry, ReadError};

/// Bytes per block: big enough that handing a block over costs nothing
/// next to parsing it, small enough that blocks in flight stay a few MB.
const BLOCK: usize = 1 << 20;
/// Blocks waiting at each parser, and parsed blocks waiting for the reader.
const QUEUE: usize = 2;
/// More parsers than this only wait on the checker.
const MAX_PARSERS: usize = 4;

/// Whole lines of the file (the last block may end in a torn line), or
/// why the file could not be read.
enum Raw {
    Lines(Vec<u8>),
    Failed(io::Error),
}

/// One block, parsed: its entries, the number of lines it held, and the
/// first bad line (counted from the block's first line) if there was one.
#[derive(Default)]
struct Parsed {
    entries: Vec<Entry>,
    lines: usize,
    bad: Option<(usize, serde_json::Error)>,
    failed: Option<io::Error>,
}

/// The entries of a ledger, in file order.
pub(crate) struct Reader {
    path: PathBuf,
    parsed: Vec<Receiver<Parsed>>,
    turn: usize,
    current: VecDeque<Entry>,
    /// Lines in the blocks before the current one, for error messages.
    lines_before: usize,
    /// Set after an error: the iterator ends.
    done: bool,
    pending_error: Option<ReadError>,
}

impl Reader {
    pub(crate) fn open(path: &Path) -> Result<Reader, ReadError> {
        let file = File::open(path).map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
        let parsers = thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_PARSERS);
        let (raw_tx, raw_rx): (Vec<_>, Vec<_>) = (0..parsers).map(|_| sync_channel::<Raw>(QUEUE)).unzip();
        let (parsed_tx, parsed_rx): (Vec<_>, Vec<_>) = (0..parsers).map(|_| sync_channel::<Parsed>(QUEUE)).unzip();
        // Parsed blocks' buffers go back to the cutter: fresh 1 MB buffers
        // would cost a page fault per 4 kB.
        let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(parsers * (QUEUE + 1));
        thread::Builder::new()
            .name("ledger-cut".into())
            .spawn(move || cut(file, raw_tx, spare_rx))
            .map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
        for (raw, parsed) in raw_rx.into_iter().zip(parsed_tx) {
            let spare = spare_tx.clone();
            thread::Builder::new()
                .name("ledger-parse".into())
                .spawn(move || parse_blocks(raw, parsed, spare))
                .map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
        }
        Ok(Reader {
            path: path.to_owned(),
            parsed: parsed_rx,
            turn: 0,
            current: VecDeque::new(),
            lines_before: 0,
            done: false,
            pending_error: None,
        })
    }

    /// Takes the next parsed block in turn; false at the end of the file.
    fn next_block(&mut self) -> bool {
        let Ok(block) = self.parsed[self.turn % self.parsed.len()].recv() else { return false };
        self.turn += 1;
        self.current = block.entries.into();
        if let Some(source) = block.failed {
            self.pending_error = Some(ReadError::Io { path: self.path.clone(), source });
        } else if let Some((line, source)) = block.bad {
            let line = self.lines_before + line;
            self.pending_error = Some(ReadError::Parse { path: self.path.clone(), line, source });
        }
        self.lines_before += block.lines;
        true
    }
}

impl Iterator for Reader {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.current.pop_front() {
                return Some(Ok(entry));
            }
            if let Some(error) = self.pending_error.take() {
                self.done = true;
                return Some(Err(error));
            }
            if self.done || !self.next_block() {
                self.done = true;
                return None;
            }
        }
    }
}

/// Cuts the file into blocks of whole lines and deals them out in turn.
/// Only the last block can end without a newline.
fn cut(mut file: File, parsers: Vec<SyncSender<Raw>>, spare: Receiver<Vec<u8>>) {
    let mut pending = Vec::with_capacity(BLOCK);
    for turn in 0.. {
        let to = &parsers[turn % parsers.len()];
        let end = match (&mut file).take(BLOCK as u64).read_to_end(&mut pending) {
            Ok(n) => n == 0,
            Err(e) => {
                let _ = to.send(Raw::Failed(e));
                return;
            }
        };
        let bytes = if end {
            std::mem::take(&mut pending)
        } else {
            let Some(newline) = memchr::memrchr(b'\n', &pending) else {
                continue; // a line longer than a block: read on
            };
            let mut rest = spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BLOCK + pending.len() - newline));
            rest.extend_from_slice(&pending[newline + 1..]);
            pending.truncate(newline + 1);
            std::mem::replace(&mut pending, rest)
        };
        if to.send(Raw::Lines(bytes)).is_err() || end {
            return;
        }
    }
}

fn parse_blocks(raw: Receiver<Raw>, parsed: SyncSender<Parsed>, spare: SyncSender<Vec<u8>>) {
    for block in raw {
        let out = match block {
            Raw::Lines(mut bytes) => {
                let out = parse(&bytes);
                bytes.clear();
                let _ = spare.try_send(bytes);
                out
            }
            Raw::Failed(e) => Parsed { failed: Some(e), ..Parsed::default() },
        };
        if parsed.send(out).is_err() {
            return;
        }
    }
}

/// Parses whole lines up to the first bad one. Blank lines are skipped; a
/// last line without its newline that does not parse was torn by a crash
/// of the harness, and is ignored.
fn parse(bytes: &[u8]) -> Parsed {
    let mut out = Parsed { entries: Vec::with_capacity(bytes.len() / 64), ..Parsed::default() };
    let mut rest = bytes;
    while !rest.is_empty() {
        let (line, torn) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], false),
            None => (rest, true),
        };
        rest = rest.get(line.len() + 1..).unwrap_or_default();
        out.lines += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(entry) => out.entries.push(entry),
            Err(_) if torn => {}
            Err(e) => {
                out.bad = Some((out.lines, e));
                break;
            }
        }
    }
    out
}
