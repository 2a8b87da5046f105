//! Notification and client-reconfig scripts: at most 16 running, a 60 s limit, retries of
//! failed runs (exit code 1 or a signal) after 30 s doubling up to 10 attempts, as Redis does.

use super::{Shared, Shell};
use crate::core::{Event, Level};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

/// Longest a script may run before it is killed.
const MAX_RUNTIME: Duration = Duration::from_secs(60);
/// Attempts per script run, first included.
const MAX_ATTEMPTS: u32 = 10;
/// Delay before the first retry (doubled at each one).
const RETRY_DELAY: Duration = Duration::from_secs(30);
/// Scripts running at once.
const MAX_RUNNING: usize = 16;
/// Scripts waiting to run (the oldest are dropped beyond this).
const MAX_QUEUE: usize = 256;

/// The scripts to run: waiting (possibly until a retry time) or running.
#[derive(Default)]
pub struct Scripts {
    /// Every job, oldest first.
    jobs: Vec<Job>,
    next_id: u64,
}

/// One script run and its retries.
struct Job {
    id: u64,
    path: String,
    args: Vec<String>,
    attempt: u32,
    /// Running with this pid (0 while it starts).
    running: Option<u32>,
    /// When it started running, or when it may start (unix ms; 0 = now).
    time_ms: i64,
}

impl Scripts {
    fn running(&self) -> usize {
        self.jobs.iter().filter(|j| j.running.is_some()).count()
    }
}

/// Queues a script run and starts what fits.
pub fn schedule(shared: &Shared, sh: &mut Shell, path: String, args: Vec<String>) {
    let waiting = sh
        .scripts
        .jobs
        .iter()
        .filter(|j| j.running.is_none())
        .count();
    if waiting >= MAX_QUEUE {
        if let Some(pos) = sh.scripts.jobs.iter().position(|j| j.running.is_none()) {
            sh.scripts.jobs.remove(pos);
        }
    }
    sh.scripts.next_id += 1;
    let id = sh.scripts.next_id;
    sh.scripts.jobs.push(Job {
        id,
        path,
        args,
        attempt: 1,
        running: None,
        time_ms: 0,
    });
    start_queued(shared, sh);
}

/// Starts the waiting jobs that are due, up to the limit, and tells the core what runs.
fn start_queued(shared: &Shared, sh: &mut Shell) {
    let now = server::clock::unix_ms();
    let mut running = sh.scripts.running();
    for job in sh.scripts.jobs.iter_mut() {
        if running >= MAX_RUNNING {
            break;
        }
        if job.running.is_none() && job.time_ms <= now {
            job.running = Some(0);
            job.time_ms = now;
            running += 1;
            tokio::spawn(run(
                shared.clone(),
                job.id,
                job.path.clone(),
                job.args.clone(),
            ));
        }
    }
    publish_view(sh);
}

/// What SENTINEL PENDING-SCRIPTS and INFO report.
fn publish_view(sh: &mut Shell) {
    sh.sentinel.scripts = sh
        .scripts
        .jobs
        .iter()
        .map(|j| crate::core::ScriptView {
            argv: std::iter::once(j.path.clone())
                .chain(j.args.iter().cloned())
                .collect(),
            pid: j.running,
            time_ms: j.time_ms,
            retry: j.attempt - 1,
        })
        .collect();
}

fn event(shared: &Shared, level: Level, kind: &str, message: String) {
    let mut sh = shared.lock();
    let actions = vec![crate::core::Action::Event(Event {
        level,
        kind: kind.to_string(),
        message,
    })];
    sh.execute(shared, actions);
}

async fn run(shared: Shared, id: u64, path: String, args: Vec<String>) {
    let mut cmd = tokio::process::Command::new(&path);
    cmd.args(&args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let retry = match cmd.spawn() {
        Err(_) => {
            event(
                &shared,
                Level::Warning,
                "-script-error",
                format!("{path} 99 0"),
            );
            false
        }
        Ok(mut child) => {
            let pid = child.id().unwrap_or(0);
            {
                let mut sh = shared.lock();
                if let Some(j) = sh.scripts.jobs.iter_mut().find(|j| j.id == id) {
                    j.running = Some(pid);
                }
                publish_view(&mut sh);
            }
            event(&shared, Level::Debug, "+script-child", pid.to_string());
            match tokio::time::timeout(MAX_RUNTIME, child.wait()).await {
                Err(_) => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    event(
                        &shared,
                        Level::Warning,
                        "-script-timeout",
                        format!("{path} {pid}"),
                    );
                    false
                }
                Ok(Err(_)) => false,
                Ok(Ok(status)) => {
                    let code = status.code().unwrap_or(0);
                    let signal = status.signal().unwrap_or(0);
                    event(
                        &shared,
                        Level::Debug,
                        "-script-child",
                        format!("{pid} {code} {signal}"),
                    );
                    if signal != 0 || code == 1 {
                        true
                    } else {
                        if code != 0 {
                            event(
                                &shared,
                                Level::Warning,
                                "-script-error",
                                format!("{path} {signal} {code}"),
                            );
                        }
                        false
                    }
                }
            }
        }
    };
    let mut sh = shared.lock();
    let now = server::clock::unix_ms();
    let pos = sh.scripts.jobs.iter().position(|j| j.id == id);
    if let Some(pos) = pos {
        let attempt = sh.scripts.jobs[pos].attempt;
        if retry && attempt < MAX_ATTEMPTS {
            // Back in the queue, due after the retry delay (30 s, doubling).
            let delay = RETRY_DELAY * 2u32.pow(attempt - 1);
            let job = &mut sh.scripts.jobs[pos];
            job.attempt += 1;
            job.running = None;
            job.time_ms = now + delay.as_millis() as i64;
            let shared2 = shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let mut sh = shared2.lock();
                start_queued(&shared2, &mut sh);
            });
        } else {
            sh.scripts.jobs.remove(pos);
        }
    }
    start_queued(&shared, &mut sh);
}
