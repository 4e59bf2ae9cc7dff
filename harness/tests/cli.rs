//! The command line as a user meets it: validation of every shipped
//! scenario, and errors that name file, line and field with exit code 2.

mod common;

use std::process::Command;

fn faultline(args: &[&str], cwd: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).current_dir(cwd).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shipped_scenario_validates() {
    let repo = common::repo();
    let mut files = Vec::new();
    for dir in [
        "scenarios",
        "scenarios/mock",
        "scenarios/kafka",
        "scenarios/cases",
        "scenarios/cases/full-length",
        "scenarios/sweeps",
    ] {
        for e in std::fs::read_dir(repo.join(dir)).expect("scenario folder").flatten() {
            if e.path().extension().is_some_and(|x| x == "toml") {
                files.push(e.path().to_string_lossy().into_owned());
            }
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = faultline(&args, &repo);
    assert_eq!(code, 0, "{out}{err}");
}

fn bad(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), text).unwrap();
    let (code, _, err) = faultline(&["validate", "bad.toml"], dir.path());
    (code, err)
}

#[test]
fn an_unknown_field_is_named_with_its_line() {
    let (code, err) = bad("[[producer]]\nrecords = 10\ncolour = \"red\"\n\n[[group]]\n");
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:3: producer[0].colour: unknown field `colour`"), "{err}");
}

#[test]
fn a_reference_to_a_missing_broker_is_named_with_its_line() {
    let (code, err) = bad(
        "[[producer]]\nrecords = 10\n[[group]]\n[[fault]]\nkind = \"pause-broker\"\nat = \"1s\"\nduration = \"1s\"\nbroker = 4\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:8: fault[0].broker: broker 4 does not exist"), "{err}");
}

#[test]
fn a_bad_duration_and_a_bad_expectation_are_errors_not_panics() {
    let (code, err) = bad("[[producer]]\nrecords = 10\n[[group]]\nprocessing = \"5 parsecs\"\n");
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:4: group[0].processing"), "{err}");
    let (code, err) = bad("[[producer]]\nrecords = 10\n[[group]]\n[expect]\nlots = 1\n");
    assert_eq!(code, 2);
    assert!(err.contains("unknown expectation `lots`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = faultline(&["run", "nope.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("nope.toml") && err.contains("cannot read"), "{err}");
}

#[test]
fn a_field_the_fault_kind_does_not_take_is_named_with_its_line() {
    let (code, err) = bad(
        "[[producer]]\nrecords = 10\n[[group]]\n[[fault]]\nkind = \"crash-consumer\"\nat = \"1s\"\nmember = 0\nseek_to_end = true\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:8: fault[0].seek_to_end: unknown field `seek_to_end`"), "{err}");
    let (code, err) = bad("[[producer]]\nrecords = 10\n[[group]]\n[[fault]]\nkind = \"crash-consumer\"\nat = \"1s\"\n");
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:4: fault[0]: missing field `member`"), "{err}");
    let (code, err) = bad(
        "[[producer]]\nrecords = 10\n[[group]]\n[[fault]]\nkind = \"pause-broker\"\nat = \"1s\"\nbroker = \"one\"\nduration = \"1s\"\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:7: fault[0].broker: invalid value: string \"one\""), "{err}");
}

/// A run folder holding `ledger` (one JSON entry a line) and no scenario.
fn run_folder(ledger: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ledger.jsonl"), ledger.join("\n") + "\n").unwrap();
    dir
}

const CLEAN_RUN: [&str; 7] = [
    r#"{"t":0,"src":"p0","ev":{"started":{"role":"producer"}}}"#,
    r#"{"t":1,"src":"p0","ev":{"sent":{"id":[0,0]}}}"#,
    r#"{"t":2,"src":"p0","ev":{"acked":{"id":[0,0],"p":0,"o":0}}}"#,
    r#"{"t":3,"src":"g0-m0","ev":{"started":{"role":"consumer","group":"g"}}}"#,
    r#"{"t":4,"src":"g0-m0","ev":{"assigned":{"parts":[0],"generation":1}}}"#,
    r#"{"t":5,"src":"g0-m0","ev":{"processed":{"p":0,"o":0,"id":[0,0]}}}"#,
    r#"{"t":6,"src":"g0-m0","ev":{"committed":{"p":0,"o":1}}}"#,
];

#[test]
fn check_of_a_ledger_without_its_audit_read_cannot_judge() {
    let dir = run_folder(&CLEAN_RUN);
    let (code, out, err) = faultline(&["check", "."], dir.path());
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.starts_with("CANNOT JUDGE"), "{out}");
    assert!(out.contains("cannot judge: no audit read in the ledger"), "{out}");
    let (code, json, _) = faultline(&["check", "--json", "."], dir.path());
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&json).expect("check --json prints the outcome");
    assert_eq!((v["status"].as_str(), v["passed"].as_bool()), (Some("cannot-judge"), Some(false)), "{v:#}");
    assert_eq!(v["verdict"]["audited"], false);
}

#[test]
fn check_of_a_complete_ledger_judges_it() {
    let mut ledger = CLEAN_RUN.to_vec();
    ledger.push(r#"{"t":7,"src":"audit","ev":{"audit":{"p":0,"o":0,"id":[0,0]}}}"#);
    ledger.push(r#"{"t":8,"src":"audit","ev":{"hwm":{"p":0,"o":1}}}"#);
    // The broker's final offset of every partition a member committed on.
    ledger.push(r#"{"t":9,"src":"audit","ev":{"group-offset":{"group":"g","p":0,"o":1}}}"#);
    let dir = run_folder(&ledger);
    let (code, out, err) = faultline(&["check", "."], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("PASS"), "{out}");
    // A record the group never processed is a loss, found in the same ledger.
    ledger.insert(7, r#"{"t":7,"src":"audit","ev":{"audit":{"p":0,"o":1,"id":[0,1]}}}"#);
    ledger[9] = r#"{"t":8,"src":"audit","ev":{"hwm":{"p":0,"o":2}}}"#;
    let dir = run_folder(&ledger);
    let (code, out, _) = faultline(&["check", "."], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL lost-delivery = 0 (got 1)"), "{out}");
}

#[test]
fn schema_describes_every_fault_kind_with_exactly_its_fields() {
    let (code, out, err) = faultline(&["schema"], &common::repo());
    assert_eq!(code, 0, "{err}");
    let schema: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let text = out.as_str();
    for kind in ["pause-broker", "restart-broker", "network-cut", "isolate-broker", "crash-consumer", "pause-fetch"] {
        assert!(text.contains(&format!("\"{kind}\"")), "{kind} missing");
    }
    assert!(schema["properties"]["expect"]["properties"]["lost"].is_object(), "expectation keys are listed");
    assert!(schema["properties"]["fault"].is_object());
}

#[test]
fn the_worker_protocol_schema_in_docs_is_the_one_the_types_make() {
    let repo = common::repo();
    let (code, out, err) = faultline(&["schema", "--worker"], &repo);
    assert_eq!(code, 0, "{err}");
    let file = std::fs::read_to_string(repo.join("docs/worker-protocol.schema.json")).expect("schema in docs/");
    assert!(
        out == file,
        "docs/worker-protocol.schema.json is stale: `faultline schema --worker > docs/worker-protocol.schema.json`"
    );
    // Every event a worker writes is documented.
    let doc = std::fs::read_to_string(repo.join("docs/worker-protocol.md")).expect("protocol doc");
    for event in ["hello", "started", "assigned", "revoked", "lost", "processed", "committed", "fetch-paused"] {
        assert!(doc.contains(&format!("{{\"{event}\":")), "{event} is not in docs/worker-protocol.md");
        assert!(out.contains(&format!("\"{event}\"")), "{event} is not in the schema");
    }
}

#[test]
fn a_client_chosen_on_the_command_line_is_validated_like_one_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("async.toml"), "[[producer]]\nrecords = 10\n[[group]]\ncommit = \"async\"\n")
        .unwrap();
    let (code, _, err) = faultline(&["run", "--client", "confluent-kafka-go", "async.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("async.toml:4: group[0].commit: confluent-kafka-go has no"), "{err}");
    let (code, _, err) = faultline(&["run", "--client", "kafkajs", "async.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("unknown client `kafkajs`"), "{err}");
}

/// What franz-go itself would refuse at start is refused when the file is
/// validated, naming the client and the property.
#[test]
fn an_autocommit_interval_franz_go_refuses_is_a_validation_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fast.toml"),
        "[[producer]]\nrecords = 10\n[[group]]\ncommit = \"auto\"\nproperties = { \"auto.commit.interval.ms\" = \"20\" }\n",
    )
    .unwrap();
    let (code, _, err) = faultline(&["validate", "fast.toml"], dir.path());
    assert_eq!(code, 0, "fine for librdkafka: {err}");
    let (code, _, err) = faultline(&["run", "--client", "franz-go", "fast.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("fast.toml:5: group[0].properties.auto.commit.interval.ms: franz-go refuses"), "{err}");
}

#[test]
fn properties_may_be_numbers_and_booleans_as_people_write_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[[producer]]\nrecords = 10\nproperties = { \"enable.idempotence\" = true, \"linger.ms\" = 5 }\n\
                [[group]]\nproperties = { \"session.timeout.ms\" = 6000, \"heartbeat.interval.ms\" = \"500\" }\n";
    std::fs::write(dir.path().join("numbers.toml"), text).unwrap();
    let s = faultline::scenario::load(&dir.path().join("numbers.toml")).expect("numbers and booleans are taken");
    assert_eq!(s.groups[0].properties["session.timeout.ms"], "6000");
    assert_eq!(s.groups[0].properties["heartbeat.interval.ms"], "500");
    assert_eq!(s.producers[0].properties["enable.idempotence"], "true");
    assert_eq!(s.producers[0].properties["linger.ms"], "5");
    // A table or an array is still no property value.
    let (code, err) = bad("[[group]]\nproperties = { \"session.timeout.ms\" = [6000] }\n");
    assert_eq!(code, 2);
    assert!(err.contains("a string, number or boolean"), "{err}");
}

/// Every count and duration has a range: a zero or absurd value is refused
/// when the file is validated, naming the field, its line and the range.
/// (`timeout = "0s"` used to validate and then run forever.)
#[test]
fn counts_and_durations_out_of_range_are_refused_with_the_range() {
    let base = "[[producer]]\nrecords = 100\n[[group]]\n";
    let cases: &[(&str, &str)] = &[
        ("[run]\ntimeout = \"0s\"\n", "bad.toml:5: run.timeout: 0s is out of range; allowed: 1s to 24h"),
        ("[run]\ntimeout = \"400days\"\n", "run.timeout: 9600h is out of range; allowed: 1s to 24h"),
        ("[run]\ndrain_timeout = \"0s\"\n", "bad.toml:5: run.drain_timeout: 0s is out of range; allowed: 1s to 1h"),
        ("[topic]\npartitions = 0\n", "bad.toml:5: topic.partitions: 0 is out of range; allowed: 1 to 1000"),
        ("[topic]\npartitions = 100000\n", "topic.partitions: 100000 is out of range"),
        ("[[group]]\nmembers = 1000\n", "bad.toml:5: group[1].members: 1000 is out of range; allowed: 1 to 64"),
        ("[[group]]\nbatch = 0\n", "group[1].batch: 0 is out of range; allowed: 1 to 1000000"),
        ("[[group]]\nprocessing = \"2h\"\n", "group[1].processing: 2h is out of range; allowed: 0s to 1m"),
        ("[[group]]\nidle_exit = \"0s\"\n", "group[1].idle_exit: 0s is out of range; allowed: 100ms to 1h"),
        ("[[producer]]\nrecords = 0\n", "bad.toml:5: producer[1].records: 0 is out of range; allowed: 1 to 100000000"),
        ("[[producer]]\nrecords = 1\nrate = 99999999\n", "producer[1].rate: 99999999 is out of range"),
        (
            "[run]\ntimeout = \"1m\"\n[[producer]]\nrecords = 1\nstart_after = \"2m\"\n",
            "producer[1].start_after: 2m is out of range; allowed: 0s to 1m",
        ),
        (
            "[[fault]]\nkind = \"pause-broker\"\nbroker = 1\nat = \"1s\"\nduration = \"0s\"\n",
            "bad.toml:8: fault[0].duration: 0s is out of range; allowed: 1ms to 1h",
        ),
        (
            "[run]\ntimeout = \"30s\"\n[[fault]]\nkind = \"stall-consumer\"\nmember = 0\nat = \"45s\"\nduration = \"1s\"\n",
            "fault[0].at: 45s is out of range; allowed: 0s to 30s",
        ),
        (
            "[[fault]]\nkind = \"crash-consumer\"\nmember = 0\nafter_acked = 101\n",
            "bad.toml:7: fault[0].after_acked: 101 is out of range; allowed: 1 to 100",
        ),
        (
            "[[fault]]\nkind = \"crash-consumer\"\nmember = 0\nafter_processed = 0\n",
            "fault[0].after_processed: 0 is out of range; allowed: 1 to 100",
        ),
        (
            "[[fault]]\nkind = \"join-consumer\"\nat = \"1s\"\ndelay = \"1day\"\n",
            "fault[0].delay: 24h is out of range; allowed: 0s to 10m",
        ),
        ("[sweep]\nrepeat = 0\nvary = []\n", "sweep.repeat: 0 is out of range; allowed: 1 to 1000"),
    ];
    for (extra, want) in cases {
        let (code, err) = bad(&format!("{base}{extra}"));
        // miette wraps the headline at 80 columns: join it back.
        let err = err.split('\n').map(|l| l.trim_start().trim_start_matches('│').trim()).collect::<Vec<_>>().join(" ");
        assert_eq!(code, 2, "{extra}: {err}");
        assert!(err.contains(want), "{extra}\nwant: {want}\ngot: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The bounds themselves are allowed.
    let (code, err) = bad(&format!("{base}[run]\ntimeout = \"1s\"\ndrain_timeout = \"1h\"\n"));
    assert_eq!(code, 0, "{err}");
}

/// `bad`, with miette's wrapping undone.
fn said(text: &str) -> (i32, String) {
    let (code, err) = bad(text);
    (code, err.replace(['│', '×'], " ").split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Under KIP-848 the broker owns the session and the assignment: the
/// client settings that move there are refused, saying where they went; the
/// broker's own settings are taken only where there is a broker to set.
#[test]
fn each_group_protocol_refuses_the_other_ones_settings_and_says_where_they_live() {
    let consumer = |props: &str| {
        format!("[cluster]\nbackend = \"docker\"\n[[producer]]\nrecords = 10\n[[group]]\nprotocol = \"consumer\"\nproperties = {{ {props} }}\n")
    };
    let (code, err) = said(&consumer("\"session.timeout.ms\" = 6000"));
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "bad.toml:7: group[0].properties.session.timeout.ms: `session.timeout.ms` is a broker-side setting"
        ),
        "{err}"
    );
    assert!(err.contains("group.consumer.session.timeout.ms"), "says where it lives: {err}");
    let (code, err) = said(&consumer("\"partition.assignment.strategy\" = \"range\""));
    assert_eq!(code, 2);
    assert!(err.contains("group.remote.assignor"), "{err}");
    let (code, err) = said(&consumer("\"group.remote.assignor\" = \"range\""));
    assert_eq!(code, 0, "{err}");
    let classic =
        consumer("\"group.remote.assignor\" = \"range\"").replace("protocol = \"consumer\"", "protocol = \"classic\"");
    let (code, err) = said(&classic);
    assert_eq!(code, 2);
    assert!(
        err.contains("group[0].properties.group.remote.assignor: `group.remote.assignor` names the broker's assignor"),
        "{err}"
    );

    let broker = |cluster: &str| {
        format!("[cluster]\n{cluster}\n[[producer]]\nrecords = 10\n[[group]]\nprotocol = \"consumer\"\n")
    };
    let (code, err) = said(&broker(
        "backend = \"docker\"\nbroker_properties = { \"group.consumer.session.timeout.ms\" = 6000, \"group.consumer.heartbeat.interval.ms\" = 1000 }",
    ));
    assert_eq!(code, 0, "{err}");
    let (code, err) =
        said(&broker("backend = \"mock\"\nbroker_properties = { \"group.consumer.session.timeout.ms\" = 6000 }"));
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:3: cluster.broker_properties.group.consumer.session.timeout.ms: broker settings need backend = \"docker\""), "{err}");
    let (code, err) =
        said(&broker("backend = \"docker\"\nbroker_properties = { \"advertised.listeners\" = \"PLAINTEXT://x:1\" }"));
    assert_eq!(code, 2);
    assert!(err.contains("faultline sets `advertised.listeners` itself"), "{err}");
    let (code, err) = said(&broker("backend = \"docker\"\nbroker_properties = { \"Group Session\" = 1 }"));
    assert_eq!(code, 2);
    assert!(err.contains("is not a broker property name"), "{err}");
}

/// A broker fault aims at a fixed broker or at a role, with exactly the
/// fields the role needs.
#[test]
fn a_broker_fault_names_a_broker_or_a_role_with_its_fields() {
    let fault = |fields: &str| {
        format!("[cluster]\nbrokers = 3\n[topic]\npartitions = 3\n[[producer]]\nrecords = 10\n[[group]]\nname = \"g\"\n[[fault]]\nkind = \"restart-broker\"\nat = \"1s\"\nduration = \"1s\"\n{fields}\n")
    };
    for ok in [
        "broker = 2",
        "broker = \"coordinator\"",
        "broker = \"coordinator\"\ngroup = \"g\"",
        "broker = \"leader\"\npartition = 2",
    ] {
        let (code, err) = said(&fault(ok));
        assert_eq!(code, 0, "{ok}: {err}");
    }
    let refused = [
        ("broker = \"boss\"", "bad.toml:13: fault[0].broker: invalid value: string \"boss\", expected a broker id (1, 2, 3), \"coordinator\" or \"leader\""),
        ("broker = \"leader\"", "fault[0].broker: broker = \"leader\" needs `partition`"),
        ("broker = \"leader\"\npartition = 3", "fault[0].partition: partition 3 does not exist; the topic has 3 (0 to 2)"),
        ("broker = 2\npartition = 1", "fault[0].partition: `partition` goes with broker = \"leader\" only"),
        ("broker = \"leader\"\npartition = 1\ngroup = \"g\"", "fault[0].group: `group` goes with broker = \"coordinator\" only"),
        ("broker = \"coordinator\"\ngroup = \"h\"", "fault[0].group: no group named `h`"),
        ("broker = 4", "fault[0].broker: broker 4 does not exist"),
    ];
    for (fields, says) in refused {
        let (code, err) = said(&fault(fields));
        assert_eq!(code, 2, "{fields}");
        assert!(err.contains(says), "{fields}: says `{says}`:\n{err}");
    }
}

/// The Java client on the mock would hang for 20 minutes; it is refused with why.
#[test]
fn the_java_client_on_the_mock_is_refused_with_the_reason() {
    let (code, err) = said("[[producer]]\nrecords = 10\n[[group]]\nclient = \"java\"\n");
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:4: group[0].client: the Java client cannot talk to librdkafka's mock"), "{err}");
    let (code, err) =
        said("[cluster]\nbackend = \"docker\"\n[[producer]]\nrecords = 10\n[[group]]\nclient = \"java\"\n");
    assert_eq!(code, 0, "{err}");
}
