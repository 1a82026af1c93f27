//! Waiting for objects as Helm 4 waits (kstatus): every object Ready before the timeout, a
//! hook until it completes or fails, and cancellation honoured at once.

use crate::apply::Applier;
use crate::readiness::{self, Evaluation, Readiness, Status, Wait};
use crate::{Error, Result};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often objects are read again while waiting.
const POLL: Duration = Duration::from_millis(250);

/// Cancels a running action (its waits stop at once).
#[derive(Debug)]
pub struct Canceller(watch::Sender<bool>);

impl Canceller {
    /// Cancels every [`Cancel`] made from this one.
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

/// Whether an action has been cancelled.
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<bool>);

impl Cancel {
    /// A canceller and its token.
    pub fn new() -> (Canceller, Cancel) {
        let (tx, rx) = watch::channel(false);
        (Canceller(tx), Cancel(rx))
    }

    /// A token that is never cancelled.
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(false);
        // Dropping the sender leaves the value false for good.
        drop(tx);
        Cancel(rx)
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Sleeps for `d`, or less when cancelled; returns whether it was cancelled.
    async fn sleep(&mut self, d: Duration) -> bool {
        if self.is_cancelled() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => self.is_cancelled(),
            changed = self.0.changed() => changed.is_ok() && self.is_cancelled(),
        }
    }
}

/// What a wait covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jobs {
    /// A started Job counts as ready (Helm's `--wait`; Flux's `disableWaitForJobs`).
    Skip,
    /// Jobs must complete (Helm's `--wait-for-jobs`; Flux's default).
    Complete,
}

/// Reads `obj` and judges it as `wait` does; a missing object is Unknown if never seen.
async fn evaluate(
    applier: &Applier,
    obj: &Value,
    namespace: &str,
    wait: Wait,
) -> Result<(Evaluation, Value)> {
    Ok(match applier.get(obj, namespace).await? {
        Some(live) => {
            let options = readiness::Options {
                wait,
                now: Some(jiff::Timestamp::now()),
                pods: &[],
            };
            (readiness::evaluate(&live, &options), live)
        }
        None => (
            Evaluation {
                status: Status::Unknown,
                message: String::new(),
            },
            applier.normalize(obj, namespace).await?,
        ),
    })
}

/// Waits until every object in `objects` is Ready, or fails with Helm 4's message naming each
/// object that is not (`resource Deployment/ns/name not ready. status: InProgress, message:
/// Available: 0/2`, then `context deadline exceeded`). As in Helm, an object that has Failed is
/// not waited for any longer: the wait ends once the rest are ready, reporting it. Paused
/// Deployments are skipped.
pub async fn until_ready(
    applier: &Applier,
    objects: &[Value],
    namespace: &str,
    jobs: Jobs,
    timeout: Duration,
    cancel: &Cancel,
) -> Result<()> {
    let mut cancel = cancel.clone();
    let deadline = Instant::now() + timeout;
    let wait = match jobs {
        Jobs::Skip => Wait::Resources,
        Jobs::Complete => Wait::ResourcesAndJobs,
    };
    let watched: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            !(o["kind"].as_str() == Some("Deployment")
                && o["spec"]["paused"].as_bool() == Some(true))
        })
        .collect();
    loop {
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for obj in &watched {
            let (eval, shown) = evaluate(applier, obj, namespace, wait).await?;
            match eval.status {
                Status::Current => {}
                Status::Failed => failed.push(eval.not_ready_message(&shown)),
                _ => pending.push(eval.not_ready_message(&shown)),
            }
        }
        if pending.is_empty() {
            return if failed.is_empty() {
                Ok(())
            } else {
                Err(Error::Failed(failed.join("\n")))
            };
        }
        if Instant::now() >= deadline {
            let mut all = failed;
            all.extend(pending);
            all.push("context deadline exceeded".into());
            return Err(Error::Timeout(all.join("\n")));
        }
        if cancel.sleep(POLL.min(deadline - Instant::now())).await {
            return Err(Error::Cancelled(pending.join("\n")));
        }
    }
}

/// Waits for a hook: a Job until it completes, a Pod until it succeeds, anything else not at
/// all. A failure ends the wait at once, as Helm's does.
pub async fn hook(
    applier: &Applier,
    obj: &Value,
    namespace: &str,
    timeout: Duration,
    cancel: &Cancel,
) -> Result<()> {
    if !matches!(obj["kind"].as_str(), Some("Job" | "Pod")) {
        return Ok(());
    }
    let mut cancel = cancel.clone();
    let deadline = Instant::now() + timeout;
    loop {
        let (eval, shown) = evaluate(applier, obj, namespace, Wait::Hooks).await?;
        match eval.readiness() {
            Readiness::Ready => return Ok(()),
            Readiness::Failed(_) => return Err(Error::Failed(eval.not_ready_message(&shown))),
            Readiness::InProgress(_) => {}
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout(format!(
                "{}\ncontext deadline exceeded",
                eval.not_ready_message(&shown)
            )));
        }
        if cancel.sleep(POLL.min(deadline - Instant::now())).await {
            return Err(Error::Cancelled(eval.not_ready_message(&shown)));
        }
    }
}

/// Waits until every object in `objects` is gone.
pub async fn until_deleted(
    applier: &Applier,
    objects: &[Value],
    namespace: &str,
    timeout: Duration,
    cancel: &Cancel,
) -> Result<()> {
    let mut cancel = cancel.clone();
    let deadline = Instant::now() + timeout;
    loop {
        let mut left = Vec::new();
        for obj in objects {
            if applier.get(obj, namespace).await?.is_some() {
                left.push(crate::apply::describe(obj));
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout(format!(
                "timed out waiting for the deletion of {}",
                left.join(", ")
            )));
        }
        if cancel.sleep(POLL.min(deadline - Instant::now())).await {
            return Err(Error::Cancelled(format!("deleting {}", left.join(", "))));
        }
    }
}
