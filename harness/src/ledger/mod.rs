//! The ledger: every event of a run, append-only, one JSON line each, in the
//! run folder. It is written as the run goes so that a run that dies can still
//! be checked with `faultline check`.

mod event;

pub use event::{Entry, Event, Offset, Partition, RecordId, Role};

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// File name of the ledger inside a run folder.
pub const FILE_NAME: &str = "ledger.jsonl";

/// Appends entries to a ledger file.
pub struct LedgerWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl LedgerWriter {
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = File::create(path)?;
        Ok(LedgerWriter { out: BufWriter::with_capacity(1 << 16, file), path: path.to_owned() })
    }

    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, entry)?;
        self.out.write_all(b"\n")
    }

    /// Makes everything appended so far durable enough to survive a crash of
    /// the harness (the OS has it).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A ledger line that could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}:{line}: not a ledger entry: {source}")]
    Parse { path: PathBuf, line: usize, source: serde_json::Error },
}

/// Reads a ledger file back, entry by entry, without holding it in memory.
/// A torn last line (the harness died mid-write) is ignored.
pub fn read(path: &Path) -> Result<impl Iterator<Item = Result<Entry, ReadError>>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
    let path = path.to_owned();
    let mut input = BufReader::with_capacity(1 << 20, file);
    // One buffer for every line: a fresh one per line costs ~10% of the read.
    let mut line = Vec::with_capacity(256);
    let mut number = 0usize;
    Ok(std::iter::from_fn(move || loop {
        line.clear();
        number += 1;
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(source) => return Some(Err(ReadError::Io { path: path.clone(), source })),
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let torn = !line.ends_with(b"\n");
        return match serde_json::from_slice::<Entry>(&line) {
            Ok(entry) => Some(Ok(entry)),
            Err(_) if torn => None,
            Err(source) => Some(Err(ReadError::Parse { path: path.clone(), line: number, source })),
        };
    }))
}

/// Reads a whole ledger into memory.
pub fn read_all(path: &Path) -> Result<Vec<Entry>, ReadError> {
    read(path)?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: u64) -> Entry {
        Entry { t, src: "runner".into(), ev: Event::Phase { name: "x".into() } }
    }

    #[test]
    fn a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut w = LedgerWriter::create(&path).unwrap();
        w.append(&entry(1)).unwrap();
        w.append(&entry(2)).unwrap();
        w.flush().unwrap();
        drop(w);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(r#"{"t":3,"src":"run"#);
        std::fs::write(&path, text).unwrap();
        let entries = read_all(&path).unwrap();
        assert_eq!(entries, vec![entry(1), entry(2)]);
    }

    #[test]
    fn a_bad_line_in_the_middle_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            "{\"t\":1,\"src\":\"a\",\"ev\":\"finished\"}\nnot json\n{\"t\":2,\"src\":\"a\",\"ev\":\"finished\"}\n",
        )
        .unwrap();
        let err = read_all(&path).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
    }
}
