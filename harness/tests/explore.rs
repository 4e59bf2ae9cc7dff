//! `faultline explore` on the embedded mock, where the answer is known: with
//! librdkafka's default auto commit, consumer faults break lost-delivery or
//! premature-commit, and the schedule shrinks to one consumer crash; with the
//! offset stored after processing, the same space finds nothing. Run through
//! the binary, as a user runs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

struct Explored {
    code: i32,
    stdout: String,
    stderr: String,
    out: PathBuf,
    result: Option<Value>,
    secs: f64,
    _dir: tempfile::TempDir,
}

/// `faultline explore FILE ARGS --out <temp>`; `edit` changes the file first.
fn explore(file: &str, args: &[&str], edit: impl Fn(String) -> String) -> Explored {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(common::repo().join(file)).expect("scenario");
    let scenario = dir.path().join(Path::new(file).file_name().unwrap());
    std::fs::write(&scenario, edit(text)).unwrap();
    let out = dir.path().join("out");
    let started = Instant::now();
    let ran = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("explore")
        .arg(&scenario)
        .args(args)
        .arg("--out")
        .arg(&out)
        .current_dir(common::repo())
        .output()
        .expect("faultline runs");
    let result =
        std::fs::read_to_string(out.join("explore.json")).ok().map(|t| serde_json::from_str(&t).expect("JSON"));
    Explored {
        code: ran.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&ran.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&ran.stderr).into_owned(),
        out,
        result,
        secs: started.elapsed().as_secs_f64(),
        _dir: dir,
    }
}

/// The file without its comments: what runs.
fn body(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n")
}

#[test]
fn auto_commit_breaks_and_shrinks_to_one_consumer_crash() {
    // Fewer shrink candidates and reproductions than the example file, to
    // keep the test near two minutes: dropping the extra faults comes first.
    let e = explore("scenarios/explore/auto-commit.toml", &["--jobs", "2", "--seed", "1"], |t| {
        t.replace("max_shrinks = 12", "max_shrinks = 6").replace("reproduce = 3", "reproduce = 2")
    });
    assert_eq!(e.code, 1, "a schedule broke an expectation\n{}{}", e.stdout, e.stderr);
    assert!(e.stdout.starts_with("FOUND"), "{}", e.stdout);
    let r = e.result.as_ref().expect("explore.json");
    let found = &r["found"];
    let broke: Vec<&str> = found["broke"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        broke.iter().any(|b| b.starts_with("premature-commit") || b.starts_with("lost-delivery")),
        "broke {broke:?}"
    );
    assert_eq!(found["minimal_faults"], 1, "{found:#}");
    let minimal = found["minimal"].as_str().unwrap();
    assert!(minimal.starts_with("crash-consumer "), "shrunk to one crash: {minimal}");
    assert_eq!(found["runs"], 2, "reproduced as many times as asked");

    // minimal.toml is a scenario `faultline run` takes: one crash, the
    // header saying how it was found; its body is what the reproduction ran.
    let file = std::fs::read_to_string(e.out.join("minimal.toml")).expect("minimal.toml");
    let s = faultline::scenario::parse(&e.out.join("minimal.toml"), &file).expect("minimal.toml loads");
    assert_eq!(s.faults.len(), 1);
    assert_eq!(s.faults[0].kind(), faultline::scenario::FaultKind::CrashConsumer);
    assert!(s.explore.is_none(), "no [explore]: it runs as written");
    for said in [
        "seed 1",
        "repeat      faultline explore",
        "--seed 1",
        "found       case",
        "shrunk",
        "reproduces  ",
        "minimal     crash-consumer",
    ] {
        assert!(file.contains(said), "header says `{said}`:\n{file}");
    }
    let ran = std::fs::read_to_string(e.out.join("cases/minimal.toml")).expect("the reproduction's file");
    assert_eq!(body(&file), body(&ran));

    let cases = r["cases"].as_array().unwrap().len() as f64;
    eprintln!(
        "[figure] explore auto-commit (mock, --jobs 2, seed 1): {} case(s) searched in {:.0}s ({:.1} per minute); \
         {} shrink step(s), {} candidate(s); minimal {minimal}; reproduced {}/{}; {} runs in {:.0}s",
        cases,
        r["search_s"].as_f64().unwrap(),
        cases * 60.0 / r["search_s"].as_f64().unwrap().max(1e-9),
        found["steps"].as_array().unwrap().len(),
        found["candidates"],
        found["reproduced"],
        found["runs"],
        r["runs"],
        e.secs
    );
}

#[test]
fn store_after_processing_finds_no_loss_and_says_it_is_no_proof() {
    let e = explore(
        "scenarios/explore/store-after-processing.toml",
        &["--jobs", "2", "--seed", "1", "--cases", "4"],
        |t| t,
    );
    assert_eq!(e.code, 0, "nothing broke\n{}{}", e.stdout, e.stderr);
    assert!(e.stdout.starts_with("NOTHING FOUND"), "{}", e.stdout);
    assert!(e.stdout.contains("not a proof"), "{}", e.stdout);
    let r = e.result.as_ref().expect("explore.json");
    assert!(r["found"].is_null());
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4, "every case tried");
    assert!(cases.iter().all(|c| c["judged"] == "held"), "{cases:#?}");
    assert!(r["covered"].as_object().is_some_and(|c| !c.is_empty()), "says what was covered");
    assert!(!e.out.join("minimal.toml").exists());
    eprintln!(
        "[figure] explore store-after-processing (mock, --jobs 2, seed 1): 4 cases held in {:.0}s; covered {}",
        e.secs, r["covered"]
    );
}

/// What is wrong, the flags, an edit of the file, what the error says.
type BadCase = (&'static str, &'static [&'static str], fn(String) -> String, &'static str);

/// Bad bounds are refused before anything runs, naming file, line and field
/// (or the flag), exit 2.
#[test]
fn bad_bounds_are_refused_before_anything_runs() {
    let file = "scenarios/explore/auto-commit.toml";
    let cases: [BadCase; 6] = [
        (
            "no kinds",
            &[],
            |t| t.replace(r#"kinds = ["crash-consumer", "stall-consumer"]"#, "kinds = []"),
            "explore.kinds: no fault kind",
        ),
        (
            "latest before earliest",
            &[],
            |t| t.replace(r#"latest = "7s""#, r#"latest = "1s""#),
            "explore.latest: earlier than `earliest`",
        ),
        (
            "fault past run.timeout",
            &[],
            |t| t.replace(r#"latest = "7s""#, r#"latest = "29s""#),
            "would still be on when run.timeout",
        ),
        (
            "a member that is not there",
            &[],
            |t| t.replace("max_shrinks = 12", "max_shrinks = 12\nmembers = [5]"),
            "member 5 does not exist",
        ),
        ("a kind the mock cannot take", &["--kinds", "isolate-broker"], |t| t, "isolate-broker needs backend"),
        ("zero cases", &["--cases", "0"], |t| t, "--cases 0"),
    ];
    let text = std::fs::read_to_string(common::repo().join(file)).expect("scenario");
    for (what, args, edit, says) in cases {
        if args.is_empty() {
            assert_ne!(edit(text.clone()), text, "{what}: the edit must change the file, or the case tests nothing");
        }
        let e = explore(file, args, edit);
        assert_eq!(e.code, 2, "{what}\n{}{}", e.stdout, e.stderr);
        // miette wraps long lines at the terminal's width.
        let said = e.stderr.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(said.contains(says), "{what}: says `{says}`:\n{}", e.stderr);
        assert!(!e.stderr.contains("panicked"), "{what}: {}", e.stderr);
        assert!(e.result.is_none(), "{what}: nothing ran");
    }
    let e = explore("scenarios/mock/clean.toml", &[], |t| t);
    assert_eq!(e.code, 2);
    assert!(e.stderr.contains("no [explore] table"), "{}", e.stderr);
    let e = explore(file, &["--jobs", "2", "--backend", "docker"], |t| t);
    assert_eq!(e.code, 2);
    assert!(e.stderr.contains("need the embedded mock"), "{}", e.stderr);
}
