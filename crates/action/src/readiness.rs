//! Readiness of live objects, judged as Helm 4's kstatus-based waiter judges them.
//!
//! Helm 4.1.4 waits with `github.com/fluxcd/cli-utils` v0.37.2-flux.1, whose `pkg/kstatus/status`
//! rules are those of `sigs.k8s.io/cli-utils` v0.37.2. This module follows, in order:
//!
//! - `status.Compute` (`status.go`, `generic.go`, `core.go`, `util.go`): deletion, observed
//!   generation, the `Reconciling`/`Stalled` conditions, then per-kind rules, then a `Ready`
//!   condition, else Current;
//! - the readers Helm's `statusWaiter` (`pkg/kube/statuswait.go`) plugs in per wait: its own Job
//!   and Pod readers (`internal/statusreaders`) and, for hooks, "everything else is Current";
//! - the readers kstatus itself uses for Deployments, StatefulSets and ReplicaSets
//!   (`pkg/kstatus/polling/statusreaders`): they need a selector, and a StatefulSet or ReplicaSet
//!   still in progress is Failed once one of its pods has failed for good.
//!
//! Everything here is pure: the caller reads the object (and, for StatefulSets and ReplicaSets,
//! their pods; see [`pods_selector`]) and passes the clock.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};
use std::fmt;

/// How long kstatus lets a Pod stay unschedulable before calling it Failed (`ScheduleWindow`).
const SCHEDULE_WINDOW: SignedDuration = SignedDuration::from_secs(15);

/// Where an object stands, as Helm 4's kstatus-based waiter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Reconciled and ready (kstatus Current).
    Ready,
    /// Not there yet; the message says why, as kstatus words it (e.g. "Available: 0/2",
    /// "Deployment generation is 2, but latest observed generation is 1"). kstatus's Terminating
    /// and Unknown land here too: Helm keeps waiting on both.
    InProgress(String),
    /// It will not get there (kstatus Failed, e.g. a Job that failed: "Job Failed. failed: 1/1").
    /// Helm stops waiting on such an object and reports it.
    Failed(String),
}

/// Which of Helm 4's waits is looking; they read Jobs, Pods and other kinds differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wait {
    /// Helm's `Wait` (`--wait` alone; Flux's `disableWaitForJobs`): kstatus for every kind, so a
    /// Job that has started already counts as Current.
    Resources,
    /// Helm's `WaitWithJobs` (Flux's default): as [`Wait::Resources`], but a Job is Current only
    /// once complete, and its generic kstatus checks are skipped.
    #[default]
    ResourcesAndJobs,
    /// Helm's `WatchUntilReady`, for hooks: a Job until it completes, a Pod until it succeeds,
    /// and anything else is Current at once.
    Hooks,
}

/// kstatus's status words, as Helm prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Reconciled and ready.
    Current,
    /// Still getting there.
    InProgress,
    /// Will not get there without intervention.
    Failed,
    /// Being deleted (`metadata.deletionTimestamp` is set).
    Terminating,
    /// kstatus could not judge the object (a malformed field), or never saw it.
    Unknown,
    /// The object is gone. [`evaluate`] never returns this; it is here for callers that report a
    /// deleted object ("Resource not found").
    NotFound,
}

impl Status {
    /// The word Helm prints ("Current", "InProgress", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Current => "Current",
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Terminating => "Terminating",
            Status::Unknown => "Unknown",
            Status::NotFound => "NotFound",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// kstatus's full verdict on an object: its status word and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The status word.
    pub status: Status,
    /// kstatus's message. For [`Status::Unknown`] it says what kstatus could not read; Helm
    /// prints an empty message then (see [`Evaluation::not_ready_message`]).
    pub message: String,
}

impl Evaluation {
    /// The verdict as [`Readiness`]: Current is Ready, Failed is Failed, the rest in progress.
    pub fn readiness(&self) -> Readiness {
        match self.status {
            Status::Current => Readiness::Ready,
            Status::Failed => Readiness::Failed(self.message.clone()),
            Status::InProgress | Status::Terminating | Status::Unknown | Status::NotFound => {
                Readiness::InProgress(self.message.clone())
            }
        }
    }

    /// Helm 4's line for `obj` when a wait ends with it in this state, e.g.
    /// `resource Deployment/ns/name not ready. status: InProgress, message: Available: 0/2`.
    pub fn not_ready_message(&self, obj: &Value) -> String {
        // An Unknown status carries its error apart from the message, so Helm's message is empty.
        let message = if self.status == Status::Unknown {
            ""
        } else {
            self.message.as_str()
        };
        format!(
            "resource {}/{}/{} not ready. status: {}, message: {}",
            group_kind(obj).1,
            plain_str(obj, &["metadata", "namespace"]),
            plain_str(obj, &["metadata", "name"]),
            self.status,
            message
        )
    }
}

/// What [`evaluate`] needs besides the object.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Which wait is looking.
    pub wait: Wait,
    /// The current time, for kstatus's grace period on unschedulable Pods. Without it an
    /// unschedulable Pod stays InProgress ("Pod has not been scheduled") instead of turning
    /// Failed ("Pod could not be scheduled") 15 seconds after its creation.
    pub now: Option<Timestamp>,
    /// For a StatefulSet or ReplicaSet: the pods its selector matches in its namespace (list them
    /// with [`pods_selector`]). kstatus calls such an object Failed while one of them has failed
    /// for good; with none given that check finds nothing.
    pub pods: &'a [Value],
}

/// Readiness of `obj`, the live object as JSON as the API server returns it, in Helm 4's wait
/// with Jobs (`WaitWithJobs`, Flux's default). See [`evaluate`] for the other waits.
pub fn readiness(obj: &serde_json::Value) -> Readiness {
    evaluate(obj, &Options::default()).readiness()
}

/// Readiness of a hook `obj` in Helm 4's hook wait (`WatchUntilReady`): a Job until it
/// completes, a Pod until it succeeds, anything else Ready at once.
pub fn hook_readiness(obj: &Value) -> Readiness {
    let options = Options {
        wait: Wait::Hooks,
        ..Options::default()
    };
    evaluate(obj, &options).readiness()
}

/// kstatus's verdict on `obj` in the given wait, exactly as Helm 4.1.4 reaches it.
pub fn evaluate(obj: &Value, options: &Options<'_>) -> Evaluation {
    let (group, kind) = group_kind(obj);
    let computed = match (options.wait, group, kind) {
        // Helm's own readers come first in these waits and skip kstatus's generic checks.
        (Wait::Hooks | Wait::ResourcesAndJobs, "batch", "Job") => helm_job(obj),
        (Wait::Hooks, "", "Pod") => Ok(helm_pod(obj)),
        (Wait::Hooks, _, _) => Ok(current("Resource is current")),
        (_, "apps", "StatefulSet" | "ReplicaSet") => pod_controller(obj, group, kind, options),
        // kstatus's Deployment reader lists the ReplicaSets first, so it needs a selector.
        (_, "apps", "Deployment") => {
            label_selector(obj).and_then(|_| kstatus(obj, group, kind, options.now))
        }
        _ => kstatus(obj, group, kind, options.now),
    };
    computed.unwrap_or_else(|error| Evaluation {
        status: Status::Unknown,
        message: error,
    })
}

/// The label selector (as the `labelSelector` list parameter) of the pods kstatus inspects for
/// `obj` in the given wait: the pods of a StatefulSet or ReplicaSet outside hook waits. `None`
/// when it inspects none (or the selector is unusable; [`evaluate`] then reports Unknown).
/// An empty string selects every pod in the namespace, as an empty selector does in kstatus.
pub fn pods_selector(obj: &Value, wait: Wait) -> Option<String> {
    match (wait, group_kind(obj)) {
        (Wait::Resources | Wait::ResourcesAndJobs, ("apps", "StatefulSet" | "ReplicaSet")) => {
            label_selector(obj).ok()
        }
        _ => None,
    }
}

/// Helm 4's status line for a wait that timed out or failed, e.g.
/// `resource Deployment/ns/name not ready. status: InProgress, message: Available: 0/2` and
/// `resource Job/ns/name not ready. status: Failed, message: Job Failed. failed: 1/1`.
///
/// `r` came from `obj`; where [`Readiness`] folds kstatus's Terminating or Unknown into
/// InProgress, `obj` tells them apart again. [`Evaluation::not_ready_message`] needs no guessing.
pub fn not_ready_message(obj: &serde_json::Value, r: &Readiness) -> String {
    let evaluation = match r {
        Readiness::Ready => {
            // Helm never prints this; restate kstatus's message for completeness.
            let found = evaluate(obj, &Options::default());
            let message = if found.status == Status::Current {
                found.message
            } else {
                String::new()
            };
            Evaluation {
                status: Status::Current,
                message,
            }
        }
        Readiness::Failed(message) => failed(message.as_str()),
        Readiness::InProgress(message) => Evaluation {
            status: folded_status(obj, message),
            message: message.clone(),
        },
    };
    evaluation.not_ready_message(obj)
}

/// The status an InProgress `message` stood for: Terminating or Unknown when some wait reads
/// `obj` that way with that very message, else InProgress. Neither depends on the clock or pods.
fn folded_status(obj: &Value, message: &str) -> Status {
    [Wait::ResourcesAndJobs, Wait::Resources, Wait::Hooks]
        .into_iter()
        .map(|wait| {
            let options = Options {
                wait,
                ..Options::default()
            };
            evaluate(obj, &options)
        })
        .find(|e| matches!(e.status, Status::Terminating | Status::Unknown) && e.message == message)
        .map_or(Status::InProgress, |e| e.status)
}

/// A kstatus computation: a verdict, or the error that makes the status Unknown.
type Computed = Result<Evaluation, String>;

fn current(message: impl Into<String>) -> Evaluation {
    Evaluation {
        status: Status::Current,
        message: message.into(),
    }
}

fn in_progress(message: impl Into<String>) -> Evaluation {
    Evaluation {
        status: Status::InProgress,
        message: message.into(),
    }
}

fn failed(message: impl Into<String>) -> Evaluation {
    Evaluation {
        status: Status::Failed,
        message: message.into(),
    }
}

/// `status.Compute`: generic rules, then the kind's rules, then a Ready condition.
fn kstatus(obj: &Value, group: &str, kind: &str, now: Option<Timestamp>) -> Computed {
    if nested_str(obj, &["metadata", "deletionTimestamp"])?.is_some_and(|t| !t.is_empty()) {
        return Ok(Evaluation {
            status: Status::Terminating,
            message: "Resource scheduled for deletion".into(),
        });
    }
    if let Some(stale) = check_generation(obj)? {
        return Ok(stale);
    }
    let conds = conditions(obj)?;
    // The abnormal-true conditions decide on their own, whichever comes first.
    for c in &conds {
        if c.kind == "Reconciling" && c.status == "True" {
            return Ok(in_progress(c.message));
        }
        if c.kind == "Stalled" && c.status == "True" {
            return Ok(failed(c.message));
        }
    }
    match (group, kind) {
        ("", "Service") => Ok(service(obj)),
        ("", "Pod") => pod(obj, &conds, now),
        ("", "Secret" | "ConfigMap") | ("batch", "CronJob") => {
            Ok(current("Resource is always ready"))
        }
        ("", "PersistentVolumeClaim") => Ok(persistent_volume_claim(obj)),
        ("apps", "StatefulSet") => Ok(stateful_set(obj)),
        ("apps" | "extensions", "DaemonSet") => daemon_set(obj),
        ("apps" | "extensions", "Deployment") => Ok(deployment(obj, &conds)),
        ("apps" | "extensions", "ReplicaSet") => Ok(replica_set(obj, &conds)),
        ("policy", "PodDisruptionBudget") => Ok(current("AllowedDisruptions has been computed.")),
        ("batch", "Job") => Ok(kstatus_job(obj, &conds)),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Ok(crd(&conds)),
        _ => Ok(ready_condition(&conds).unwrap_or_else(|| current("Resource is current"))),
    }
}

/// InProgress when the controller has not yet observed the latest generation. Objects without
/// `status.observedGeneration` pass: there is nothing to compare.
fn check_generation(obj: &Value) -> Result<Option<Evaluation>, String> {
    let Some(generation) = nested_i64(obj, &["metadata", "generation"])? else {
        return Ok(None);
    };
    match nested_i64(obj, &["status", "observedGeneration"])? {
        Some(observed) if observed != generation => Ok(Some(in_progress(format!(
            "{} generation is {generation}, but latest observed generation is {observed}",
            plain_str(obj, &["kind"])
        )))),
        _ => Ok(None),
    }
}

/// kstatus's fallback for kinds it has no rules for: a Ready condition, if the object has one
/// with a recognised value.
fn ready_condition(conds: &[Condition<'_>]) -> Option<Evaluation> {
    conds
        .iter()
        .filter(|c| c.kind == "Ready")
        .find_map(|c| match c.status {
            "True" => Some(current("Resource is Ready")),
            "False" | "Unknown" => Some(in_progress(c.message)),
            _ => None,
        })
}

fn deployment(obj: &Value, conds: &[Condition<'_>]) -> Evaluation {
    // Without a progress deadline the controller never sets Progressing, so kstatus assumes
    // progress; the controller's own "unset" value is MaxInt32.
    let unset = i64::from(i32::MAX);
    let mut progressing = int_field(obj, &["spec", "progressDeadlineSeconds"], unset) == unset;
    let mut available = false;
    for c in conds {
        match c.kind {
            "Progressing" => {
                if c.reason == "ProgressDeadlineExceeded" {
                    return failed("Progress deadline exceeded");
                }
                if c.status == "True" && c.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }

    // The controller defaults spec.replicas to 1.
    let spec = int_field(obj, &["spec", "replicas"], 1);
    let replicas = int_field(obj, &["status", "replicas"], 0);
    let updated = int_field(obj, &["status", "updatedReplicas"], 0);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let available_replicas = int_field(obj, &["status", "availableReplicas"], 0);

    if spec > replicas {
        return in_progress(format!("Replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return in_progress(format!("Updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return in_progress(format!("Pending termination: {}", replicas - spec));
    }
    if updated > available_replicas {
        return in_progress(format!("Available: {available_replicas}/{updated}"));
    }
    if spec > ready {
        return in_progress(format!("Ready: {ready}/{spec}"));
    }
    if !progressing {
        return in_progress("ReplicaSet not Available");
    }
    if !available {
        return in_progress("Deployment not Available");
    }
    current(format!("Deployment is available. Replicas: {replicas}"))
}

/// StatefulSets never set conditions, so kstatus reads only the counts and revisions.
fn stateful_set(obj: &Value) -> Evaluation {
    // With OnDelete the user rolls pods by hand; kstatus does not wait for that.
    if str_field(obj, &["spec", "updateStrategy", "type"], "") == "OnDelete" {
        return current("StatefulSet is using the ondelete update strategy");
    }
    let spec = int_field(obj, &["spec", "replicas"], 1);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let current_replicas = int_field(obj, &["status", "currentReplicas"], 0);
    let updated = int_field(obj, &["status", "updatedReplicas"], 0);
    let replicas = int_field(obj, &["status", "replicas"], 0);
    let partition = int_field(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
        -1,
    );

    if spec > replicas {
        return in_progress(format!("Replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return in_progress(format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return in_progress(format!("Pending termination: {}", replicas - spec));
    }
    // A partitioned rollout is done once the pods at or above the partition are updated.
    if partition != -1 {
        if updated < spec - partition {
            return in_progress(format!("updated: {updated}/{}", spec - partition));
        }
        return current(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > current_replicas {
        return in_progress(format!("current: {current_replicas}/{spec}"));
    }
    let current_revision = str_field(obj, &["status", "currentRevision"], "");
    let update_revision = str_field(obj, &["status", "updateRevision"], "");
    if current_revision != update_revision {
        return in_progress("Waiting for updated revision to match current");
    }
    current(format!(
        "All replicas scheduled as expected. Replicas: {replicas}"
    ))
}

fn daemon_set(obj: &Value) -> Computed {
    // The generic check lets objects without generations pass; a DaemonSet the controller has
    // seen always has both, so their absence means it has not been seen yet.
    let kind = plain_str(obj, &["kind"]);
    if nested_i64(obj, &["metadata", "generation"])?.is_none() {
        return Ok(in_progress(format!("{kind} metadata.generation not found")));
    }
    if nested_i64(obj, &["status", "observedGeneration"])?.is_none() {
        return Ok(in_progress(format!(
            "{kind} status.observedGeneration not found"
        )));
    }
    let desired = int_field(obj, &["status", "desiredNumberScheduled"], -1);
    let scheduled = int_field(obj, &["status", "currentNumberScheduled"], 0);
    let updated = int_field(obj, &["status", "updatedNumberScheduled"], 0);
    let available = int_field(obj, &["status", "numberAvailable"], 0);
    let ready = int_field(obj, &["status", "numberReady"], 0);

    Ok(if desired == -1 {
        in_progress("Missing .status.desiredNumberScheduled")
    } else if desired > scheduled {
        in_progress(format!("Current: {scheduled}/{desired}"))
    } else if desired > updated {
        in_progress(format!("Updated: {updated}/{desired}"))
    } else if desired > available {
        in_progress(format!("Available: {available}/{desired}"))
    } else if desired > ready {
        in_progress(format!("Ready: {ready}/{desired}"))
    } else {
        current(format!(
            "All replicas scheduled as expected. Replicas: {desired}"
        ))
    })
}

fn replica_set(obj: &Value, conds: &[Condition<'_>]) -> Evaluation {
    if conds
        .iter()
        .any(|c| c.kind == "ReplicaFailure" && c.status == "True")
    {
        return in_progress("Replica Failure condition. Check Pods");
    }
    let spec = int_field(obj, &["spec", "replicas"], 1);
    let replicas = int_field(obj, &["status", "replicas"], 0);
    let ready = int_field(obj, &["status", "readyReplicas"], 0);
    let available = int_field(obj, &["status", "availableReplicas"], 0);
    let labelled = int_field(obj, &["status", "fullyLabeledReplicas"], 0);

    if spec > labelled {
        in_progress(format!("Labelled: {labelled}/{spec}"))
    } else if spec > available {
        in_progress(format!("Available: {available}/{spec}"))
    } else if spec > ready {
        in_progress(format!("Ready: {ready}/{spec}"))
    } else if replicas > spec {
        in_progress(format!("Pending termination: {}", replicas - spec))
    } else {
        current(format!("ReplicaSet is available. Replicas: {replicas}"))
    }
}

fn persistent_volume_claim(obj: &Value) -> Evaluation {
    match str_field(obj, &["status", "phase"], "unknown") {
        "Bound" => current("PVC is Bound"),
        phase => in_progress(format!("PVC is not Bound. phase: {phase}")),
    }
}

/// kstatus's Pod rules, used in resource waits: a finished Pod is Current either way.
fn pod(obj: &Value, conds: &[Condition<'_>], now: Option<Timestamp>) -> Computed {
    match str_field(obj, &["status", "phase"], "") {
        "Succeeded" => Ok(current("Pod has completed successfully")),
        "Failed" => Ok(current("Pod has completed, but not successfully")),
        "Running" => {
            if has_condition(conds, "Ready", "True") {
                return Ok(current("Pod is Ready"));
            }
            let looping = crash_looping_containers(obj)?;
            if !looping.is_empty() {
                return Ok(failed(format!(
                    "Containers in CrashLoop state: {}",
                    looping.join(",")
                )));
            }
            Ok(in_progress("Pod is running but is not Ready"))
        }
        "Pending" => {
            let unschedulable = conds
                .iter()
                .find(|c| c.kind == "PodScheduled" && c.status == "False")
                .is_some_and(|c| c.reason == "Unschedulable");
            Ok(if !unschedulable {
                in_progress("Pod is in the Pending phase")
            } else if within_schedule_window(obj, now) {
                in_progress("Pod has not been scheduled")
            } else {
                failed("Pod could not be scheduled")
            })
        }
        // The kubelet has not reported yet.
        "" => Ok(in_progress("Pod phase not available")),
        phase => Err(format!("unknown phase {phase}")),
    }
}

/// Whether an unschedulable Pod is still inside kstatus's grace period after its creation.
fn within_schedule_window(obj: &Value, now: Option<Timestamp>) -> bool {
    // Without a clock keep waiting, as kstatus does until the window closes.
    let Some(now) = now else {
        return true;
    };
    // A missing or unreadable creation time reads as the zero time, long past, as in Go.
    plain_str(obj, &["metadata", "creationTimestamp"])
        .parse::<Timestamp>()
        .is_ok_and(|created| now.duration_since(created) < SCHEDULE_WINDOW)
}

/// Names of containers waiting in CrashLoopBackOff.
fn crash_looping_containers(obj: &Value) -> Result<Vec<&str>, String> {
    let statuses = match lookup(obj, &["status", "containerStatuses"])? {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                ".status.containerStatuses accessor error: {} is not an array",
                json_type(other)
            ));
        }
    };
    // kstatus panics on malformed entries; skipping them is the closest harmless reading.
    Ok(statuses
        .iter()
        .filter_map(|s| {
            let name = s.get("name")?.as_str()?;
            let reason = s.get("state")?.get("waiting")?.get("reason")?.as_str()?;
            (reason == "CrashLoopBackOff").then_some(name)
        })
        .collect())
}

/// kstatus's Job rules, used by Helm's plain `Wait`: a Job that has started is Current.
fn kstatus_job(obj: &Value, conds: &[Condition<'_>]) -> Evaluation {
    let counts = JobCounts::of(obj);
    if let Some(done) = job_outcome(&counts, conds) {
        return done;
    }
    if str_field(obj, &["status", "startTime"], "").is_empty() {
        return in_progress("Job not started");
    }
    current(format!(
        "Job in progress. success:{}, active: {}, failed: {}",
        counts.succeeded, counts.active, counts.failed
    ))
}

/// Helm's own Job reader (`internal/statusreaders`), used when waiting for Jobs and for hooks:
/// Current only once complete, and no generic kstatus checks.
fn helm_job(obj: &Value) -> Computed {
    let counts = JobCounts::of(obj);
    let conds = conditions(obj)?;
    Ok(job_outcome(&counts, &conds).unwrap_or_else(|| in_progress("Job in progress")))
}

/// The counts kstatus quotes for a Job.
struct JobCounts {
    completions: i64,
    succeeded: i64,
    active: i64,
    failed: i64,
}

impl JobCounts {
    fn of(obj: &Value) -> JobCounts {
        // Completions default to parallelism, which defaults to 1.
        let parallelism = int_field(obj, &["spec", "parallelism"], 1);
        JobCounts {
            completions: int_field(obj, &["spec", "completions"], parallelism),
            succeeded: int_field(obj, &["status", "succeeded"], 0),
            active: int_field(obj, &["status", "active"], 0),
            failed: int_field(obj, &["status", "failed"], 0),
        }
    }
}

/// A finished Job's verdict from its Complete or Failed condition, whichever comes first.
fn job_outcome(counts: &JobCounts, conds: &[Condition<'_>]) -> Option<Evaluation> {
    conds
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.kind {
            "Complete" => Some(current(format!(
                "Job Completed. succeeded: {}/{}",
                counts.succeeded, counts.completions
            ))),
            "Failed" => Some(failed(format!(
                "Job Failed. failed: {}/{}",
                counts.failed, counts.completions
            ))),
            _ => None,
        })
}

/// Helm's own Pod reader, used for hooks: Current only once succeeded.
fn helm_pod(obj: &Value) -> Evaluation {
    let name = plain_str(obj, &["metadata", "name"]);
    match str_field(obj, &["status", "phase"], "") {
        "Succeeded" => current(format!("pod {name} succeeded")),
        "Failed" => failed(format!("pod {name} failed")),
        _ => in_progress("Pod in progress"),
    }
}

fn service(obj: &Value) -> Evaluation {
    // kstatus looks only at spec.clusterIP, not at a load balancer's ingress.
    let kind = str_field(obj, &["spec", "type"], "ClusterIP");
    if kind == "LoadBalancer" && str_field(obj, &["spec", "clusterIP"], "").is_empty() {
        return in_progress("ClusterIP not set. Service type: LoadBalancer");
    }
    current("Service is ready")
}

fn crd(conds: &[Condition<'_>]) -> Evaluation {
    for c in conds {
        if c.kind == "NamesAccepted" && c.status == "False" {
            return failed(c.message);
        }
        if c.kind == "Established" {
            if c.status == "False" && c.reason != "Installing" {
                return failed(c.message);
            }
            if c.status == "True" {
                return current("CRD is established");
            }
        }
    }
    in_progress("Install in progress")
}

/// kstatus's reader for StatefulSets and ReplicaSets: the object's own status, except that one
/// still in progress is Failed while some pod of it has failed for good.
fn pod_controller(obj: &Value, group: &str, kind: &str, options: &Options<'_>) -> Computed {
    // The reader lists the pods by selector before anything else.
    label_selector(obj)?;
    let own = kstatus(obj, group, kind, options.now)?;
    if own.status != Status::InProgress {
        return Ok(own);
    }
    let broken = options
        .pods
        .iter()
        .filter(|p| pod_failed_for_good(p, options.now))
        .count();
    if broken > 0 {
        return Ok(failed(format!("{broken} pods have failed")));
    }
    Ok(own)
}

/// A pod kstatus calls Failed, not counting the transient cases: being deleted (as in a rolling
/// update) or unschedulable (an autoscaler may still add room).
fn pod_failed_for_good(pod: &Value, now: Option<Timestamp>) -> bool {
    // Listed pods may lack apiVersion and kind, so they are judged as Pods outright.
    let is_failed = matches!(
        kstatus(pod, "", "Pod", now),
        Ok(Evaluation {
            status: Status::Failed,
            ..
        })
    );
    let deleting = !plain_str(pod, &["metadata", "deletionTimestamp"]).is_empty();
    let unschedulable = conditions(pod).is_ok_and(|conds| {
        conds
            .iter()
            .any(|c| c.kind == "PodScheduled" && c.status == "False" && c.reason == "Unschedulable")
    });
    is_failed && !deleting && !unschedulable
}

/// `spec.selector` as a `labelSelector` string, as kstatus converts it to list generated objects.
/// Label syntax is not re-validated: the API server checked it when storing the object.
fn label_selector(obj: &Value) -> Result<String, String> {
    let selector = match lookup(obj, &["spec", "selector"])? {
        None => return Err("no selector found".into()),
        Some(Value::Object(selector)) => selector,
        Some(other) => {
            return Err(format!(
                ".spec.selector accessor error: {} is not an object",
                json_type(other)
            ));
        }
    };
    // (key, requirement) pairs, sorted by key as the label selector sorts them.
    let mut requirements: Vec<(&str, String)> = Vec::new();
    for (key, value) in optional_map(selector, "matchLabels")?.into_iter().flatten() {
        let value = value
            .as_str()
            .ok_or_else(|| format!("matchLabels[{key}] is not a string"))?;
        requirements.push((key.as_str(), format!("{key}={value}")));
    }
    for expression in optional_array(selector, "matchExpressions")? {
        let expression = match expression {
            // A null entry reads as an empty requirement, whose empty operator is invalid.
            Value::Null => return Err("\"\" is not a valid label selector operator".into()),
            Value::Object(e) => e,
            other => return Err(format!("matchExpressions entry is {}", json_type(other))),
        };
        let key = optional_str(expression, "key")?;
        let operator = optional_str(expression, "operator")?;
        let mut values = optional_array(expression, "values")?
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| format!("values of {key} hold a non-string"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted but not deduplicated, as apimachinery prints them.
        values.sort_unstable();
        let requirement = match (operator, values.is_empty()) {
            ("In", false) => format!("{key} in ({})", values.join(",")),
            ("NotIn", false) => format!("{key} notin ({})", values.join(",")),
            ("Exists", true) => key.to_string(),
            ("DoesNotExist", true) => format!("!{key}"),
            ("In" | "NotIn", true) => {
                return Err(format!("values for {key} {operator} can't be empty"));
            }
            ("Exists" | "DoesNotExist", false) => {
                return Err(format!("values for {key} {operator} must be empty"));
            }
            _ => {
                return Err(format!(
                    "{operator:?} is not a valid label selector operator"
                ));
            }
        };
        requirements.push((key, requirement));
    }
    requirements.sort_by(|a, b| a.0.cmp(b.0));
    Ok(requirements
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

fn optional_map<'v>(
    m: &'v Map<String, Value>,
    key: &str,
) -> Result<Option<&'v Map<String, Value>>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(other) => Err(format!("{key} is {}", json_type(other))),
    }
}

fn optional_array<'v>(m: &'v Map<String, Value>, key: &str) -> Result<&'v [Value], String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("{key} is {}", json_type(other))),
    }
}

fn optional_str<'v>(m: &'v Map<String, Value>, key: &str) -> Result<&'v str, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("{key} is {}", json_type(other))),
    }
}

/// One entry of `status.conditions`, with absent fields empty.
#[derive(Debug, Clone, Copy, Default)]
struct Condition<'v> {
    kind: &'v str,
    status: &'v str,
    reason: &'v str,
    message: &'v str,
}

/// `status.conditions`, read as kstatus converts them: absent or null parts are empty, and any
/// other shape is an error (the status becomes Unknown).
fn conditions(obj: &Value) -> Result<Vec<Condition<'_>>, String> {
    let status = match obj.get("status") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(status)) => status,
        Some(other) => return Err(format!("status is {}, not an object", json_type(other))),
    };
    optional_array(status, "conditions")?
        .iter()
        .map(|c| match c {
            Value::Null => Ok(Condition::default()),
            Value::Object(c) => Ok(Condition {
                kind: optional_str(c, "type")?,
                status: optional_str(c, "status")?,
                reason: optional_str(c, "reason")?,
                message: optional_str(c, "message")?,
            }),
            other => Err(format!(
                "a condition is {}, not an object",
                json_type(other)
            )),
        })
        .collect()
}

fn has_condition(conds: &[Condition<'_>], kind: &str, status: &str) -> bool {
    conds.iter().any(|c| c.kind == kind && c.status == status)
}

/// The object's API group and kind, as apimachinery parses `apiVersion`: no slash means the core
/// group, and more than one slash makes both unreadable.
fn group_kind(obj: &Value) -> (&str, &str) {
    let api_version = plain_str(obj, &["apiVersion"]);
    let kind = plain_str(obj, &["kind"]);
    match api_version.split_once('/') {
        None => ("", kind),
        Some((group, version)) if !version.contains('/') => (group, kind),
        Some(_) => ("", ""),
    }
}

/// The value at `path`, found as apimachinery's `NestedFieldNoCopy` finds it: a null on the way
/// means absent, a non-object on the way is an error, and a null at the end is present.
fn lookup<'v>(obj: &'v Value, path: &[&str]) -> Result<Option<&'v Value>, String> {
    let mut value = obj;
    for (depth, key) in path.iter().enumerate() {
        match value {
            Value::Null => return Ok(None),
            Value::Object(map) => match map.get(*key) {
                Some(next) => value = next,
                None => return Ok(None),
            },
            other => {
                return Err(format!(
                    ".{} accessor error: {} is not an object",
                    path[..=depth].join("."),
                    json_type(other)
                ));
            }
        }
    }
    Ok(Some(value))
}

/// An integer at `path`; present with another type (null included) is an error.
fn nested_i64(obj: &Value, path: &[&str]) -> Result<Option<i64>, String> {
    match lookup(obj, path)? {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            format!(
                ".{} accessor error: {} is not an integer",
                path.join("."),
                json_type(v)
            )
        }),
    }
}

/// A string at `path`; present with another type (null included) is an error.
fn nested_str<'v>(obj: &'v Value, path: &[&str]) -> Result<Option<&'v str>, String> {
    match lookup(obj, path)? {
        None => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| {
            format!(
                ".{} accessor error: {} is not a string",
                path.join("."),
                json_type(v)
            )
        }),
    }
}

/// An integer at `path`, or `default` when absent or unreadable (kstatus's `GetIntField`).
fn int_field(obj: &Value, path: &[&str], default: i64) -> i64 {
    match lookup(obj, path) {
        Ok(Some(v)) => v.as_i64().unwrap_or(default),
        _ => default,
    }
}

/// A string at `path`, or `default` when absent or unreadable (kstatus's `GetStringField`).
fn str_field<'v>(obj: &'v Value, path: &[&str], default: &'v str) -> &'v str {
    match lookup(obj, path) {
        Ok(Some(v)) => v.as_str().unwrap_or(default),
        _ => default,
    }
}

/// A string at `path`, or "" (the getters of apimachinery's `Unstructured`).
fn plain_str<'v>(obj: &'v Value, path: &[&str]) -> &'v str {
    str_field(obj, path, "")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OLD: &str = "2020-01-01T00:00:00Z";

    fn with(wait: Wait) -> Options<'static> {
        Options {
            wait,
            ..Options::default()
        }
    }

    fn obj(api_version: &str, kind: &str, rest: Value) -> Value {
        let mut o = json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": "x", "namespace": "ns"},
        });
        if let (Some(o), Value::Object(rest)) = (o.as_object_mut(), rest) {
            for (k, v) in rest {
                if k == "metadata" {
                    if let (Some(meta), Value::Object(more)) = (o["metadata"].as_object_mut(), v) {
                        meta.extend(more);
                    }
                } else {
                    o.insert(k, v);
                }
            }
        }
        o
    }

    fn deploy(rest: Value) -> Value {
        let mut d = obj("apps/v1", "Deployment", rest);
        d["spec"]["selector"] = json!({"matchLabels": {"app": "x"}});
        d
    }

    fn sts(rest: Value) -> Value {
        let mut s = obj("apps/v1", "StatefulSet", rest);
        s["spec"]["selector"] = json!({"matchLabels": {"app": "x"}});
        s
    }

    fn rs(rest: Value) -> Value {
        let mut r = obj("apps/v1", "ReplicaSet", rest);
        r["spec"]["selector"] = json!({"matchLabels": {"app": "x"}});
        r
    }

    fn pod(rest: Value) -> Value {
        obj("v1", "Pod", rest)
    }

    fn job(rest: Value) -> Value {
        obj("batch/v1", "Job", rest)
    }

    fn conds(list: Value) -> Value {
        json!({"status": {"conditions": list}})
    }

    /// A container stuck in CrashLoopBackOff.
    fn looping(name: &str) -> Value {
        json!({"name": name, "state": {"waiting": {"reason": "CrashLoopBackOff"}}})
    }

    use Status::{Current, Failed, InProgress, Terminating, Unknown};
    use Wait::{Hooks, Resources, ResourcesAndJobs};

    /// (what, wait, object, expected status, expected message), each checked against what
    /// cli-utils v0.37.2-flux.1 and Helm 4.1.4's readers compute for the same object.
    fn cases() -> Vec<(&'static str, Wait, Value, Status, &'static str)> {
        let ready_deploy = json!({
            "metadata": {"generation": 3},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 600},
            "status": {
                "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2,
                "readyReplicas": 2, "availableReplicas": 2,
                "conditions": [
                    {"type": "Available", "status": "True"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                ],
            },
        });
        let sts_status = |extra: Value| {
            let mut s = json!({
                "spec": {"replicas": 3},
                "status": {
                    "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
                    "updatedReplicas": 3, "currentRevision": "r1", "updateRevision": "r1",
                },
            });
            if let (Some(status), Value::Object(extra)) = (s["status"].as_object_mut(), extra) {
                status.extend(extra);
            }
            s
        };
        let ds = |status: Value| {
            obj(
                "apps/v1",
                "DaemonSet",
                json!({"metadata": {"generation": 1}, "status": status}),
            )
        };
        let rs_status = |status: Value| rs(json!({"spec": {"replicas": 2}, "status": status}));
        let crd = |list: Value| {
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                conds(list),
            )
        };
        let widget = |rest: Value| obj("example.com/v1", "Widget", rest);

        vec![
            // Generic rules.
            (
                "being deleted",
                Resources,
                obj(
                    "v1",
                    "ConfigMap",
                    json!({"metadata": {"deletionTimestamp": OLD}}),
                ),
                Terminating,
                "Resource scheduled for deletion",
            ),
            (
                "empty deletion timestamp",
                Resources,
                obj(
                    "v1",
                    "ConfigMap",
                    json!({"metadata": {"deletionTimestamp": ""}}),
                ),
                Current,
                "Resource is always ready",
            ),
            (
                "generation not observed",
                ResourcesAndJobs,
                deploy(json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}})),
                InProgress,
                "Deployment generation is 2, but latest observed generation is 1",
            ),
            (
                "generation without observedGeneration",
                Resources,
                widget(json!({"metadata": {"generation": 5}})),
                Current,
                "Resource is current",
            ),
            (
                "Reconciling condition",
                Resources,
                widget(conds(json!([
                    {"type": "Ready", "status": "True"},
                    {"type": "Reconciling", "status": "True", "reason": "R", "message": "working"},
                ]))),
                InProgress,
                "working",
            ),
            (
                "Stalled condition first",
                Resources,
                widget(conds(json!([
                    {"type": "Stalled", "status": "True", "message": "stuck"},
                    {"type": "Reconciling", "status": "True", "message": "working"},
                ]))),
                Failed,
                "stuck",
            ),
            (
                "Stalled beats kind rules",
                Resources,
                deploy(conds(
                    json!([{"type": "Stalled", "status": "True", "message": "no"}]),
                )),
                Failed,
                "no",
            ),
            (
                "Stalled False ignored",
                Resources,
                widget(conds(
                    json!([{"type": "Stalled", "status": "False", "message": "no"}]),
                )),
                Current,
                "Resource is current",
            ),
            (
                "generation of the wrong type",
                Resources,
                widget(json!({"metadata": {"generation": "2"}})),
                Unknown,
                ".metadata.generation accessor error: a string is not an integer",
            ),
            (
                "status of the wrong type",
                Resources,
                widget(json!({"status": "fine"})),
                Unknown,
                "status is a string, not an object",
            ),
            (
                "condition status of the wrong type",
                Resources,
                widget(conds(json!([{"type": "Ready", "status": true}]))),
                Unknown,
                "status is a boolean",
            ),
            (
                "conditions of the wrong type",
                Resources,
                widget(conds(json!({"type": "Ready"}))),
                Unknown,
                "conditions is an object",
            ),
            // Deployment.
            (
                "deployment without status",
                Resources,
                deploy(json!({"spec": {"replicas": 2}})),
                InProgress,
                "Replicas: 0/2",
            ),
            (
                "deployment defaults to one replica",
                Resources,
                deploy(json!({})),
                InProgress,
                "Replicas: 0/1",
            ),
            (
                "deployment updating",
                Resources,
                deploy(
                    json!({"spec": {"replicas": 2}, "status": {"replicas": 2, "updatedReplicas": 1}}),
                ),
                InProgress,
                "Updated: 1/2",
            ),
            (
                "deployment scaling down",
                Resources,
                deploy(
                    json!({"spec": {"replicas": 2}, "status": {"replicas": 3, "updatedReplicas": 2}}),
                ),
                InProgress,
                "Pending termination: 1",
            ),
            (
                "deployment not available",
                ResourcesAndJobs,
                deploy(
                    json!({"spec": {"replicas": 2}, "status": {"replicas": 2, "updatedReplicas": 2}}),
                ),
                InProgress,
                "Available: 0/2",
            ),
            (
                "deployment not ready",
                Resources,
                deploy(json!({"spec": {"replicas": 2}, "status": {
                    "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 1}})),
                InProgress,
                "Ready: 1/2",
            ),
            (
                "deployment with deadline but no Progressing",
                Resources,
                deploy(
                    json!({"spec": {"replicas": 2, "progressDeadlineSeconds": 600}, "status": {
                    "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2,
                    "conditions": [{"type": "Available", "status": "True"}]}}),
                ),
                InProgress,
                "ReplicaSet not Available",
            ),
            (
                "deployment with the controller's unset deadline",
                Resources,
                deploy(
                    json!({"spec": {"replicas": 1, "progressDeadlineSeconds": 2147483647},
                    "status": {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                    "readyReplicas": 1, "conditions": [{"type": "Available", "status": "True"}]}}),
                ),
                Current,
                "Deployment is available. Replicas: 1",
            ),
            (
                "deployment without Available",
                Resources,
                deploy(json!({"spec": {"replicas": 2}, "status": {
                    "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}})),
                InProgress,
                "Deployment not Available",
            ),
            (
                "deployment ready",
                ResourcesAndJobs,
                deploy(ready_deploy.clone()),
                Current,
                "Deployment is available. Replicas: 2",
            ),
            (
                "deployment past its deadline",
                Resources,
                deploy(conds(json!([
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
                ]))),
                Failed,
                "Progress deadline exceeded",
            ),
            (
                "deployment without selector",
                Resources,
                obj("apps/v1", "Deployment", ready_deploy.clone()),
                Unknown,
                "no selector found",
            ),
            (
                "extensions deployment without selector",
                Resources,
                obj("extensions/v1beta1", "Deployment", ready_deploy.clone()),
                Current,
                "Deployment is available. Replicas: 2",
            ),
            (
                "Deployment of another group",
                Resources,
                obj(
                    "example.com/v1",
                    "Deployment",
                    json!({"spec": {"replicas": 2}}),
                ),
                Current,
                "Resource is current",
            ),
            // StatefulSet.
            (
                "statefulset OnDelete",
                Resources,
                sts(json!({"spec": {"replicas": 3, "updateStrategy": {"type": "OnDelete"}}})),
                Current,
                "StatefulSet is using the ondelete update strategy",
            ),
            (
                "statefulset without status",
                Resources,
                sts(json!({"spec": {"replicas": 3}})),
                InProgress,
                "Replicas: 0/3",
            ),
            (
                "statefulset not ready",
                Resources,
                sts(sts_status(json!({"readyReplicas": 1}))),
                InProgress,
                "Ready: 1/3",
            ),
            (
                "statefulset scaling down",
                Resources,
                sts(sts_status(json!({"replicas": 4}))),
                InProgress,
                "Pending termination: 1",
            ),
            (
                "statefulset partition rolling",
                Resources,
                sts({
                    let mut s = sts_status(json!({"updatedReplicas": 0}));
                    s["spec"]["updateStrategy"] =
                        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
                    s
                }),
                InProgress,
                "updated: 0/2",
            ),
            (
                "statefulset partition rolled",
                Resources,
                sts({
                    let mut s = sts_status(json!({"updatedReplicas": 2, "updateRevision": "r2"}));
                    s["spec"]["updateStrategy"] =
                        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
                    s
                }),
                Current,
                "Partition rollout complete. updated: 2",
            ),
            (
                "statefulset current behind",
                Resources,
                sts(sts_status(json!({"currentReplicas": 2}))),
                InProgress,
                "current: 2/3",
            ),
            (
                "statefulset revision mismatch",
                Resources,
                sts(sts_status(json!({"updateRevision": "r2"}))),
                InProgress,
                "Waiting for updated revision to match current",
            ),
            (
                "statefulset ready",
                ResourcesAndJobs,
                sts(sts_status(json!({}))),
                Current,
                "All replicas scheduled as expected. Replicas: 3",
            ),
            // DaemonSet.
            (
                "daemonset without generation",
                Resources,
                obj("apps/v1", "DaemonSet", json!({})),
                InProgress,
                "DaemonSet metadata.generation not found",
            ),
            (
                "daemonset not observed",
                Resources,
                ds(json!({})),
                InProgress,
                "DaemonSet status.observedGeneration not found",
            ),
            (
                "daemonset without desired count",
                Resources,
                ds(json!({"observedGeneration": 1})),
                InProgress,
                "Missing .status.desiredNumberScheduled",
            ),
            (
                "daemonset scheduling",
                Resources,
                ds(
                    json!({"observedGeneration": 1, "desiredNumberScheduled": 2, "currentNumberScheduled": 1}),
                ),
                InProgress,
                "Current: 1/2",
            ),
            (
                "daemonset updating",
                Resources,
                ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                    "currentNumberScheduled": 2, "updatedNumberScheduled": 1})),
                InProgress,
                "Updated: 1/2",
            ),
            (
                "daemonset not available",
                Resources,
                ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                    "currentNumberScheduled": 2, "updatedNumberScheduled": 2})),
                InProgress,
                "Available: 0/2",
            ),
            (
                "daemonset not ready",
                Resources,
                ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                    "currentNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2,
                    "numberReady": 1})),
                InProgress,
                "Ready: 1/2",
            ),
            (
                "daemonset ready",
                Resources,
                ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 2,
                    "currentNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2,
                    "numberReady": 2})),
                Current,
                "All replicas scheduled as expected. Replicas: 2",
            ),
            // ReplicaSet.
            (
                "replicaset failure",
                Resources,
                rs(conds(json!([{"type": "ReplicaFailure", "status": "True"}]))),
                InProgress,
                "Replica Failure condition. Check Pods",
            ),
            (
                "replicaset not labelled",
                Resources,
                rs_status(json!({"replicas": 2})),
                InProgress,
                "Labelled: 0/2",
            ),
            (
                "replicaset not available",
                Resources,
                rs_status(
                    json!({"replicas": 2, "fullyLabeledReplicas": 2, "availableReplicas": 1}),
                ),
                InProgress,
                "Available: 1/2",
            ),
            (
                "replicaset not ready",
                Resources,
                rs_status(
                    json!({"replicas": 2, "fullyLabeledReplicas": 2, "availableReplicas": 2}),
                ),
                InProgress,
                "Ready: 0/2",
            ),
            (
                "replicaset scaling down",
                Resources,
                rs_status(
                    json!({"replicas": 3, "fullyLabeledReplicas": 3, "availableReplicas": 2,
                    "readyReplicas": 2}),
                ),
                InProgress,
                "Pending termination: 1",
            ),
            (
                "replicaset ready",
                Resources,
                rs_status(
                    json!({"replicas": 2, "fullyLabeledReplicas": 2, "availableReplicas": 2,
                    "readyReplicas": 2}),
                ),
                Current,
                "ReplicaSet is available. Replicas: 2",
            ),
            // Pod, as kstatus reads it in resource waits.
            (
                "pod succeeded",
                Resources,
                pod(json!({"status": {"phase": "Succeeded"}})),
                Current,
                "Pod has completed successfully",
            ),
            (
                "pod failed",
                ResourcesAndJobs,
                pod(json!({"status": {"phase": "Failed"}})),
                Current,
                "Pod has completed, but not successfully",
            ),
            (
                "pod ready",
                Resources,
                pod(json!({"status": {"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]}})),
                Current,
                "Pod is Ready",
            ),
            (
                "pod crash looping",
                Resources,
                pod(json!({"status": {"phase": "Running", "containerStatuses": [
                    looping("a"),
                    {"name": "b", "state": {"running": {}}},
                    looping("c"),
                ]}})),
                Failed,
                "Containers in CrashLoop state: a,c",
            ),
            (
                "pod running, not ready",
                Resources,
                pod(json!({"status": {"phase": "Running", "containerStatuses": [
                    {"name": "a", "state": {"waiting": {"reason": "ContainerCreating"}}},
                ]}})),
                InProgress,
                "Pod is running but is not Ready",
            ),
            (
                "pod pending",
                Resources,
                pod(json!({"status": {"phase": "Pending"}})),
                InProgress,
                "Pod is in the Pending phase",
            ),
            (
                "pod not yet observed",
                Resources,
                pod(json!({})),
                InProgress,
                "Pod phase not available",
            ),
            (
                "pod in an unknown phase",
                Resources,
                pod(json!({"status": {"phase": "Unknown"}})),
                Unknown,
                "unknown phase Unknown",
            ),
            (
                "pod with malformed container statuses",
                Resources,
                pod(json!({"status": {"phase": "Running", "containerStatuses": {}}})),
                Unknown,
                ".status.containerStatuses accessor error: an object is not an array",
            ),
            (
                "pod generation not observed",
                Resources,
                pod(json!({"metadata": {"generation": 2},
                    "status": {"observedGeneration": 1, "phase": "Running"}})),
                InProgress,
                "Pod generation is 2, but latest observed generation is 1",
            ),
            (
                "pod being deleted",
                Resources,
                pod(
                    json!({"metadata": {"deletionTimestamp": OLD}, "status": {"phase": "Running"}}),
                ),
                Terminating,
                "Resource scheduled for deletion",
            ),
            // Pod, as Helm's hook reader reads it.
            (
                "hook pod succeeded",
                Hooks,
                pod(json!({"status": {"phase": "Succeeded"}})),
                Current,
                "pod x succeeded",
            ),
            (
                "hook pod failed",
                Hooks,
                pod(json!({"status": {"phase": "Failed"}})),
                Failed,
                "pod x failed",
            ),
            (
                "hook pod ready but running",
                Hooks,
                pod(json!({"status": {"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]}})),
                InProgress,
                "Pod in progress",
            ),
            (
                "hook pod being deleted",
                Hooks,
                pod(
                    json!({"metadata": {"deletionTimestamp": OLD}, "status": {"phase": "Succeeded"}}),
                ),
                Current,
                "pod x succeeded",
            ),
            // Job, as kstatus reads it (plain --wait).
            (
                "job complete",
                Resources,
                job(json!({"status": {"succeeded": 1, "conditions": [
                    {"type": "Complete", "status": "True"}]}})),
                Current,
                "Job Completed. succeeded: 1/1",
            ),
            (
                "job failed",
                Resources,
                job(json!({"status": {"failed": 1, "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}})),
                Failed,
                "Job Failed. failed: 1/1",
            ),
            (
                "job running",
                Resources,
                job(
                    json!({"spec": {"parallelism": 3}, "status": {"startTime": OLD, "active": 3,
                    "succeeded": 1, "failed": 2}}),
                ),
                Current,
                "Job in progress. success:1, active: 3, failed: 2",
            ),
            (
                "job with a false Complete then Failed",
                Resources,
                job(json!({"status": {"failed": 2, "conditions": [
                    {"type": "Complete", "status": "False"},
                    {"type": "Failed", "status": "True"}]}})),
                Failed,
                "Job Failed. failed: 2/1",
            ),
            (
                "job not started",
                Resources,
                job(json!({})),
                InProgress,
                "Job not started",
            ),
            (
                "job completions default to parallelism",
                Resources,
                job(
                    json!({"spec": {"parallelism": 3}, "status": {"succeeded": 3, "conditions": [
                    {"type": "Complete", "status": "True"}]}}),
                ),
                Current,
                "Job Completed. succeeded: 3/3",
            ),
            // Job, as Helm's reader reads it (waiting for jobs, and hooks).
            (
                "waited job running",
                ResourcesAndJobs,
                job(json!({"status": {"startTime": OLD, "active": 1}})),
                InProgress,
                "Job in progress",
            ),
            (
                "waited job failed",
                ResourcesAndJobs,
                job(
                    json!({"spec": {"completions": 2}, "status": {"failed": 1, "conditions": [
                    {"type": "FailureTarget", "status": "True"},
                    {"type": "Failed", "status": "True"}]}}),
                ),
                Failed,
                "Job Failed. failed: 1/2",
            ),
            (
                "hook job complete",
                Hooks,
                job(json!({"status": {"succeeded": 1, "conditions": [
                    {"type": "Complete", "status": "True"}]}})),
                Current,
                "Job Completed. succeeded: 1/1",
            ),
            (
                "hook job failed",
                Hooks,
                job(json!({"status": {"failed": 1, "conditions": [
                    {"type": "Failed", "status": "True"}]}})),
                Failed,
                "Job Failed. failed: 1/1",
            ),
            (
                "hook job skips generic checks",
                Hooks,
                job(json!({"metadata": {"deletionTimestamp": OLD}})),
                InProgress,
                "Job in progress",
            ),
            (
                "hook job with malformed conditions",
                Hooks,
                job(conds(json!(["Complete"]))),
                Unknown,
                "a condition is a string, not an object",
            ),
            // Other built-in kinds.
            (
                "pvc bound",
                Resources,
                obj(
                    "v1",
                    "PersistentVolumeClaim",
                    json!({"status": {"phase": "Bound"}}),
                ),
                Current,
                "PVC is Bound",
            ),
            (
                "pvc pending",
                Resources,
                obj(
                    "v1",
                    "PersistentVolumeClaim",
                    json!({"status": {"phase": "Pending"}}),
                ),
                InProgress,
                "PVC is not Bound. phase: Pending",
            ),
            (
                "pvc without status",
                Resources,
                obj("v1", "PersistentVolumeClaim", json!({})),
                InProgress,
                "PVC is not Bound. phase: unknown",
            ),
            (
                "service",
                Resources,
                obj("v1", "Service", json!({"spec": {"clusterIP": "10.0.0.1"}})),
                Current,
                "Service is ready",
            ),
            (
                "load balancer with cluster IP",
                Resources,
                obj(
                    "v1",
                    "Service",
                    json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1"}}),
                ),
                Current,
                "Service is ready",
            ),
            (
                "load balancer without cluster IP",
                Resources,
                obj("v1", "Service", json!({"spec": {"type": "LoadBalancer"}})),
                InProgress,
                "ClusterIP not set. Service type: LoadBalancer",
            ),
            (
                "crd established",
                Resources,
                crd(json!([
                    {"type": "NamesAccepted", "status": "True"},
                    {"type": "Established", "status": "True"},
                ])),
                Current,
                "CRD is established",
            ),
            (
                "crd names rejected",
                Resources,
                crd(
                    json!([{"type": "NamesAccepted", "status": "False", "reason": "NameConflict",
                    "message": "plural is taken"}]),
                ),
                Failed,
                "plural is taken",
            ),
            (
                "crd installing",
                Resources,
                crd(json!([{"type": "Established", "status": "False", "reason": "Installing"}])),
                InProgress,
                "Install in progress",
            ),
            (
                "crd not established",
                Resources,
                crd(
                    json!([{"type": "Established", "status": "False", "reason": "Other",
                    "message": "nope"}]),
                ),
                Failed,
                "nope",
            ),
            (
                "crd established before names rejected",
                Resources,
                crd(json!([
                    {"type": "Established", "status": "True"},
                    {"type": "NamesAccepted", "status": "False", "message": "taken"},
                ])),
                Current,
                "CRD is established",
            ),
            (
                "crd without conditions",
                Resources,
                crd(json!([])),
                InProgress,
                "Install in progress",
            ),
            (
                "pdb",
                Resources,
                obj("policy/v1", "PodDisruptionBudget", json!({})),
                Current,
                "AllowedDisruptions has been computed.",
            ),
            (
                "pdb not observed",
                Resources,
                obj(
                    "policy/v1",
                    "PodDisruptionBudget",
                    json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}),
                ),
                InProgress,
                "PodDisruptionBudget generation is 2, but latest observed generation is 1",
            ),
            (
                "secret",
                Resources,
                obj("v1", "Secret", json!({})),
                Current,
                "Resource is always ready",
            ),
            (
                "cronjob",
                ResourcesAndJobs,
                obj("batch/v1", "CronJob", json!({})),
                Current,
                "Resource is always ready",
            ),
            // Kinds without rules.
            (
                "custom resource without conditions",
                Resources,
                widget(json!({})),
                Current,
                "Resource is current",
            ),
            (
                "custom resource Ready",
                Resources,
                widget(conds(json!([{"type": "Ready", "status": "True"}]))),
                Current,
                "Resource is Ready",
            ),
            (
                "custom resource not Ready",
                Resources,
                widget(conds(
                    json!([{"type": "Ready", "status": "False", "message": "waiting"}]),
                )),
                InProgress,
                "waiting",
            ),
            (
                "custom resource Ready unknown",
                Resources,
                widget(conds(
                    json!([{"type": "Ready", "status": "Unknown", "message": "hm"}]),
                )),
                InProgress,
                "hm",
            ),
            (
                "custom resource Ready without a status",
                Resources,
                widget(conds(json!([{"type": "Ready"}]))),
                Current,
                "Resource is current",
            ),
            // Hook waits look at Jobs and Pods only.
            (
                "hook configmap",
                Hooks,
                obj("v1", "ConfigMap", json!({})),
                Current,
                "Resource is current",
            ),
            (
                "hook deployment",
                Hooks,
                deploy(json!({"spec": {"replicas": 2}})),
                Current,
                "Resource is current",
            ),
        ]
    }

    #[test]
    fn follows_kstatus_and_helm_readers() {
        for (what, wait, o, status, message) in cases() {
            let got = evaluate(&o, &with(wait));
            assert_eq!(
                (got.status, got.message.as_str()),
                (status, message),
                "{what}"
            );
        }
    }

    #[test]
    fn readiness_defaults_to_waiting_for_jobs() {
        let running = job(json!({"status": {"startTime": OLD, "active": 1}}));
        assert_eq!(
            readiness(&running),
            Readiness::InProgress("Job in progress".into())
        );
        let failed = job(json!({"status": {"failed": 1, "conditions": [
            {"type": "Failed", "status": "True"}]}}));
        assert_eq!(
            readiness(&failed),
            Readiness::Failed("Job Failed. failed: 1/1".into())
        );
        assert_eq!(
            readiness(&obj("v1", "ConfigMap", json!({}))),
            Readiness::Ready
        );
        let running_pod = pod(json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}}));
        assert_eq!(readiness(&running_pod), Readiness::Ready);
        // Terminating and Unknown keep Helm waiting.
        let deleting = obj(
            "v1",
            "ConfigMap",
            json!({"metadata": {"deletionTimestamp": OLD}}),
        );
        assert_eq!(
            readiness(&deleting),
            Readiness::InProgress("Resource scheduled for deletion".into())
        );
    }

    #[test]
    fn hook_readiness_waits_for_completion() {
        let running_pod = pod(json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}}));
        assert_eq!(
            hook_readiness(&running_pod),
            Readiness::InProgress("Pod in progress".into())
        );
        let failed_pod = pod(json!({"status": {"phase": "Failed"}}));
        assert_eq!(
            hook_readiness(&failed_pod),
            Readiness::Failed("pod x failed".into())
        );
        assert_eq!(
            hook_readiness(&deploy(json!({"spec": {"replicas": 2}}))),
            Readiness::Ready
        );
    }

    #[test]
    fn unschedulable_pod_fails_after_the_window() {
        let created: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let unschedulable = pod(json!({
            "metadata": {"creationTimestamp": "2025-01-01T00:00:00Z"},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]},
        }));
        let at = |secs: i64| Options {
            wait: Resources,
            now: Some(created + SignedDuration::from_secs(secs)),
            ..Options::default()
        };
        let early = evaluate(&unschedulable, &at(14));
        assert_eq!(
            (early.status, early.message.as_str()),
            (InProgress, "Pod has not been scheduled")
        );
        let late = evaluate(&unschedulable, &at(15));
        assert_eq!(
            (late.status, late.message.as_str()),
            (Failed, "Pod could not be scheduled")
        );
        // Without a clock the window never closes.
        let unknown = evaluate(&unschedulable, &with(Resources));
        assert_eq!(unknown.status, InProgress);
        // Without a creation time the window is long closed, as with Go's zero time.
        let mut ageless = unschedulable.clone();
        ageless["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("creationTimestamp");
        assert_eq!(evaluate(&ageless, &at(0)).status, Failed);
        // Scheduled but waiting for something else is plain Pending.
        let pending = pod(json!({"status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}}));
        assert_eq!(
            evaluate(&pending, &at(100)).message,
            "Pod is in the Pending phase"
        );
    }

    #[test]
    fn statefulset_and_replicaset_fail_with_their_pods() {
        let running = |extra: Value| {
            let mut p = json!({
                "metadata": {"name": "p", "namespace": "ns", "creationTimestamp": OLD},
                "status": {"phase": "Running", "containerStatuses": [looping("app")]},
            });
            if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
                p.extend(extra);
            }
            p
        };
        let crashing = running(json!({}));
        let deleting = {
            let mut p = running(json!({}));
            p["metadata"]["deletionTimestamp"] = json!(OLD);
            p
        };
        let unschedulable = json!({
            "metadata": {"name": "q", "creationTimestamp": OLD},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]},
        });
        let fine = json!({"metadata": {"name": "r"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}});
        let now = Some("2025-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
        let judge = |o: &Value, wait: Wait, pods: &[Value]| {
            let e = evaluate(o, &Options { wait, now, pods });
            (e.status, e.message)
        };

        let rolling =
            sts(json!({"spec": {"replicas": 2}, "status": {"replicas": 2, "readyReplicas": 1}}));
        let pods = [crashing.clone(), fine.clone(), crashing.clone()];
        assert_eq!(
            judge(&rolling, Resources, &pods),
            (Failed, "2 pods have failed".into())
        );
        assert_eq!(
            judge(&rolling, ResourcesAndJobs, &pods),
            (Failed, "2 pods have failed".into())
        );
        // Pods being deleted or waiting for room do not count.
        assert_eq!(
            judge(
                &rolling,
                Resources,
                &[deleting, unschedulable, fine.clone()]
            ),
            (InProgress, "Ready: 1/2".into())
        );
        // Only an object still in progress is judged by its pods.
        let done = sts(json!({"spec": {"replicas": 1}, "status": {"replicas": 1,
            "readyReplicas": 1, "currentReplicas": 1}}));
        assert_eq!(judge(&done, Resources, &pods).0, Current);
        // Hooks do not wait on StatefulSets at all.
        assert_eq!(judge(&rolling, Hooks, &pods).0, Current);

        let replicas = rs(json!({"spec": {"replicas": 2}, "status": {"replicas": 2}}));
        assert_eq!(
            judge(&replicas, Resources, &[crashing]),
            (Failed, "1 pods have failed".into())
        );
        // Deployments are judged on their own status only.
        let deployment = deploy(json!({"spec": {"replicas": 2}, "status": {"replicas": 2}}));
        assert_eq!(judge(&deployment, Resources, &pods).0, InProgress);
    }

    #[test]
    fn pods_selector_follows_the_label_selector() {
        let mut s = sts(json!({}));
        s["spec"]["selector"] = json!({
            "matchLabels": {"tier": "web", "app": "x"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev", "prod"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "canary", "operator": "Exists"},
                {"key": "zone", "operator": "NotIn", "values": ["b", "a"]},
            ],
        });
        assert_eq!(
            pods_selector(&s, Resources).as_deref(),
            Some("app=x,canary,env in (dev,prod,prod),!legacy,tier=web,zone notin (a,b)")
        );
        assert_eq!(
            pods_selector(&rs(json!({})), ResourcesAndJobs).as_deref(),
            Some("app=x")
        );
        // An empty selector selects everything.
        let mut all = sts(json!({}));
        all["spec"]["selector"] = json!({});
        assert_eq!(pods_selector(&all, Resources).as_deref(), Some(""));
        // Kinds and waits that look at no pods.
        assert_eq!(pods_selector(&s, Hooks), None);
        assert_eq!(pods_selector(&deploy(json!({})), Resources), None);
        assert_eq!(
            pods_selector(&obj("apps/v1", "DaemonSet", json!({})), Resources),
            None
        );
    }

    #[test]
    fn unusable_selectors_make_the_status_unknown() {
        let judge = |selector: Value| {
            let mut s = sts(json!({}));
            s["spec"]["selector"] = selector;
            (
                pods_selector(&s, Resources),
                evaluate(&s, &with(Resources)).status,
            )
        };
        for selector in [
            json!(null),
            json!("app=x"),
            json!({"matchLabels": {"app": 1}}),
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]}),
            json!({"matchExpressions": [null]}),
        ] {
            assert_eq!(judge(selector.clone()), (None, Unknown), "{selector}");
        }
        let mut bare = sts(json!({}));
        bare["spec"].as_object_mut().unwrap().remove("selector");
        assert_eq!(
            evaluate(&bare, &with(Resources)).message,
            "no selector found"
        );
    }

    #[test]
    fn not_ready_messages_read_as_helm_prints_them() {
        let mut d = deploy(
            json!({"spec": {"replicas": 2}, "status": {"replicas": 2, "updatedReplicas": 2}}),
        );
        d["metadata"] = json!({"name": "bad2-webapp", "namespace": "t3"});
        assert_eq!(
            not_ready_message(&d, &readiness(&d)),
            "resource Deployment/t3/bad2-webapp not ready. status: InProgress, message: Available: 0/2"
        );
        let mut j = job(json!({"status": {"failed": 1, "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}));
        j["metadata"] = json!({"name": "bad-webapp-migrate", "namespace": "t3"});
        assert_eq!(
            not_ready_message(&j, &readiness(&j)),
            "resource Job/t3/bad-webapp-migrate not ready. status: Failed, message: Job Failed. failed: 1/1"
        );
        assert_eq!(
            not_ready_message(&j, &hook_readiness(&j)),
            "resource Job/t3/bad-webapp-migrate not ready. status: Failed, message: Job Failed. failed: 1/1"
        );
    }

    #[test]
    fn not_ready_messages_restore_folded_statuses() {
        let deleting = obj(
            "v1",
            "ConfigMap",
            json!({"metadata": {"deletionTimestamp": OLD}}),
        );
        assert_eq!(
            not_ready_message(&deleting, &readiness(&deleting)),
            "resource ConfigMap/ns/x not ready. status: Terminating, message: Resource scheduled for deletion"
        );
        // kstatus keeps an Unknown status's error out of its message.
        let odd = pod(json!({"status": {"phase": "Unknown"}}));
        assert_eq!(
            not_ready_message(&odd, &readiness(&odd)),
            "resource Pod/ns/x not ready. status: Unknown, message: "
        );
        // The same words from a condition stay InProgress.
        let widget = obj(
            "example.com/v1",
            "Widget",
            conds(json!([{"type": "Ready", "status": "False",
                "message": "Resource scheduled for deletion"}])),
        );
        assert_eq!(
            not_ready_message(&widget, &readiness(&widget)),
            "resource Widget/ns/x not ready. status: InProgress, message: Resource scheduled for deletion"
        );
        // Cluster-scoped objects have an empty namespace.
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"}});
        assert_eq!(
            not_ready_message(&crd, &readiness(&crd)),
            "resource CustomResourceDefinition//widgets.example.com not ready. status: InProgress, message: Install in progress"
        );
        // Helm never prints a ready object, but the line still reads sensibly.
        let cm = obj("v1", "ConfigMap", json!({}));
        assert_eq!(
            not_ready_message(&cm, &Readiness::Ready),
            "resource ConfigMap/ns/x not ready. status: Current, message: Resource is always ready"
        );
        // Callers report vanished and never-seen objects through Evaluation.
        let gone = Evaluation {
            status: Status::NotFound,
            message: "Resource not found".into(),
        };
        assert_eq!(
            gone.not_ready_message(&cm),
            "resource ConfigMap/ns/x not ready. status: NotFound, message: Resource not found"
        );
    }

    #[test]
    fn api_versions_parse_as_apimachinery_parses_them() {
        let kind_of = |v: &str| {
            group_kind(&json!({"apiVersion": v, "kind": "Job"}))
                .0
                .to_string()
        };
        assert_eq!(kind_of("batch/v1"), "batch");
        assert_eq!(kind_of("v1"), "");
        assert_eq!(kind_of(""), "");
        assert_eq!(
            group_kind(&json!({"apiVersion": "a/b/c", "kind": "Job"})),
            ("", "")
        );
        // A Job of an unreadable apiVersion is no Job: generic rules, Current.
        let odd = json!({"apiVersion": "batch/v1/x", "kind": "Job", "metadata": {"name": "j"}});
        assert_eq!(
            evaluate(&odd, &with(ResourcesAndJobs)).message,
            "Resource is current"
        );
    }

    #[test]
    fn fields_read_as_unstructured_reads_them() {
        let o = json!({"a": {"b": null, "c": 2, "d": 2.0, "s": "x"}, "n": null});
        assert_eq!(lookup(&o, &["n", "x"]), Ok(None));
        assert_eq!(lookup(&o, &["a", "b"]), Ok(Some(&Value::Null)));
        assert!(lookup(&o, &["a", "s", "t"]).is_err());
        assert_eq!(nested_i64(&o, &["a", "c"]), Ok(Some(2)));
        assert!(nested_i64(&o, &["a", "d"]).is_err());
        assert!(nested_i64(&o, &["a", "b"]).is_err());
        assert_eq!(nested_i64(&o, &["a", "zz"]), Ok(None));
        assert_eq!(int_field(&o, &["a", "d"], 7), 7);
        assert_eq!(int_field(&o, &["a", "s", "t"], 7), 7);
        assert_eq!(str_field(&o, &["a", "c"], "dflt"), "dflt");
        assert_eq!(plain_str(&o, &["a", "s"]), "x");
    }

    #[test]
    fn statuses_print_as_kstatus_names_them() {
        let words: Vec<String> = [
            Current,
            InProgress,
            Failed,
            Terminating,
            Unknown,
            Status::NotFound,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            words,
            [
                "Current",
                "InProgress",
                "Failed",
                "Terminating",
                "Unknown",
                "NotFound"
            ]
        );
    }
}
