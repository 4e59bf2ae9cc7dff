//! The runner's side of the worker protocol: spawn a worker, turn its stdout
//! into ledger entries, send it commands, signal it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command as Proc};
use tokio::sync::mpsc::UnboundedSender;

use super::{Command, WorkerSpec, SPEC_ENV};
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
    /// Starts `spec` as a child process: `exe worker`, `exe` being the
    /// faultline binary. Its stderr (tracing and librdkafka logs) goes to
    /// `log_dir/<name>.log`.
    pub fn spawn(
        exe: &Path,
        name: &str,
        spec: &WorkerSpec,
        log_dir: &Path,
        sink: EventSink,
    ) -> std::io::Result<Arc<WorkerHandle>> {
        let log = std::fs::File::create(log_dir.join(format!("{name}.log")))?;
        let mut child: Child = Proc::new(exe)
            .arg("worker")
            .env(SPEC_ENV, serde_json::to_string(spec).expect("worker spec serializes"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()?;
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
                    Err(e) => tracing::warn!(worker = %src, "unreadable event {line:?}: {e}"),
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
    /// The faultline binary the workers run.
    exe: Arc<Path>,
    inner: Arc<Mutex<BTreeMap<String, Arc<WorkerHandle>>>>,
}

impl WorkerSet {
    pub fn new(exe: &Path) -> WorkerSet {
        WorkerSet { exe: exe.into(), inner: Default::default() }
    }

    /// Starts a worker (see [`WorkerHandle::spawn`]) and keeps it.
    pub fn spawn(&self, name: &str, spec: &WorkerSpec, log_dir: &Path, sink: EventSink) -> std::io::Result<()> {
        let handle = WorkerHandle::spawn(&self.exe, name, spec, log_dir, sink)?;
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
