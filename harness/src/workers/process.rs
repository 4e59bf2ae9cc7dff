//! The runner's side of the worker protocol: spawn a worker, turn its stdout
//! into ledger entries, send it commands, signal it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command as Proc};
use tokio::sync::mpsc::UnboundedSender;

use super::{adapter_path, Command, Program, WorkerSpec, SPEC_ENV};
use crate::cluster::{process_start, same_process};
use crate::ledger::Event;

/// Set in every worker's environment: `<harness pid>.<its start time>`, so
/// that a later faultline can tell the workers of a harness that is gone.
pub const HARNESS_ENV: &str = "FAULTLINE_HARNESS";

/// How long a worker's stdout is still read once the worker has exited: a
/// child it left behind may hold the pipe open forever.
const OUTPUT_AFTER_EXIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Where workers report to: (source name, event).
pub type EventSink = UnboundedSender<(String, Event)>;

/// A running worker process.
pub struct WorkerHandle {
    pub name: String,
    pub pid: u32,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    exited: tokio::sync::watch::Receiver<bool>,
}

impl WorkerHandle {
    /// Starts `spec` as a child process running `program` with `env`. Its
    /// stderr (tracing and client logs) goes to `log_dir/<name>.log`.
    fn spawn(
        (program, args): (PathBuf, Vec<String>),
        env: &[(String, String)],
        name: &str,
        spec: &WorkerSpec,
        log_dir: &Path,
        sink: EventSink,
    ) -> std::io::Result<Arc<WorkerHandle>> {
        let log = std::fs::File::create(log_dir.join(format!("{name}.log")))?;
        let mut child: Child = Proc::new(&program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env(SPEC_ENV, serde_json::to_string(spec).expect("worker spec serializes"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            // Its own process group: a signal reaches whatever the worker
            // started too (a wrapper script's consumer), and a terminal's
            // Ctrl-C goes to the harness alone, which then tears down.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", program.display())))?;
        let pid = child.id().unwrap_or(0);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (exited_tx, exited) = tokio::sync::watch::channel(false);
        let src = name.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let forward = |line: String| match serde_json::from_str::<Event>(&line) {
                Ok(ev) if ev.is_the_runners() => {
                    tracing::warn!(worker = %src, "a worker wrote a runner's event: {line:?}");
                    let why = "only the runner writes this event".to_string();
                    let _ = sink.send((src.clone(), Event::Unreadable { line, why }));
                }
                Ok(ev) => {
                    let _ = sink.send((src.clone(), ev));
                }
                Err(e) => {
                    tracing::warn!(worker = %src, "unreadable event {line:?}: {e}");
                    let _ = sink.send((src.clone(), Event::Unreadable { line, why: e.to_string() }));
                }
            };
            let status = loop {
                tokio::select! {
                    line = lines.next_line() => match line {
                        Ok(Some(line)) => forward(line),
                        _ => break child.wait().await,
                    },
                    status = child.wait() => {
                        // What it wrote before exiting, unless something it
                        // left behind keeps the pipe open.
                        let rest = async {
                            while let Ok(Some(line)) = lines.next_line().await {
                                forward(line);
                            }
                        };
                        if tokio::time::timeout(OUTPUT_AFTER_EXIT, rest).await.is_err() {
                            tracing::warn!(worker = %src, "its output stayed open after it exited (a child of it holds it?)");
                        }
                        break status;
                    }
                }
            };
            let (code, signal) = match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    (s.code(), s.signal())
                }
                Err(_) => (None, None),
            };
            let _ = sink.send((src.clone(), Event::Exited { code, signal }));
            let _ = exited_tx.send(true);
        });
        Ok(Arc::new(WorkerHandle { name: name.to_string(), pid, stdin: tokio::sync::Mutex::new(stdin), exited }))
    }

    pub async fn send(&self, cmd: &Command) -> std::io::Result<()> {
        let mut guard = self.stdin.lock().await;
        let Some(stdin) = guard.as_mut() else {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "worker input closed"));
        };
        let mut line = serde_json::to_vec(cmd).expect("command serializes");
        line.push(b'\n');
        stdin.write_all(&line).await?;
        stdin.flush().await
    }

    /// Signals the worker's process group: the worker and what it started.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        if self.has_exited() {
            return Ok(());
        }
        kill(Pid::from_raw(-(self.pid as i32)), signal)
    }

    pub fn has_exited(&self) -> bool {
        *self.exited.borrow()
    }

    pub async fn wait(&self) {
        let mut rx = self.exited.clone();
        let _ = rx.wait_for(|e| *e).await;
    }

    /// Asks the worker to leave cleanly; SIGKILL if it has not exited in
    /// `grace`. A stopped (SIGSTOPped) worker is continued first.
    pub async fn stop(&self, grace: std::time::Duration) {
        let _ = self.signal(Signal::SIGCONT);
        let _ = self.send(&Command::Stop).await;
        if tokio::time::timeout(grace, self.wait()).await.is_err() {
            tracing::warn!(worker = %self.name, "did not stop in {grace:?}; killing it");
            let _ = self.signal(Signal::SIGKILL);
            self.wait().await;
        }
    }
}

/// Every worker of a run by name, so faults can find their target and
/// nothing is left running at the end.
#[derive(Clone)]
pub struct WorkerSet {
    /// The faultline binary (the built-in worker; adapters are found from it).
    exe: Arc<Path>,
    /// Set for every worker: FAULTLINE_BACKEND tells adapters what they talk to.
    env: Arc<Vec<(String, String)>>,
    inner: Arc<Mutex<Workers>>,
}

#[derive(Default)]
struct Workers {
    by_name: BTreeMap<String, Arc<WorkerHandle>>,
    /// Set by [`WorkerSet::close`]: the run is ending, no worker may start
    /// (a start racing the teardown would outlive it).
    closed: bool,
}

impl WorkerSet {
    pub fn new(exe: &Path, mut env: Vec<(String, String)>) -> WorkerSet {
        let me = std::process::id();
        env.push((HARNESS_ENV.into(), format!("{me}.{}", process_start(me).unwrap_or_default())));
        WorkerSet { exe: exe.into(), env: Arc::new(env), inner: Default::default() }
    }

    /// Starts a worker running `program` and keeps it.
    pub fn spawn(
        &self,
        name: &str,
        program: &Program,
        spec: &WorkerSpec,
        log_dir: &Path,
        sink: EventSink,
    ) -> std::io::Result<()> {
        let command = match program {
            Program::BuiltIn => (self.exe.to_path_buf(), vec!["worker".to_string()]),
            Program::Adapter(client) => (adapter_path(*client, &self.exe)?, Vec::new()),
            Program::Command(argv) => (PathBuf::from(&argv[0]), argv[1..].to_vec()),
        };
        // Started under the lock, so that `close` sees every worker.
        let mut workers = self.inner.lock().expect("worker set");
        if workers.closed {
            return Err(std::io::Error::other(format!("{name}: the run is ending, no worker starts now")));
        }
        let handle = WorkerHandle::spawn(command, &self.env, name, spec, log_dir, sink)?;
        workers.by_name.insert(handle.name.clone(), handle);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<Arc<WorkerHandle>> {
        self.inner.lock().expect("worker set").by_name.get(name).cloned()
    }

    /// Live workers whose name starts with `prefix`.
    pub fn live_with_prefix(&self, prefix: &str) -> Vec<Arc<WorkerHandle>> {
        self.inner
            .lock()
            .expect("worker set")
            .by_name
            .values()
            .filter(|w| w.name.starts_with(prefix) && !w.has_exited())
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Arc<WorkerHandle>> {
        self.inner.lock().expect("worker set").by_name.values().cloned().collect()
    }

    /// Kills every worker still alive and refuses new ones: the run is over.
    pub fn close(&self) {
        let workers = {
            let mut inner = self.inner.lock().expect("worker set");
            inner.closed = true;
            inner.by_name.values().cloned().collect::<Vec<_>>()
        };
        for w in workers {
            let _ = w.signal(Signal::SIGCONT);
            let _ = w.signal(Signal::SIGKILL);
        }
    }
}

/// Kills the process groups of workers whose harness is gone (SIGKILLed,
/// crashed): an adapter that was stalled (SIGSTOP) when its harness died
/// would wait forever. Returns the pids it killed. Linux: reads /proc.
pub fn reap_orphans() -> Vec<u32> {
    let mut killed = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else { return killed };
    let prefix = format!("{HARNESS_ENV}=");
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(environ) = std::fs::read(p.path().join("environ")) else { continue };
        let Some(owner) = environ
            .split(|&b| b == 0)
            .find_map(|kv| kv.strip_prefix(prefix.as_bytes()))
            .and_then(|v| std::str::from_utf8(v).ok())
        else {
            continue;
        };
        let Some((harness, start)) = owner.split_once('.') else { continue };
        // An empty start: the harness could not read its own; its pid decides.
        let start = Some(start).filter(|s| !s.is_empty());
        let alive = harness.parse::<u32>().is_ok_and(|harness| same_process(harness, start));
        if !alive {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGCONT);
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            killed.push(pid);
        }
    }
    killed
}
