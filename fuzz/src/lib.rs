//! What the fuzz targets check, one function per target. The targets in
//! fuzz_targets/ call these; harness/tests/fuzz.rs includes this same file
//! (`#[path]`) to replay fuzz/regressions/<target>/* on stable, with no
//! fuzzer. So it may use only what faultline's own dependencies offer.
//!
//! A target fails by panicking: a panic anywhere in faultline, or one of the
//! `assert`s below, which hold faultline to what its docs promise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use faultline::checker::{self, Verdict};
use faultline::ledger::{Entry, ReadError, RunRecord};
use faultline::scenario::{self, Backend, Client, Expectation, Key, Overrides};
use faultline::Outcome;

/// The scenario loader, TOML text → validated scenario: parse and validate
/// never panic, and an error renders (miette, as `faultline run` prints it)
/// and names a line that exists.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The command line's overrides apply before validation: try one of them
    // per input, chosen by the input so that a crash replays.
    let overrides = match data.len() % 4 {
        0 => Overrides::default(),
        1 => Overrides { backend: Some(Backend::Docker), client: None },
        2 => Overrides { backend: None, client: Some(Client::FranzGo) },
        _ => Overrides { backend: Some(Backend::Mock), client: Some(Client::ConfluentKafkaGo) },
    };
    match scenario::parse_with(Path::new("scenarios/fuzz.toml"), text, overrides) {
        Ok(s) => {
            // What the runner reads first of a scenario it was given.
            std::hint::black_box((s.plan().len(), s.cluster.shape(), s.groups.len()));
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(e.line <= lines + 1, "error names line {} of a {lines}-line file: {e}", e.line);
            let mut out = String::new();
            miette::GraphicalReportHandler::new().render_report(&mut out, &e).expect("a scenario error renders");
            std::hint::black_box(out);
        }
    }
}

/// The ledger reader and checker, bytes → entries → verdict. The file goes
/// through `checker::check_file` (the multi-threaded reader), and must come
/// out as a plain line-by-line reading of the same bytes says: the same
/// entries (hence the same verdict as `checker::check` on them), or an error
/// at the same line. The verdict is then judged, as a run's would be.
pub fn ledger(data: &[u8]) {
    let path = scratch();
    std::fs::write(path, data).expect("write the ledger to the scratch file");
    let got = checker::check_file(path);
    match (reference(data), got) {
        (Ok(entries), Ok(verdict)) => {
            let want = checker::check(entries);
            assert_eq!(json(&verdict), json(&want), "check_file and check disagree on the same entries");
            judge(verdict);
        }
        (Err(line), Err(ReadError::Parse { line: got, .. })) => {
            assert_eq!(got, line, "the reader and a line-by-line reading disagree on the bad line");
        }
        (Ok(entries), Err(e)) => {
            panic!("the reader failed ({e}) where a line-by-line reading has {} entries", entries.len())
        }
        (Err(line), Ok(_)) => panic!("the reader accepted a ledger whose line {line} is not an entry"),
        (Err(_), Err(e)) => panic!("the reader failed with {e}, not a parse error"),
    }
}

/// The ledger as `ledger::read` documents it: JSON lines, blank lines
/// skipped, reading stops at the first line that is not an entry (its
/// 1-based number), except a torn last line (no newline) that is ignored.
fn reference(data: &[u8]) -> Result<Vec<Entry>, usize> {
    let mut entries = Vec::new();
    let mut lines = data.split(|&b| b == b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let torn = lines.peek().is_none();
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if torn => {}
            Err(_) => return Err(i + 1),
        }
    }
    Ok(entries)
}

/// Every count held to some expectation, the way `faultline run` judges.
fn judge(verdict: Verdict) {
    let expect: BTreeMap<Key, Expectation> = Key::all()
        .enumerate()
        .map(|(i, k)| (k, [Expectation::Eq(0), Expectation::Ge(1), Expectation::Any][i % 3]))
        .collect();
    let run = RunRecord {
        run_id: "fuzz".into(),
        dir: PathBuf::from("fuzz"),
        cluster: "fuzz".into(),
        elapsed: Duration::from_secs(1),
        drain: Duration::ZERO,
    };
    let outcome = Outcome::new("fuzz", "", &expect, run, verdict);
    std::hint::black_box(serde_json::to_string(&outcome).expect("an outcome serializes"));
}

fn json(verdict: &Verdict) -> serde_json::Value {
    serde_json::to_value(verdict).expect("a verdict serializes")
}

/// The file each input is written to: $FAULTLINE_FUZZ_SCRATCH/ledger.jsonl
/// (fuzz/run.sh makes that directory and removes it), else one per process
/// in /dev/shm (or the temp dir), so that parallel jobs keep apart.
fn scratch() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = match std::env::var_os("FAULTLINE_FUZZ_SCRATCH") {
            Some(dir) => PathBuf::from(dir),
            None => {
                let shm = Path::new("/dev/shm");
                let base = if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() };
                base.join(format!("faultline-fuzz-{}", std::process::id()))
            }
        };
        std::fs::create_dir_all(&dir).expect("make the scratch directory");
        dir.join(format!("ledger-{}.jsonl", std::process::id()))
    })
}
