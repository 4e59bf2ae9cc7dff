//! The five real-world cases (scenarios/cases/) as a regression suite on real
//! Kafka, run the way a CI job runs it: one `faultline run` over the folder,
//! one cluster shared by the scenarios, junit.xml at the end. Two rounds in
//! a row on the built-in librdkafka consumer (three until the Kafka sweep
//! joined the test command; a round is ~4.5 minutes of CI): every scenario
//! meets its expectations each time and the verdicts do not change. The same files
//! also run once with the clients the cases came from (franz-go: cases 1, 3,
//! 4 and 5; confluent-kafka-go: case 2), then with Apache Kafka's Java
//! consumer, each on a cluster of its own, beside the librdkafka rounds. Needs dockerd, the Kafka image and
//! the adapters (`bash docker/setup.sh`); without them it fails, loudly.
//! Named `docker_*` like the other real-broker tests.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::{classes, count, run_suite, scenario_files, Run};

const ROUNDS: usize = 2;

/// The cases whose verdict class the mock reproduces (the others say in
/// their file why it cannot).
const ON_MOCK_TOO: [&str; 6] = [
    "1-bounded-catch-up",
    "2-premature-offset-store",
    "2-store-after-processing",
    "3-broker-restart",
    "5-fetch-pause-resume",
    "5-fetch-pause-seek-end",
];

fn name(r: &Run) -> String {
    r.verdict["scenario"].as_str().unwrap_or("?").to_string()
}

fn elapsed_secs(r: &Run) -> f64 {
    humantime::parse_duration(r.verdict["elapsed"].as_str().unwrap_or("0s")).map_or(0.0, |d| d.as_secs_f64())
}

/// What each case exists to show, beyond the expectations its file states.
fn assert_case(r: &Run) {
    let v = &r.verdict;
    match name(r).as_str() {
        "1-bounded-catch-up" => common::assert_bounded_groups(r, 3, 3000, 11000),
        "1-idle-timeout-under-pause" => {
            // The idle group was consuming when the broker froze, and quit
            // during the pause, not before it.
            let start = fault_start(r);
            let of = |src: &str, key: &str| {
                r.ledger.iter().filter(|e| e["src"] == src && (e["ev"][key].is_object() || e["ev"] == key)).count()
            };
            let finished_at = r.ledger.iter().find(|e| e["src"] == "g1-m0" && e["ev"] == "finished");
            assert!(finished_at.and_then(|e| e["t"].as_u64()) > Some(start), "the idle member quit during the pause");
            assert!(of("g1-m0", "processed") > 1000, "the idle member was consuming before the pause");
            // Every lost delivery is the idle group's: the bounded group, under
            // the same pause, processed exactly its snapshot.
            let groups = v["verdict"]["groups"].as_array().expect("groups");
            let unique = |name: &str| {
                let g = groups.iter().find(|g| g["group"] == name).expect("group");
                g["processed"].as_u64().unwrap() - g["redelivered"].as_u64().unwrap()
            };
            let snapshot = |name: &str| -> u64 {
                r.ledger
                    .iter()
                    .filter(|e| e["ev"]["snapshot"]["group"] == name)
                    .filter_map(|e| e["ev"]["snapshot"]["hwm"].as_u64())
                    .sum()
            };
            assert_eq!(unique("bounded"), snapshot("bounded"));
            assert!(unique("idle-exit") < snapshot("idle-exit"));
            assert_eq!(count(v, "lost-delivery"), snapshot("idle-exit") - unique("idle-exit"), "{v:#}");
        }
        "2-premature-offset-store" => {
            assert!(count(v, "premature-commit") > 0 && count(v, "lost-delivery") > 0, "{v:#}");
        }
        "3-broker-restart" => {
            let causes = v["verdict"]["redelivery_causes"].as_array().expect("causes");
            assert!(causes[0]["cause"].as_str().unwrap_or("").contains("restart-broker"), "{causes:?}");
            // The members saw the restart and rejoined: a lost or revoked
            // assignment, then a new one, after the fault started.
            let start = fault_start(r);
            let after = |key: &str| r.ledger.iter().any(|e| e["t"].as_u64() >= Some(start) && e["ev"][key].is_object());
            assert!(after("client-error"), "session errors while the broker is down");
            assert!(after("lost") || after("revoked"), "the assignment went");
            assert!(after("assigned"), "and came back");
        }
        "4-pause-equals-session-timeout" => {
            let start = fault_start(r);
            assert!(
                r.ledger.iter().any(|e| e["t"].as_u64() >= Some(start) && e["ev"]["lost"].is_object()),
                "the member's session was lost during the pause"
            );
        }
        "4-session-timeout-above-pause" => {
            assert!(!r.ledger.iter().any(|e| e["ev"]["lost"].is_object()), "no session lost");
        }
        "5-fetch-pause-seek-end" => {
            let seeks = v["verdict"]["seek_findings"].as_array().expect("seek findings");
            assert!(!seeks.is_empty() && seeks.iter().all(|f| !f["records"].as_array().unwrap().is_empty()));
        }
        _ => {}
    }
}

fn fault_start(r: &Run) -> u64 {
    r.ledger.iter().find(|e| e["ev"]["fault-start"].is_object()).and_then(|e| e["t"].as_u64()).expect("a fault")
}

/// Every case a client's own suite runs: those of `cases` (file name
/// prefixes), run on `client` in `rounds` rounds on one cluster. Each run
/// passes, shows what its case exists to show, was run by that client (its
/// `hello` is in the verdict), and gives the same verdict classes as the
/// built-in client's first round would (asserted against the files'
/// expectations, which are the same for every client).
fn client_suite(client: &str, cases: &[&str], rounds: usize) {
    let files: Vec<_> = scenario_files("scenarios/cases")
        .into_iter()
        .filter(|f| cases.iter().any(|c| f.file_name().unwrap().to_string_lossy().starts_with(c)))
        .collect();
    assert!(files.len() >= cases.len(), "{files:?}");
    let mut verdicts: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut rows = Vec::new();
    for round in 1..=rounds {
        let suite = run_suite(&files, &["--client", client]);
        assert_eq!(suite.runs.len(), files.len(), "{client}, round {round}: one run per file\n{}", suite.stdout);
        for r in &suite.runs {
            assert_eq!(r.verdict["passed"], true, "{client}, round {round}, {}: {:#}", name(r), r.verdict);
            let clients = r.verdict["verdict"]["clients"].as_array().expect("clients");
            assert!(
                clients.iter().any(|c| c.as_str().unwrap_or("").starts_with(&format!("{client} "))),
                "{}: the consumers were {client}: {clients:?}",
                name(r)
            );
            assert_case(r);
            verdicts.entry(name(r)).or_default().push(classes(&r.verdict));
            rows.push(common::case_row(r, client));
        }
        assert_eq!(suite.code, 0, "{client}, round {round}\n{}", suite.stdout);
    }
    common::write_figures(&format!("case-figures-{client}.txt"), &rows);
    for (scenario, rounds) in &verdicts {
        assert!(rounds.iter().all(|c| c == &rounds[0]), "{client}, {scenario}: the verdict changed: {rounds:?}");
    }
}

/// The cases with the clients they were reported on: confluent-kafka-go
/// (case 2), then franz-go (cases 1, 3, 4 and 5), one after the other, so
/// that two clusters run at a time on this machine (this test's and the
/// librdkafka rounds'), not three.
/// The other clients, one after the other in one test, so that the
/// librdkafka rounds (the longest test) run beside them from the start: the
/// clients the cases came from (confluent-kafka-go: case 2; franz-go: cases
/// 1, 3, 4 and 5), then Apache Kafka's own Java consumer on the cases it
/// shares with librdkafka. Left out for Java, as clients/java/README.md
/// explains: case 2 (its bug does not happen with Java, whose auto commit
/// never runs past a record in hand; and the member that joins first takes
/// all 40 records in one poll, so member 1's crash trigger may never come:
/// scenarios/kip848/consumer-crash*.toml is the fix's shape with the
/// producer starting late, and runs on Java), case 4's race (Java has no
/// session timer of its own, so whether the broker evicts the member at the
/// thaw is a race), and case 1's idle timeout under a pause (a commitSync
/// that the pause catches blocks the poll thread, idle timer included,
/// until the thaw: a race too).
#[test]
fn docker_the_cases_pass_on_kafka_with_the_other_clients() {
    confluent_kafka_go_case_2();
    client_suite("franz-go", &["1-", "3-", "4-", "5-"], 1);
    client_suite("java", &["1-bounded", "3-", "4-session-timeout-above-pause", "5-"], 1);
}

/// Case 2 on confluent-kafka-go. The fix never loses a record: it passes
/// every time. The bug does not always show: in 1 of 13 runs (on a machine
/// loaded by a compile beside the suite; before the kill came 250 ms into a
/// record, 2 of 3), the member's auto commits stalled at the first offsets
/// (committed 1 while it had been handed 5 records; three results for
/// offset 1 at once, as when the broker answers slowly), so the crash lost
/// nothing. So the bug file runs five times, must reproduce at least once,
/// and a run that does not must have lost nothing; the rate goes to the
/// figures. `debug = "cgrp,protocol"` in `properties` shows librdkafka's
/// side.
fn confluent_kafka_go_case_2() {
    let client = "confluent-kafka-go";
    let dir = common::repo().join("scenarios/cases");
    let fix = dir.join("2-store-after-processing.toml");
    let bug = dir.join("2-premature-offset-store.toml");
    let suite =
        run_suite(&[fix.clone(), fix, bug.clone(), bug.clone(), bug.clone(), bug.clone(), bug], &["--client", client]);
    assert_eq!(suite.runs.len(), 7, "{}", suite.stdout);
    let mut rows = Vec::new();
    let mut reproduced = 0;
    for r in &suite.runs {
        rows.push(common::case_row(r, client));
        let v = &r.verdict;
        assert_ne!(v["status"], "cannot-judge", "{}: {v:#}", name(r));
        assert_eq!(count(v, "lost-write"), 0, "{v:#}");
        if name(r) == "2-store-after-processing" {
            assert_eq!(v["passed"], true, "the fix loses nothing, every time: {v:#}");
        } else if v["passed"] == true {
            assert_case(r);
            reproduced += 1;
        } else {
            // Not reproduced: then nothing was lost either.
            assert_eq!(count(v, "lost-delivery") + count(v, "premature-commit"), 0, "{v:#}");
        }
    }
    rows.push(format!("2-premature-offset-store reproduced in {reproduced} of 5 runs"));
    common::write_figures("case-figures-confluent-kafka-go.txt", &rows);
    assert!(reproduced >= 1, "confluent-kafka-go: case 2 never reproduced in 5 runs\n{}", suite.stdout);
}

#[test]
fn docker_the_five_cases_pass_on_kafka_twice_with_the_same_verdicts() {
    let files = scenario_files("scenarios/cases");
    assert!(files.len() >= 9, "{files:?}");
    let mut verdicts: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut totals = Vec::new();
    let mut rows = Vec::new();
    for round in 1..=ROUNDS {
        let t0 = Instant::now();
        let suite = run_suite(&files, &[]);
        totals.push(t0.elapsed().as_secs_f64());
        assert_eq!(suite.runs.len(), files.len(), "round {round}: one run per file\n{}", suite.stdout);
        for r in &suite.runs {
            assert_eq!(r.verdict["passed"], true, "round {round}, {}: {:#}", name(r), r.verdict);
            assert!(
                r.verdict["cluster"].as_str().unwrap_or("").starts_with("docker kafka"),
                "{}",
                r.verdict["cluster"]
            );
            assert_case(r);
            verdicts.entry(name(r)).or_default().push(classes(&r.verdict));
            times.entry(name(r)).or_default().push(elapsed_secs(r));
            rows.push(common::case_row(r, "rdkafka"));
        }
        assert_eq!(suite.code, 0, "round {round}\n{}", suite.stdout);
        // One cluster for the whole folder: every scenario after the first
        // ran on the cluster the first one started.
        let reused =
            suite.runs.iter().filter(|r| r.verdict["cluster"].as_str().unwrap_or("").contains("reused")).count();
        assert_eq!(reused, files.len() - 1, "round {round}");
        // Each run folder holds its own part of the shared broker's log: it
        // shows its topic being created, and no topic of a later run.
        let topics: Vec<String> =
            suite.runs.iter().map(|r| format!("faultline-{}", r.verdict["run_id"].as_str().unwrap())).collect();
        for (i, r) in suite.runs.iter().enumerate() {
            let log = common::broker_log(r, 1);
            assert!(
                log.contains(&format!("Created log for partition {}-0", topics[i])),
                "{}: own topic in its log",
                name(r)
            );
            assert!(topics[i + 1..].iter().all(|t| !log.contains(t.as_str())), "{}: a later run in its log", name(r));
        }
        // junit.xml: one test case per scenario, none failed.
        assert_eq!(suite.junit.matches("<testcase ").count(), files.len(), "{}", suite.junit);
        assert!(!suite.junit.contains("<failure") && !suite.junit.contains("<error"), "{}", suite.junit);
    }
    // The same files on the mock give the same verdict classes.
    let mock_files: Vec<_> =
        files.iter().filter(|f| ON_MOCK_TOO.iter().any(|c| f.file_stem().is_some_and(|s| s == *c))).cloned().collect();
    assert_eq!(mock_files.len(), ON_MOCK_TOO.len());
    let mock = run_suite(&mock_files, &["--backend", "mock"]);
    assert_eq!(mock.code, 0, "{}", mock.stdout);
    for r in &mock.runs {
        assert_eq!(classes(&r.verdict), verdicts[&name(r)][0], "{}: mock vs kafka", name(r));
    }
    // The figures, also kept in target/tmp/ since a passing test's output
    // is not shown.
    let mut figures = format!("wall time per scenario on Kafka (s), rounds 1..{ROUNDS}; anomaly classes found\n");
    for (scenario, rounds) in &verdicts {
        figures += &format!("  {scenario:<34} {:.1?}  {:?}\n", times[scenario], rounds[0]);
    }
    figures += &format!("  suite total per round (s): {totals:.0?}\n");
    println!("\n{figures}");
    let _ = std::fs::write(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("case-suite-figures.txt"), &figures);
    common::write_figures("case-figures-rdkafka.txt", &rows);
    for (scenario, rounds) in &verdicts {
        assert!(rounds.iter().all(|c| c == &rounds[0]), "{scenario}: the verdict changed between rounds: {rounds:?}");
    }
}
