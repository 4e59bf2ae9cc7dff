//! Threads that each own a [`Session`] and run the scenarios handed to them,
//! so that `--jobs` runs at once on the mock, and on Docker one session keeps
//! its cluster from case to case.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use crate::judge::Outcome;
use crate::runner::RunError;
use crate::scenario::Scenario;
use crate::session::{self, Session};

/// How one run ended.
pub enum Ran {
    Judged(Box<Outcome>),
    /// The harness could not run it (a fault that could not be injected,
    /// the cluster did not start): the whole search stops.
    Failed(String),
    Interrupted,
}

struct Job {
    index: usize,
    scenario: Scenario,
    source: PathBuf,
    reply: mpsc::Sender<(usize, Ran)>,
}

pub struct Pool {
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn new(n: usize, reports: PathBuf, worker_exe: Option<PathBuf>, stop: Arc<AtomicBool>) -> Pool {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..n.max(1))
            .map(|_| {
                let (rx, reports, worker_exe, stop) = (rx.clone(), reports.clone(), worker_exe.clone(), stop.clone());
                std::thread::spawn(move || {
                    let session = Session::new().map(|s| {
                        let s = s.reports_dir(&reports).progress(false).stop_flag(stop);
                        match worker_exe {
                            Some(exe) => s.worker_exe(exe),
                            None => s,
                        }
                    });
                    let mut session = session.map_err(|e| format!("cannot start a session: {e}"));
                    loop {
                        let job = rx.lock().map(|rx| rx.recv());
                        let Ok(Ok(job)) = job else { return };
                        let ran = match &mut session {
                            Err(why) => Ran::Failed(why.clone()),
                            Ok(session) => {
                                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    session.run(&job.scenario, Some(&job.source))
                                }));
                                match run {
                                    Ok(Ok(outcome)) => Ran::Judged(Box::new(outcome)),
                                    Ok(Err(session::Error::Run(RunError::Interrupted))) => Ran::Interrupted,
                                    Ok(Err(e)) => Ran::Failed(e.to_string()),
                                    Err(_) => {
                                        Ran::Failed(format!("the harness panicked running {}", job.source.display()))
                                    }
                                }
                            }
                        };
                        let _ = job.reply.send((job.index, ran));
                    }
                })
            })
            .collect();
        Pool { jobs: Some(tx), threads }
    }

    /// Runs every scenario (with the file it came from) and returns how
    /// each ended, in order.
    pub fn run(&self, cases: Vec<(Scenario, PathBuf)>) -> Vec<Ran> {
        let (reply, results) = mpsc::channel();
        let n = cases.len();
        for (index, (scenario, source)) in cases.into_iter().enumerate() {
            let job = Job { index, scenario, source, reply: reply.clone() };
            if let Some(jobs) = &self.jobs {
                let _ = jobs.send(job);
            }
        }
        drop(reply);
        let mut out: Vec<Option<Ran>> = (0..n).map(|_| None).collect();
        for (index, ran) in results {
            out[index] = Some(ran);
        }
        out.into_iter().map(|r| r.unwrap_or_else(|| Ran::Failed("a run thread ended".into()))).collect()
    }
}

impl Drop for Pool {
    /// The sessions end with their threads, and shut their clusters down.
    fn drop(&mut self) {
        self.jobs.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
