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

/// Scripts waiting for a free slot, and how many run.
#[derive(Default)]
pub struct Scripts {
    /// Running now.
    pub running: usize,
    /// Waiting: (path, args, attempt number).
    pub queue: std::collections::VecDeque<(String, Vec<String>, u32)>,
}

/// Queues a script run and starts what fits.
pub fn schedule(shared: &Shared, sh: &mut Shell, path: String, args: Vec<String>) {
    if sh.scripts.queue.len() >= MAX_QUEUE {
        sh.scripts.queue.pop_front();
    }
    sh.scripts.queue.push_back((path, args, 1));
    start_queued(shared, sh);
}

fn start_queued(shared: &Shared, sh: &mut Shell) {
    while sh.scripts.running < MAX_RUNNING {
        let Some((path, args, attempt)) = sh.scripts.queue.pop_front() else {
            return;
        };
        sh.scripts.running += 1;
        tokio::spawn(run(shared.clone(), path, args, attempt));
    }
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

async fn run(shared: Shared, path: String, args: Vec<String>, attempt: u32) {
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
    {
        let mut sh = shared.lock();
        sh.scripts.running = sh.scripts.running.saturating_sub(1);
        start_queued(&shared, &mut sh);
    }
    if retry && attempt < MAX_ATTEMPTS {
        let delay = RETRY_DELAY * 2u32.pow(attempt - 1);
        let shared2 = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut sh = shared2.lock();
            sh.scripts.queue.push_back((path, args, attempt + 1));
            start_queued(&shared2, &mut sh);
        });
    }
}
