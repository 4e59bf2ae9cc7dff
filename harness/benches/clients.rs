//! Records processed per second by each consumer client on real Kafka with
//! no faults (scenarios/bench/throughput.toml), the clients one after the
//! other in one invocation, so the figures sit side by side.
//!
//! Run with `cargo bench --bench clients` (needs dockerd, the Kafka image and
//! the adapters: `bash docker/setup.sh`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const CLIENTS: [&str; 4] = ["rdkafka", "franz-go", "confluent-kafka-go", "java"];

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let scenario = repo.join("scenarios/bench/throughput.toml");
    let mut rows = Vec::new();
    for client in CLIENTS {
        let reports = tempfile::tempdir().expect("temp dir");
        let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["run", "--no-progress", "--client", client, "--reports"])
            .arg(reports.path())
            .arg(&scenario)
            .output()
            .expect("faultline runs");
        if !out.status.success() {
            eprintln!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            panic!("{client}: the throughput run did not pass");
        }
        let dir = std::fs::read_dir(reports.path())
            .expect("reports")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.join("ledger.jsonl").exists())
            .expect("a run folder");
        let ledger = std::fs::read_to_string(dir.join("ledger.jsonl")).expect("ledger");
        let times: Vec<u64> = ledger
            .lines()
            .filter(|l| l.contains("\"processed\""))
            .map(|l| serde_json::from_str::<Value>(l).expect("ledger line")["t"].as_u64().expect("t"))
            .collect();
        let (first, last) = (times[0], *times.last().expect("records processed"));
        let secs = (last - first).max(1) as f64 / 1000.0;
        rows.push(format!(
            "  {client:<20} {:>9} records in {secs:>6.2} s  {:>9.0} records/s",
            times.len(),
            (times.len() - 1) as f64 / secs
        ));
    }
    println!("records/s processed, no faults, one member, 3 partitions, Kafka 4.1.1 in Docker");
    for row in rows {
        println!("{row}");
    }
}
