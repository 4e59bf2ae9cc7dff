//! `faultline check` on damaged ledgers: truncated at many points, a line
//! cut in half, a bad line in the middle, an empty file, a missing file or
//! folder. Whatever the damage, the binary never panics; a bad line in the
//! middle is exit 2 naming the file and the line; a ledger cut short is never
//! a pass, and its verdict says what could not be judged.
//!
//! One real ledger (quickstart on the embedded mock, a PASS) is made once
//! and damaged in copies.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;

/// The ledger and scenario of one real, passing run.
struct Fixture {
    ledger: Vec<u8>,
    scenario: String,
}

impl Fixture {
    /// Byte offset just past each line's newline.
    fn line_ends(&self) -> Vec<usize> {
        memchr_all(&self.ledger).into_iter().map(|i| i + 1).collect()
    }

    /// The lines, without their newlines.
    fn lines(&self) -> Vec<&[u8]> {
        self.ledger.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect()
    }

    /// Index of the first line whose event is `ev`.
    fn first(&self, ev: &str) -> usize {
        self.find(&format!("\"ev\":{{\"{ev}\""), ev)
    }

    /// Index of the audit's end mark (an event without fields).
    fn end_mark(&self) -> usize {
        self.find("\"ev\":\"audit-end\"", "audit-end")
    }

    fn find(&self, needle: &str, ev: &str) -> usize {
        self.lines()
            .iter()
            .position(|l| String::from_utf8_lossy(l).contains(needle))
            .unwrap_or_else(|| panic!("no {ev} line in the ledger"))
    }
}

fn memchr_all(bytes: &[u8]) -> Vec<usize> {
    bytes.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i).collect()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let run = common::run_full("scenarios/quickstart.toml");
        assert_eq!(run.code, 0, "the fixture run passes");
        let ledger = std::fs::read(run.dir.join("ledger.jsonl")).expect("ledger");
        let scenario = std::fs::read_to_string(run.dir.join("scenario.toml")).expect("scenario.toml");
        Fixture { ledger, scenario }
    })
}

/// What one `faultline check` printed.
struct Checked {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Checked {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("check --json prints JSON ({e}): {}", self.stdout))
    }
}

fn check(dir: &Path, json: bool) -> Checked {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline"));
    cmd.arg("check").arg(dir);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().expect("faultline runs");
    let checked = Checked {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !checked.stderr.contains("panicked") && (0..=2).contains(&checked.code),
        "{}: no panic, exit 0, 1 or 2; got {}\n{}",
        dir.display(),
        checked.code,
        checked.stderr
    );
    checked
}

/// A run folder holding `ledger` and the fixture's scenario.
fn folder(ledger: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write_run(dir.path(), ledger);
    dir
}

fn write_run(dir: &Path, ledger: &[u8]) {
    std::fs::write(dir.join("ledger.jsonl"), ledger).expect("ledger written");
    std::fs::write(dir.join("scenario.toml"), &fixture().scenario).expect("scenario written");
}

/// splitmix64: a fixed seed, the same cuts on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// Where a cut falls in the run, by the last whole line it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Region {
    /// Before any line of the audit read.
    BeforeAudit,
    /// Among the audit records, before any high watermark.
    AuditRecords,
    /// Some high watermarks, not all.
    Watermarks,
    /// Every high watermark; some of the groups' final offsets missing.
    GroupOffsets,
    /// Everything but the audit's end mark.
    EndMark,
    /// Nothing lost (or only the last newline).
    Whole,
}

fn expectation<'a>(v: &'a Value, key: &str) -> &'a Value {
    let found = v["expectations"].as_array().and_then(|js| js.iter().find(|j| j["key"] == key));
    found.unwrap_or_else(|| panic!("{key} not judged: {v:#}"))
}

#[test]
fn a_ledger_cut_short_is_never_a_pass_and_says_what_it_lacks() {
    let f = fixture();
    let ends = f.line_ends();
    let (audit, hwm, offsets, end) = (f.first("audit"), f.first("hwm"), f.first("group-offset"), f.end_mark());
    let lines = ends.len();
    // Lines kept whole by a cut at byte `cut` (a last line without its
    // newline is whole, a part of one is torn and ignored).
    let kept = |cut: usize| ends.iter().filter(|&&e| e - 1 <= cut).count();
    let region = |kept: usize| match kept {
        k if k <= audit => Region::BeforeAudit,
        k if k <= hwm => Region::AuditRecords,
        k if k < offsets => Region::Watermarks,
        k if k < end => Region::GroupOffsets,
        k if k == end => Region::EndMark,
        _ => Region::Whole,
    };

    let mut rng = Rng(13);
    let mut cuts: Vec<usize> = Vec::new();
    // 100 cuts at line ends, 100 anywhere (mostly mid-line).
    cuts.extend((0..100).map(|_| ends[rng.below(lines)]));
    cuts.extend((0..100).map(|_| rng.below(f.ledger.len() + 1)));
    // Every line end and a mid-line cut around the seams: the last audit
    // records, the watermarks, the groups' offsets; and both ends.
    cuts.extend(&ends[audit.saturating_sub(2)..audit + 2]);
    for &end in &ends[hwm.saturating_sub(3)..] {
        cuts.push(end);
        cuts.push(end - 1); // the line whole, its newline cut
        cuts.push(end - 10); // mid-line
    }
    cuts.extend([0, 1, f.ledger.len()]);

    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tally: std::collections::BTreeMap<(Region, i32), usize> = Default::default();
    let (mut at_end, mut mid_line) = (0, 0);
    for &cut in &cuts {
        if cut == 0 || f.ledger[cut - 1] == b'\n' {
            at_end += 1;
        } else {
            mid_line += 1;
        }
        write_run(dir.path(), &f.ledger[..cut]);
        let out = check(dir.path(), true);
        let region = region(kept(cut));
        *tally.entry((region, out.code)).or_default() += 1;
        let what = format!("cut at byte {cut} (line {}, {region:?})", kept(cut));
        if region == Region::Whole {
            assert_eq!(out.code, 0, "{what}: the whole ledger passes\n{}", out.stdout);
            continue;
        }
        // The full ledger passes: a part of it can neither pass nor fail.
        assert_eq!(out.code, 2, "{what}: never a pass (nor a false fail)\n{}{}", out.stdout, out.stderr);
        let v = out.json();
        assert_eq!(v["status"], "cannot-judge", "{what}");
        let why = v["unjudged"].as_array().map(|w| w.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "));
        let why = why.unwrap_or_default();
        let unjudged = |key: &str| expectation(&v, key)["check"] == "unjudged";
        match region {
            Region::BeforeAudit if kept(cut) == 0 => assert!(why.contains("the ledger is empty"), "{what}: {why}"),
            Region::BeforeAudit => assert!(why.contains("no audit read"), "{what}: {why}"),
            Region::AuditRecords | Region::Watermarks => {
                assert!(why.contains("audit read was cut short"), "{what}: {why}");
                assert!(why.contains("p3"), "{what}: names a partition without its watermark: {why}");
            }
            Region::GroupOffsets => {
                assert!(why.contains("final committed offsets") && why.contains("-g0"), "{what}: {why}");
                assert!(unjudged("premature-commit") && unjudged("commit-regression"), "{what}: {v:#}");
                assert!(!unjudged("lost") && !unjudged("phantom"), "{what}: the audit is whole: {v:#}");
            }
            Region::EndMark => {
                assert!(why.contains("no end mark"), "{what}: {why}");
                assert!(unjudged("premature-commit") && unjudged("commit-regression"), "{what}: {v:#}");
                assert!(!unjudged("lost") && !unjudged("phantom"), "{what}: the audit is whole: {v:#}");
            }
            Region::Whole => unreachable!(),
        }
        if region < Region::GroupOffsets {
            assert!(unjudged("lost") && unjudged("phantom"), "{what}: {v:#}");
            assert_eq!(v["verdict"]["audited"], false, "{what}");
        }
    }
    eprintln!(
        "[figure] truncation: {} cuts ({at_end} at line ends, {mid_line} mid-line), checked in {:.1}s",
        cuts.len(),
        started.elapsed().as_secs_f64()
    );
    for ((region, code), n) in &tally {
        eprintln!("[figure] truncation {region:?}: {n} cut(s) -> exit {code}");
    }
}

/// A bad line anywhere but at the very end: exit 2, the file and the line
/// named, no verdict.
#[test]
fn a_bad_line_in_the_middle_names_the_file_and_its_line() {
    let f = fixture();
    let lines = f.lines();
    // 1-based lines: early, mid-workload, among the audit records, among the
    // watermarks, the first group offset (not the last line).
    let at = [2, lines.len() / 3, f.first("audit") + 50, f.first("hwm") + 2, f.first("group-offset") + 1];
    type Damage = fn(&[u8]) -> Vec<Vec<u8>>;
    let kinds: [(&str, Damage); 7] = [
        ("line cut in half", |l| vec![l[..l.len() / 2].to_vec()]),
        ("line cut in half, joined to the next", |l| vec![l[..l.len() / 2].to_vec()]),
        ("garbage line", |l| vec![b"}}not json at all{{".to_vec(), l.to_vec()]),
        ("JSON of the wrong shape", |l| {
            vec![br#"{"t":1,"src":"audit","ev":{"no-such-event":{}}}"#.to_vec(), l.to_vec()]
        }),
        ("JSON, not an object", |l| vec![b"[1,2,3]".to_vec(), l.to_vec()]),
        ("invalid UTF-8", |l| vec![b"{\"t\":1,\"src\":\"\xff\xfe\",\"ev\":\"finished\"}".to_vec(), l.to_vec()]),
        ("NUL bytes", |l| vec![vec![0u8; 40], l.to_vec()]),
    ];
    let mut cases = 0;
    for (kind, damage) in kinds {
        for &line in &at {
            let mut out: Vec<u8> = Vec::with_capacity(f.ledger.len() + 64);
            for (i, l) in lines.iter().enumerate() {
                let replaced = if i + 1 == line { damage(l) } else { vec![l.to_vec()] };
                let joined = i + 1 == line && kind.ends_with("joined to the next");
                for r in replaced {
                    out.extend_from_slice(&r);
                    if !joined {
                        out.push(b'\n');
                    }
                }
            }
            let dir = folder(&out);
            let checked = check(dir.path(), false);
            let what = format!("{kind} at line {line}");
            assert_eq!(checked.code, 2, "{what}: exit 2\n{}{}", checked.stdout, checked.stderr);
            let file = dir.path().join("ledger.jsonl");
            let named = format!("{}:{line}:", file.display());
            assert!(checked.stderr.contains(&named), "{what}: names {named}\n{}", checked.stderr);
            assert!(checked.stdout.is_empty(), "{what}: no verdict for a ledger read halfway\n{}", checked.stdout);
            cases += 1;
        }
    }
    eprintln!("[figure] bad line in the middle: {cases} cases (7 kinds x 5 places) -> exit 2, file:line named, all");
}

/// A torn last line is what a harness killed mid-write leaves: ignored, so
/// the run is judged on the lines before it.
#[test]
fn a_torn_last_line_is_judged_without_it() {
    let f = fixture();
    let mut torn = f.ledger.clone();
    torn.extend_from_slice(br#"{"t":99999,"src":"audit","ev":{"group-off"#);
    let dir = folder(&torn);
    let out = check(dir.path(), false);
    assert_eq!(out.code, 0, "the ledger whole but a torn last line\n{}{}", out.stdout, out.stderr);
    // Garbage after the last newline is a torn line too; with a newline it is a bad line.
    let mut garbage = f.ledger.clone();
    garbage.extend_from_slice(b"\xff\xfe garbage");
    assert_eq!(check(folder(&garbage).path(), false).code, 0);
    garbage.push(b'\n');
    let out = check(folder(&garbage).path(), false);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains(&format!("ledger.jsonl:{}:", f.lines().len() + 1)), "{}", out.stderr);
    eprintln!(
        "[figure] torn last line: 2 cases -> exit 0 (judged without it); garbage last line with newline -> exit 2"
    );
}

#[test]
fn an_empty_ledger_cannot_be_judged() {
    for (kind, ledger) in [("empty", &b""[..]), ("blank lines", &b"\n\n  \n"[..]), ("one torn line", &b"{\"t\":0,"[..])]
    {
        let dir = folder(ledger);
        let out = check(dir.path(), false);
        assert_eq!(out.code, 2, "{kind}\n{}{}", out.stdout, out.stderr);
        assert!(out.stdout.starts_with("CANNOT JUDGE"), "{kind}: {}", out.stdout);
        assert!(out.stdout.contains("cannot judge: the ledger is empty"), "{kind}: {}", out.stdout);
        assert!(out.stdout.contains("?? "), "{kind}: the unknown expectations are listed: {}", out.stdout);
    }
    eprintln!("[figure] empty ledger: 3 cases (empty, blank lines, one torn line) -> exit 2 CANNOT JUDGE");
}

#[test]
fn a_missing_ledger_or_folder_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: [(&str, PathBuf); 3] = [
        ("no ledger.jsonl", dir.path().join("no-ledger")),
        ("no run folder", dir.path().join("no-such-run")),
        ("ledger.jsonl a folder", dir.path().join("ledger-is-a-dir")),
    ];
    std::fs::create_dir(&cases[0].1).unwrap();
    std::fs::write(cases[0].1.join("scenario.toml"), &fixture().scenario).unwrap();
    std::fs::create_dir_all(cases[2].1.join("ledger.jsonl")).unwrap();
    for (kind, run) in &cases {
        let out = check(run, false);
        assert_eq!(out.code, 2, "{kind}\n{}{}", out.stdout, out.stderr);
        let file = run.join("ledger.jsonl");
        assert!(out.stderr.contains(&format!("cannot read {}", file.display())), "{kind}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{kind}: {}", out.stdout);
    }
    eprintln!(
        "[figure] missing: 3 cases (no ledger.jsonl, no folder, ledger.jsonl a folder) -> exit 2 naming the file"
    );
}

/// The summary a user reads says which group's offsets are missing and
/// what that leaves unknown.
#[test]
fn the_summary_of_a_ledger_cut_in_the_final_offsets_says_what_is_unknown() {
    let f = fixture();
    let ends = f.line_ends();
    let dir = folder(&f.ledger[..ends[f.end_mark() - 2]]); // the last group offset gone
    let out = check(dir.path(), false);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("CANNOT JUDGE"), "{}", out.stdout);
    let said = out.stdout.lines().find(|l| l.contains("cannot judge:")).unwrap_or_default();
    assert!(said.contains("final committed offsets on p3"), "{}", out.stdout);
    assert!(said.contains("premature-commit") && said.contains("commit-regression"), "{}", out.stdout);
    assert!(out.stdout.contains("??   premature-commit = 0"), "{}", out.stdout);
    assert!(out.stdout.contains("ok   lost = 0"), "the audit is whole: {}", out.stdout);
}

/// A ledger whose every group offset is there but not the audit's end mark
/// (the run killed as it wrote it) may lack offsets of a group no member
/// reported: the commit classes are unknown, the rest is judged.
#[test]
fn the_summary_of_a_ledger_without_the_end_mark_says_the_offsets_are_unknown() {
    let f = fixture();
    let dir = folder(&f.ledger[..f.line_ends()[f.end_mark() - 1]]);
    let out = check(dir.path(), false);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let said = out.stdout.lines().find(|l| l.contains("cannot judge:")).unwrap_or_default();
    assert!(said.contains("no end mark") && said.contains("premature-commit"), "{}", out.stdout);
    assert!(out.stdout.contains("??   premature-commit = 0"), "{}", out.stdout);
    assert!(out.stdout.contains("ok   lost = 0"), "the audit is whole: {}", out.stdout);
}
