//! Workers: each producer and consumer runs as a child process (this binary
//! in worker mode). A worker reads commands as JSON lines on stdin and writes
//! events as JSON lines on stdout, flushing each line before it acts on what
//! it reported, so a SIGKILL never hides anything the worker did. Because
//! workers only speak this protocol, a consumer written with another client
//! can plug in later.

mod consumer;
mod emit;
mod process;
mod producer;

pub use process::{reap_orphans, WorkerHandle, WorkerSet, HARNESS_ENV};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ledger::{Offset, Partition};
use crate::scenario::{Client, CommitStrategy, GroupProtocol};

/// Environment variable that carries a worker's spec (JSON) to the child.
pub const SPEC_ENV: &str = "FAULTLINE_WORKER_SPEC";

/// What a worker process is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerSpec {
    Producer(ProducerWork),
    Consumer(ConsumerWork),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProducerWork {
    pub index: u32,
    pub bootstrap: String,
    pub topic: String,
    pub records: u64,
    pub rate: u64,
    pub keys: u64,
    pub acks: String,
    pub idempotence: bool,
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConsumerWork {
    pub group: String,
    pub bootstrap: String,
    pub topic: String,
    pub commit: CommitStrategy,
    pub batch: u32,
    /// Simulated processing time per record, in microseconds.
    pub processing_us: u64,
    pub protocol: GroupProtocol,
    /// Bounded mode: stop once every assigned partition reaches these.
    pub snapshot: Option<Vec<(Partition, Offset)>>,
    /// Stop once no record has arrived for this long, in milliseconds.
    #[serde(default)]
    pub idle_exit_ms: Option<u64>,
    pub properties: BTreeMap<String, String>,
}

/// Commands from the runner to a worker.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    /// Leave cleanly: final commit, leave the group, exit.
    Stop,
    PauseFetch,
    ResumeFetch {
        seek_to_end: bool,
    },
    /// Hold the next record before processing it, until `ReleaseRecord`.
    HoldRecord,
    /// Process the held record and go on (or cancel a hold not begun yet).
    ReleaseRecord,
}

/// How a worker process is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// `faultline worker`: the built-in librdkafka worker.
    BuiltIn,
    /// An adapter under clients/: `faultline-<client>`.
    Adapter(Client),
    /// Any program that speaks the protocol: `[program, args...]`.
    Command(Vec<String>),
}

/// An adapter's binary: in `$FAULTLINE_CLIENTS/<client>/`, in the
/// repository's clients/<client>/ above the faultline binary (where
/// `bash clients/setup.sh` builds it), or on the PATH.
pub fn adapter_path(client: Client, faultline: &Path) -> std::io::Result<PathBuf> {
    let bin = format!("faultline-{}", client.name());
    let in_clients = |dir: &Path| Some(dir.join(client.name()).join(&bin)).filter(|p| p.is_file());
    let found = std::env::var_os("FAULTLINE_CLIENTS")
        .and_then(|dir| in_clients(Path::new(&dir)))
        .or_else(|| faultline.ancestors().skip(1).find_map(|dir| in_clients(&dir.join("clients"))))
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).map(|dir| dir.join(&bin)).find(|p| p.is_file())
        });
    found.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{bin} is not built: run `bash clients/setup.sh` (or set FAULTLINE_CLIENTS)"),
        )
    })
}

/// The worker protocol's three parts, for its JSON Schema.
#[derive(JsonSchema)]
#[allow(dead_code)] // only its schema is used
struct Protocol {
    /// `FAULTLINE_WORKER_SPEC`: what the worker is to do.
    spec: WorkerSpec,
    /// One line of stdin.
    command: Command,
    /// One line of stdout (the runner's own events are in the same type).
    event: crate::ledger::Event,
}

/// The JSON Schema of the worker protocol (docs/worker-protocol.md), from
/// the types faultline reads and writes it with.
pub fn protocol_schema() -> schemars::Schema {
    schemars::schema_for!(Protocol)
}

/// The faultline binary that runs workers (`faultline worker`): the
/// `FAULTLINE_BIN` environment variable if set; this process if it is
/// faultline; a `faultline` beside it or one folder up (a test binary in
/// target/debug/deps/); else `faultline` on the PATH.
pub fn default_exe() -> PathBuf {
    if let Some(bin) = std::env::var_os("FAULTLINE_BIN") {
        return bin.into();
    }
    let name = format!("faultline{}", std::env::consts::EXE_SUFFIX);
    if let Ok(me) = std::env::current_exe() {
        if me.file_name().is_some_and(|n| n == name.as_str()) {
            return me;
        }
        for dir in me.ancestors().skip(1).take(2) {
            if dir.join(&name).is_file() {
                return dir.join(&name);
            }
        }
    }
    name.into()
}

/// Entry point of `faultline worker`: runs the spec found in the
/// environment and returns the process exit code.
pub fn run_from_env() -> i32 {
    let spec = match std::env::var(SPEC_ENV)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str::<WorkerSpec>(&s).map_err(|e| e.to_string()))
    {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("faultline worker: no valid {SPEC_ENV}: {e} (workers are started by `faultline run`)");
            return 2;
        }
    };
    die_with_parent();
    let (_, version) = rdkafka::util::get_rdkafka_version();
    emit::emit(&crate::ledger::Event::Hello {
        protocol: crate::ledger::PROTOCOL_VERSION,
        client: "rdkafka".into(),
        version: format!("{} (rust-rdkafka)", version),
    });
    let result = match spec {
        WorkerSpec::Producer(work) => producer::run(work),
        WorkerSpec::Consumer(work) => consumer::run(work),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("worker failed: {e}");
            emit::emit(&crate::ledger::Event::ClientError { msg: format!("worker failed: {e}") });
            3
        }
    }
}

/// A worker must not outlive the harness, even if the harness is SIGKILLed.
fn die_with_parent() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid() == nix::unistd::Pid::from_raw(1) {
        std::process::exit(3);
    }
}

/// Reads commands from stdin on a thread; end of input means Stop (the
/// harness is gone or done with us).
fn command_channel() -> std::sync::mpsc::Receiver<Command> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Command>(&line) {
                Ok(cmd) => {
                    if tx.send(cmd).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::warn!("ignoring bad command {line:?}: {e}"),
            }
        }
        let _ = tx.send(Command::Stop);
    });
    rx
}
