//! The ledger: every event of a run, append-only, one JSON line each, in the
//! run folder. It is written as the run goes so that a run that dies can still
//! be checked with `faultline check`.

mod event;
mod read;

pub use event::{Entry, Event, Offset, Partition, RecordId, Role, PROTOCOL_VERSION};

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// File name of the ledger inside a run folder.
pub const FILE_NAME: &str = "ledger.jsonl";

/// What a finished run left: where its ledger is and what ran it. The
/// verdict comes from the ledger alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    /// The run folder: ledger.jsonl, scenario.toml, logs/.
    pub dir: PathBuf,
    /// What the cluster was, for the summary: "mock (librdkafka), 1 broker".
    pub cluster: String,
    #[serde(with = "humantime_serde")]
    pub elapsed: Duration,
    /// How long the drain took.
    #[serde(with = "humantime_serde")]
    pub drain: Duration,
}

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

/// Reads a ledger file back, entry by entry and in order, without holding
/// it in memory. A torn last line (the harness died mid-write) is ignored.
///
/// Parsing JSON costs five times what checking does, so it is spread over
/// the machine's cores (see [`read::Reader`]); the entries still come out
/// in file order.
pub fn read(path: &Path) -> Result<impl Iterator<Item = Result<Entry, ReadError>>, ReadError> {
    read::Reader::open(path)
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

    /// Enough entries that the file spans several blocks and every parser.
    fn big_ledger(path: &Path, n: u64) -> Vec<Entry> {
        let entries: Vec<Entry> = (0..n)
            .map(|t| Entry {
                t,
                src: format!("consumer-{}", t % 3),
                ev: Event::Processed { p: (t % 12) as i32, o: t as i64, id: RecordId { producer: 0, seq: t } },
            })
            .collect();
        let mut w = LedgerWriter::create(path).unwrap();
        entries.iter().for_each(|e| w.append(e).unwrap());
        w.flush().unwrap();
        entries
    }

    #[test]
    fn entries_come_back_in_file_order_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let written = big_ledger(&path, 100_000);
        assert!(std::fs::metadata(&path).unwrap().len() > 5 << 20, "the test needs several blocks");
        assert_eq!(read_all(&path).unwrap(), written);
    }

    #[test]
    fn a_bad_line_in_a_later_block_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        big_ledger(&path, 60_000);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\n{\"t\":1}\n");
        std::fs::write(&path, text).unwrap();
        let mut read = read(&path).unwrap();
        assert_eq!(read.by_ref().take(60_000).filter(Result::is_ok).count(), 60_000);
        let err = read.next().expect("an error").unwrap_err().to_string();
        assert!(err.contains(":60002:"), "blank line 60001 skipped, the bad one named: {err}");
        assert!(read.next().is_none(), "reading ends at the first bad line");
    }

    #[test]
    fn a_line_longer_than_a_block_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let long = Entry { t: 2, src: "x".repeat(3 << 20), ev: Event::Finished };
        let mut w = LedgerWriter::create(&path).unwrap();
        for e in [entry(1), long.clone(), entry(3)] {
            w.append(&e).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(read_all(&path).unwrap(), vec![entry(1), long, entry(3)]);
    }

    #[test]
    fn an_empty_ledger_has_no_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "").unwrap();
        assert!(read_all(&path).unwrap().is_empty());
        assert!(matches!(read(&dir.path().join("missing")), Err(ReadError::Io { .. })));
    }
}
