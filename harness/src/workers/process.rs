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
use crate::ledger::Event;

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
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Event>(&line) {
                    Ok(ev) => {
                        let _ = sink.send((src.clone(), ev));
                    }
                    Err(e) => {
                        tracing::warn!(worker = %src, "unreadable event {line:?}: {e}");
                        let _ = sink.send((src.clone(), Event::Unreadable { line, why: e.to_string() }));
                    }
                }
            }
            let status = child.wait().await;
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

    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        if self.has_exited() {
            return Ok(());
        }
        kill(Pid::from_raw(self.pid as i32), signal)
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
    inner: Arc<Mutex<BTreeMap<String, Arc<WorkerHandle>>>>,
}

impl WorkerSet {
    pub fn new(exe: &Path, env: Vec<(String, String)>) -> WorkerSet {
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
        let handle = WorkerHandle::spawn(command, &self.env, name, spec, log_dir, sink)?;
        self.insert(handle);
        Ok(())
    }

    fn insert(&self, handle: Arc<WorkerHandle>) {
        self.inner.lock().expect("worker set").insert(handle.name.clone(), handle);
    }

    pub fn get(&self, name: &str) -> Option<Arc<WorkerHandle>> {
        self.inner.lock().expect("worker set").get(name).cloned()
    }

    /// Live workers whose name starts with `prefix`.
    pub fn live_with_prefix(&self, prefix: &str) -> Vec<Arc<WorkerHandle>> {
        self.inner
            .lock()
            .expect("worker set")
            .values()
            .filter(|w| w.name.starts_with(prefix) && !w.has_exited())
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Arc<WorkerHandle>> {
        self.inner.lock().expect("worker set").values().cloned().collect()
    }

    /// Kills every worker still alive (the run failed or was interrupted).
    pub fn kill_all(&self) {
        for w in self.all() {
            let _ = w.signal(Signal::SIGCONT);
            let _ = w.signal(Signal::SIGKILL);
        }
    }
}
