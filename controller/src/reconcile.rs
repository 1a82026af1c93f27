//! One reconcile of one HelmRelease: the IO around the pure core, in helm-controller's order
//! (reference/flux-api.md section 2.1): deletion and finalizer, suspend, dependencies, the
//! chart and values, a change of release target, then the atomic release loop, and a last
//! status patch. Every status write is a merge patch of the fields that changed.

use crate::compose::{self, Loaded};
use crate::conditions::{self, Conditions};
use crate::events::{Events, Meta};
use crate::observe;
use crate::spec::{
    FORCE_AT, REQUESTED_AT, RESET_AT, action_options, annotation, force_requested, go_duration,
    interval, reset_requested, status_patch, timeout_for,
};
use crate::state::{self, Action, Kind, Observed, Stop, Target, Wanted};
use crate::{Error, Settings, history};
use helmrelease_action::{Actions, Cancel};
use helmrelease_crds::helmrelease::{HelmRelease, HelmReleaseStatus, Snapshot};
use helmrelease_release::{Release, Status, StoredRelease};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Flux's finalizer on HelmReleases.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
/// Shared by every reconcile.
pub struct Context {
    /// The controller's client.
    pub client: Client,
    /// The controller's configuration, from which impersonating clients are made.
    pub config: kube::Config,
    /// Clients impersonating service accounts, by `system:serviceaccount:<ns>:<name>`.
    pub impersonating: std::sync::Mutex<std::collections::HashMap<String, Client>>,
    /// Flags.
    pub settings: Settings,
    /// Event writer.
    pub events: Events,
    /// Our artifact storage, when sources run in-process (its artifacts are read from disk).
    pub storage: Option<crate::storage::Storage>,
    /// Counters and durations.
    pub metrics: crate::metrics::Metrics,
    /// Discovery for `.Capabilities`.
    pub capabilities: crate::capabilities::Cache,
    /// Cancelled on shutdown, so running actions end `failed` rather than `pending`.
    pub cancel: Cancel,
    /// Kinds resolved through discovery in the controller's own cluster.
    pub kinds: helmrelease_action::apply::Kinds,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .finish()
    }
}

impl Context {
    /// The service account a HelmRelease's Helm actions run as: its `serviceAccountName`,
    /// else `--default-service-account`; `None` runs them as the controller.
    pub fn service_account(&self, hr: &HelmRelease) -> Option<String> {
        hr.spec
            .service_account_name
            .clone()
            .or_else(|| self.settings.default_service_account.clone())
            .filter(|s| !s.is_empty())
    }

    /// Kinds resolved through discovery for `hr`'s cluster, shared by its appliers.
    pub fn kinds_for(&self, hr: &HelmRelease) -> helmrelease_action::apply::Kinds {
        if hr.spec.kube_config.is_some() {
            // Another cluster: its own discovery.
            helmrelease_action::apply::Kinds::default()
        } else {
            self.kinds.clone()
        }
    }

    /// The client a HelmRelease's release is read and written with: the controller's own;
    /// or, with `spec.kubeConfig`, one for the cluster its Secret's kubeconfig names; in
    /// either case impersonating the service account when one is named, as helm-controller
    /// does, so RBAC limits what a tenant's HelmRelease can install.
    pub async fn release_client(&self, hr: &HelmRelease) -> Result<Client, Error> {
        let namespace = hr.namespace().unwrap_or_default();
        let account = self.service_account(hr);
        let secret = hr
            .spec
            .kube_config
            .as_ref()
            .and_then(|k| k.secret_ref.clone());
        if account.is_none() && secret.is_none() {
            return Ok(self.client.clone());
        }
        let (mut config, source) = match &secret {
            Some(reference) => {
                let (text, version) = self.kubeconfig_of(&namespace, reference).await?;
                let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).map_err(|e| {
                    Error::Reconcile(format!(
                        "spec.kubeConfig: Secret '{namespace}/{}' holds no valid kubeconfig: {e}",
                        reference.name
                    ))
                })?;
                let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                    .await
                    .map_err(|e| {
                        Error::Reconcile(format!(
                            "spec.kubeConfig: Secret '{namespace}/{}': {e}",
                            reference.name
                        ))
                    })?;
                (config, format!("{namespace}/{}@{version}", reference.name))
            }
            None => (self.config.clone(), String::new()),
        };
        let user = account.map(|a| format!("system:serviceaccount:{namespace}:{a}"));
        let key = format!("{source}|{}", user.clone().unwrap_or_default());
        if let Some(client) = self
            .impersonating
            .lock()
            .map_err(|_| Error::Reconcile("client cache poisoned".into()))?
            .get(&key)
        {
            return Ok(client.clone());
        }
        if let Some(user) = &user {
            config.auth_info.impersonate = Some(user.clone());
            config.auth_info.impersonate_groups = None;
        }
        let client =
            Client::try_from(config).map_err(|e| Error::Kube(format!("client for {key}: {e}")))?;
        self.impersonating
            .lock()
            .map_err(|_| Error::Reconcile("client cache poisoned".into()))?
            .insert(key, client.clone());
        Ok(client)
    }

    /// The kubeconfig in a Secret (key `value`, else `value.yaml`, unless one is named) and
    /// the Secret's resourceVersion, so a changed Secret makes a new client.
    async fn kubeconfig_of(
        &self,
        namespace: &str,
        reference: &helmrelease_crds::meta::SecretKeyReference,
    ) -> Result<(String, String), Error> {
        let api: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.client.clone(), namespace);
        let secret = api
            .get_opt(&reference.name)
            .await
            .map_err(|e| {
                Error::Kube(format!(
                    "reading Secret '{namespace}/{}': {e}",
                    reference.name
                ))
            })?
            .ok_or_else(|| {
                Error::Reconcile(format!(
                    "spec.kubeConfig: Secret '{namespace}/{}' not found",
                    reference.name
                ))
            })?;
        let data = secret.data.unwrap_or_default();
        let keys: Vec<String> = match &reference.key {
            Some(k) => vec![k.clone()],
            None => vec!["value".into(), "value.yaml".into()],
        };
        let found = keys.iter().find_map(|k| data.get(k)).ok_or_else(|| {
            Error::Reconcile(format!(
                "spec.kubeConfig: Secret '{namespace}/{}' has no key {}",
                reference.name,
                keys.join(" or ")
            ))
        })?;
        let text = String::from_utf8(found.0.clone()).map_err(|_| {
            Error::Reconcile(format!(
                "spec.kubeConfig: Secret '{namespace}/{}' holds no text",
                reference.name
            ))
        })?;
        Ok((text, secret.metadata.resource_version.unwrap_or_default()))
    }
}

/// When to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// After this long.
    After(Duration),
    /// Only when the object changes (suspended, stalled, terminal).
    OnChange,
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A HelmRelease being reconciled: the object, its conditions, and what was last written.
struct Run {
    hr: HelmRelease,
    conditions: Conditions,
    written: Option<HelmReleaseStatus>,
    api: Api<HelmRelease>,
    field_manager: String,
}

impl Run {
    fn status(&mut self) -> &mut HelmReleaseStatus {
        self.hr.status.get_or_insert_with(Default::default)
    }

    /// Writes the status fields that changed since the last write.
    async fn patch(&mut self) -> Result<(), Error> {
        let list = self.conditions.list.clone();
        self.status().conditions = (!list.is_empty()).then_some(list);
        if self.hr.status == self.written {
            return Ok(());
        }
        let patch = status_patch(&self.written, &self.hr.status);
        let params = PatchParams::apply(&self.field_manager);
        let params = PatchParams {
            field_manager: params.field_manager,
            ..PatchParams::default()
        };
        self.api
            .patch_status(&self.hr.name_any(), &params, &Patch::Merge(&patch))
            .await
            .map_err(|e| Error::Kube(format!("patching status: {e}")))?;
        self.written = self.hr.status.clone();
        Ok(())
    }

    fn mark_ready_false(&mut self, reason: &str, message: &str) {
        self.conditions
            .mark_false(conditions::READY, reason, message);
    }
}

/// Reconciles one HelmRelease and says when to come back.
pub async fn reconcile(obj: Arc<HelmRelease>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<HelmRelease> = Api::namespaced(ctx.client.clone(), &namespace);
    // Read afresh: the watch cache can lag behind the status this controller just wrote, and
    // acting on an older history would misjudge the release as unmanaged.
    let Some(hr) = api
        .get_opt(&obj.name_any())
        .await
        .map_err(|e| Error::Kube(format!("reading HelmRelease: {e}")))?
    else {
        return Ok(Requeue::OnChange);
    };
    let generation = hr.metadata.generation.unwrap_or(0);
    let conditions = Conditions::new(
        hr.status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default(),
        generation,
        now(),
    );
    let mut run = Run {
        written: hr.status.clone(),
        hr,
        conditions,
        api: api.clone(),
        field_manager: ctx.settings.field_manager.clone(),
    };

    if run.hr.metadata.deletion_timestamp.is_some() {
        return finalize(&mut run, &ctx).await;
    }
    if !run.hr.finalizers().iter().any(|f| f == FINALIZER) {
        // Unlike helm-controller, carry on in this reconcile: a requeue only to see the
        // finalizer again costs a queue round trip and two requests per HelmRelease.
        set_finalizer(&api, &run.hr, true).await?;
    }
    if run.hr.spec.suspend == Some(true) {
        tracing::info!(helmrelease = %obj.name_any(), "reconciliation is suspended for this object");
        return Ok(Requeue::OnChange);
    }

    let outcome = reconcile_release(&mut run, &ctx).await;
    // observedGeneration moves only on success or a terminal stop, as in Flux.
    let status = run.status();
    match &outcome {
        Ok(Requeue::OnChange) | Ok(Requeue::After(_)) => {
            status.observed_generation = Some(generation);
        }
        Err(_) => {}
    }
    if let Some(requested) = annotation(&run.hr, REQUESTED_AT) {
        run.status().last_handled_reconcile_at = Some(requested);
    }
    run.patch().await?;
    outcome
}

async fn check_dependencies(
    run: &mut Run,
    ctx: &Context,
) -> Result<crate::dependency::Verdict, Error> {
    use crate::dependency::{Verdict, judge};
    let this = serde_json::to_value(&run.hr).unwrap_or_default();
    for dep in run.hr.spec.depends_on.clone().unwrap_or_default() {
        let ns = dep
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| run.hr.namespace().unwrap_or_default());
        // Read afresh, not from a cache, as helm-controller does.
        let api: Api<HelmRelease> = Api::namespaced(ctx.client.clone(), &ns);
        let found = api
            .get_opt(&dep.name)
            .await
            .map_err(|e| Error::Kube(format!("unable to get '{ns}/{}' dependency: {e}", dep.name)))?
            .and_then(|d| serde_json::to_value(d).ok());
        let verdict = judge(
            &this,
            &ns,
            &dep.name,
            dep.ready_expr.as_deref(),
            found.as_ref(),
            ctx.settings.additive_cel_dependency_check,
        );
        if verdict != Verdict::Ready {
            return Ok(verdict);
        }
    }
    Ok(Verdict::Ready)
}

async fn reconcile_release(run: &mut Run, ctx: &Context) -> Result<Requeue, Error> {
    run.conditions
        .mark_reconciling("Progressing", "Fulfilling prerequisites");
    run.patch().await?;

    match crate::helmchart::reconcile(ctx, &run.hr).await {
        Ok(chart) => run.status().helm_chart = chart,
        Err(e) => {
            ctx.events
                .warning(&run.hr, "HelmChartSyncErr", &e.to_string(), Meta::default())
                .await;
            return Err(e);
        }
    }

    match check_dependencies(run, ctx).await? {
        crate::dependency::Verdict::Ready => {}
        crate::dependency::Verdict::NotReady(message) => {
            run.mark_ready_false("DependencyNotReady", &message);
            // helm-controller records this one as a Normal event: waiting is not a failure.
            ctx.events
                .normal(&run.hr, "DependencyNotReady", &message, Meta::default())
                .await;
            return Ok(Requeue::After(ctx.settings.requeue_dependency));
        }
        crate::dependency::Verdict::Invalid(message) => {
            let text =
                format!("Reconciliation failed terminally due to configuration error: {message}");
            run.mark_ready_false("InvalidCELExpression", &text);
            run.conditions.mark_stalled("InvalidCELExpression", &text);
            ctx.events
                .warning(&run.hr, "InvalidCELExpression", &message, Meta::default())
                .await;
            return Ok(Requeue::OnChange);
        }
    }

    let loaded = match compose::load(ctx, &run.hr).await {
        Ok(l) => l,
        Err(failure) => {
            run.mark_ready_false(failure.reason(), &failure.to_string());
            // As helm-controller: a source not ready yet is a condition, not an event.
            if !matches!(failure, compose::Failure::SourceNotReady(_)) {
                ctx.events
                    .warning(
                        &run.hr,
                        failure.reason(),
                        &failure.to_string(),
                        Meta::default(),
                    )
                    .await;
            }
            return match failure {
                compose::Failure::AccessDenied(m) => {
                    run.conditions.mark_stalled("AccessDenied", &m);
                    Ok(Requeue::OnChange)
                }
                compose::Failure::Values(_) => Err(Error::Reconcile(failure.to_string())),
                _ => Ok(Requeue::After(jittered(Duration::from_secs(30), ctx))),
            };
        }
    };

    // A new release name or namespace: uninstall what the old target holds, then start over.
    if let Some(requeue) = release_target_changed(run, ctx, &loaded.chart_name).await? {
        return Ok(requeue);
    }

    // Failures count against the inputs they happened with; new inputs or a reset start
    // the count again.
    let status = run.status();
    let inputs_changed = status.last_attempted_revision.as_deref()
        != Some(loaded.chart_version.as_str())
        || status.last_attempted_config_digest.as_deref() != Some(loaded.config_digest.as_str());
    let reset = reset_requested(&run.hr);
    if inputs_changed || reset {
        let status = run.status();
        status.failures = None;
        status.install_failures = None;
        status.upgrade_failures = None;
    }
    if reset && let Some(token) = annotation(&run.hr, RESET_AT) {
        run.status().last_handled_reset_at = Some(token);
    }
    let generation = run.hr.metadata.generation;
    let storage_ns = run.hr.helm_storage_namespace();
    let status = run.status();
    status.last_attempted_generation = generation;
    status.last_attempted_revision = Some(loaded.chart_version.clone());
    status.last_attempted_config_digest = Some(loaded.config_digest.clone());
    status.last_attempted_revision_digest = loaded.oci_digest.clone();
    status.storage_namespace = Some(storage_ns);

    let outcome = atomic_release(run, ctx, &loaded).await;
    if force_requested(&run.hr)
        && let Some(token) = annotation(&run.hr, FORCE_AT)
    {
        run.status().last_handled_force_at = Some(token);
    }
    match outcome {
        Ok(()) => Ok(Requeue::After(jittered(interval(&run.hr), ctx))),
        Err(Outcome::MustRequeue) => Ok(Requeue::After(Duration::from_secs(1))),
        Err(Outcome::RetryAfter(d)) => Ok(Requeue::After(d)),
        Err(Outcome::Terminal) => Ok(Requeue::OnChange),
        Err(Outcome::Error(e)) => Err(e),
    }
}

fn jittered(d: Duration, ctx: &Context) -> Duration {
    let pct = ctx.settings.interval_jitter_percentage.min(99) as f64 / 100.0;
    if pct == 0.0 {
        return d;
    }
    // A cheap spread without a random source: the clock's nanoseconds.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0) as f64
        / 1e9;
    d.mul_f64(1.0 - pct + 2.0 * pct * nanos)
}

/// The uninstall and reset when the release name, release namespace or storage namespace
/// changed since the last release.
async fn release_target_changed(
    run: &mut Run,
    ctx: &Context,
    chart_name: &str,
) -> Result<Option<Requeue>, Error> {
    let status = run.hr.status.clone().unwrap_or_default();
    let Some(cur) = status.history.as_deref().and_then(history::latest).cloned() else {
        return Ok(None);
    };
    let storage_ns = status
        .storage_namespace
        .clone()
        .unwrap_or_else(|| run.hr.helm_storage_namespace());
    // A new chart name counts too under `upgrade.chartNameChangeStrategy: Reinstall`.
    let reinstall_on_rename = run
        .hr
        .spec
        .upgrade
        .as_ref()
        .and_then(|u| u.chart_name_change_strategy)
        == Some(helmrelease_crds::helmrelease::ChartNameChangeStrategy::Reinstall);
    if cur.name == run.hr.helm_release_name()
        && cur.namespace == run.hr.helm_release_namespace()
        && storage_ns == run.hr.helm_storage_namespace()
        && !(reinstall_on_rename && cur.chart_name != chart_name)
    {
        return Ok(None);
    }
    let client = ctx.release_client(&run.hr).await?;
    let actions = Actions::with_storage(
        client,
        &cur.namespace,
        &storage_ns,
        &ctx.settings.field_manager,
    )
    .with_kinds(ctx.kinds_for(&run.hr));
    let options = action_options(&run.hr, Action::UninstallRemediation, &ctx.settings.holder);
    match actions
        .uninstall(&cur.name, false, &options, &ctx.cancel)
        .await
    {
        Ok(()) | Err(helmrelease_action::Error::NotFound(_)) => {}
        Err(e) => {
            let message = format!("Failed to uninstall release from old target: {e}");
            run.mark_ready_false("UninstallFailed", &message);
            return Err(Error::Reconcile(message));
        }
    }
    let storage_ns = run.hr.helm_storage_namespace();
    let status = run.status();
    status.history = None;
    status.failures = None;
    status.install_failures = None;
    status.upgrade_failures = None;
    status.storage_namespace = Some(storage_ns);
    Ok(Some(Requeue::After(Duration::ZERO)))
}

/// Why the atomic release loop ended without converging.
enum Outcome {
    MustRequeue,
    RetryAfter(Duration),
    Terminal,
    Error(Error),
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Self {
        Outcome::Error(e)
    }
}

/// The releases of `name` in storage, oldest first.
async fn stored(
    client: &Client,
    storage_ns: &str,
    name: &str,
) -> Result<Vec<StoredRelease>, Error> {
    helmrelease_action::storage::SecretStorage::new(client.clone(), storage_ns)
        .history(name)
        .await
        .map_err(|e| Error::Reconcile(format!("failed to retrieve last release from storage: {e}")))
}

fn observed_of(release: &Release, oci: Option<&str>) -> Observed {
    let meta = release.metadata();
    Observed {
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        version: release.version,
        status: release.status(),
        digest: observe::release_digest(release, oci),
        chart_name: meta.and_then(|m| m.name.clone()).unwrap_or_default(),
        chart_version: meta.and_then(|m| m.version.clone()).unwrap_or_default(),
    }
}

/// Records snapshots of the revisions an action wrote (those newer than `before`, and the
/// one it superseded); returns whether it wrote any.
fn record_written(
    run: &mut Run,
    before: &[StoredRelease],
    after: &[StoredRelease],
    oci: Option<&str>,
    action: Action,
) -> bool {
    let changed: Vec<&StoredRelease> = after
        .iter()
        .filter(|a| {
            !before
                .iter()
                .any(|b| b.release.version == a.release.version && b.release == a.release)
        })
        .collect();
    if changed.is_empty() {
        return false;
    }
    // A test only adds its results to the current snapshot (see `actions::conclude`).
    if action == Action::Test {
        return true;
    }
    let status = run.status();
    let snapshots = status.history.get_or_insert_with(Vec::new);
    let newest = changed.iter().map(|c| c.release.version).max().unwrap_or(0);
    for c in &changed {
        let known = snapshots.iter().any(|s| {
            s.name == c.release.name
                && s.namespace == c.release.namespace
                && s.version == c.release.version
        });
        // Older revisions are only refreshed if we already track them, as Flux does.
        if c.release.version == newest || known {
            let mut snapshot = observe::snapshot(&c.release, oci);
            // helm-controller v1.6 names the action on the revision it wrote.
            if c.release.version == newest && !known {
                snapshot.action = snapshot_action(action).map(str::to_string);
            }
            history::record(snapshots, snapshot);
        }
    }
    true
}

/// With retries left, marks the object as progressing with retry (Ready's message) and says
/// the reconcile must come back, as helm-controller's loop does when it stops early.
fn retry_later(run: &mut Run) -> bool {
    let exhausted = state::active_remediation(&run.hr).is_some_and(|r| r.retries_exhausted());
    if exhausted {
        return false;
    }
    let message = run.conditions.message(conditions::READY);
    run.conditions
        .mark_reconciling("ProgressingWithRetry", &message);
    true
}

/// The inventory of a stored release (its manifest and its chart's CRDs), with scopes from
/// discovery.
async fn inventory_of(
    ctx: &Context,
    hr: &HelmRelease,
    client: &Client,
    release: &Release,
) -> Result<helmrelease_crds::helmrelease::ResourceInventory, Outcome> {
    let mut objects = helmrelease_action::actions::resources(&release.manifest)
        .map_err(|e| Outcome::Error(Error::Reconcile(e.to_string())))?;
    objects.extend(observe::crd_objects(release));
    let applier =
        helmrelease_action::apply::Applier::new(client.clone(), &ctx.settings.field_manager)
            .with_kinds(ctx.kinds_for(hr));
    let scopes = crate::drift::cluster_scoped_kinds(&applier, &objects, &release.namespace).await;
    let scoped = |api_version: &str, kind: &str| {
        scopes
            .get(&(api_version.to_string(), kind.to_string()))
            .copied()
            .unwrap_or(false)
    };
    Ok(observe::inventory(release, &objects, &scoped))
}

/// The `action` helm-controller records on the snapshot of a revision an action wrote.
fn snapshot_action(action: Action) -> Option<&'static str> {
    match action {
        Action::Install => Some("install"),
        Action::Upgrade => Some("upgrade"),
        Action::RollbackRemediation => Some("rollback"),
        Action::UninstallRemediation => Some("uninstall-remediation"),
        Action::Test | Action::Unlock | Action::CorrectDrift => None,
    }
}

async fn atomic_release(run: &mut Run, ctx: &Context, loaded: &Loaded) -> Result<(), Outcome> {
    let name = run.hr.helm_release_name();
    let storage_ns = run.hr.helm_storage_namespace();
    let oci = loaded.oci_digest.clone();
    let mut done: Vec<Kind> = Vec::new();
    let test = run.hr.spec.test.clone().unwrap_or_default();
    let (tests_on, ignore_tests) = (
        test.enable == Some(true),
        test.ignore_failures == Some(true),
    );
    let client = ctx.release_client(&run.hr).await?;
    loop {
        let releases = match stored(&client, &storage_ns, &name).await {
            Ok(r) => r,
            Err(e) => {
                run.mark_ready_false(
                    "StateError",
                    &format!("Could not determine release state: {e}"),
                );
                return Err(Outcome::Error(e));
            }
        };
        let latest = releases
            .last()
            .map(|r| observed_of(&r.release, oci.as_deref()));
        let mut wanted = Wanted {
            chart_name: loaded.chart_name.clone(),
            chart_version: loaded.chart_version.clone(),
            config_digest: loaded.config_digest.clone(),
            post_render_changed: false,
        };
        // As helm-controller: only for a generation Ready has not seen yet (the observed
        // digests move at the end of a successful reconcile, so comparing before would
        // never settle).
        let status = run.hr.status.clone().unwrap_or_default();
        let ready_generation = run
            .conditions
            .get(conditions::READY)
            .map(|c| c.observed_generation);
        if ready_generation.is_some_and(|g| g != run.hr.metadata.generation) {
            wanted.post_render_changed = status.observed_post_renderers_digest
                != loaded.post_renderers_digest
                || status.observed_common_metadata_digest != loaded.common_metadata_digest;
        }
        let mut state = match state::determine(&run.hr, latest.as_ref(), &wanted) {
            Ok(s) => s,
            Err(e) => {
                run.mark_ready_false(
                    "StateError",
                    &format!("Could not determine release state: {e}"),
                );
                return Err(Outcome::Error(Error::Reconcile(format!(
                    "cannot determine release state: {e}"
                ))));
            }
        };
        let mut drift = None;
        if state == state::State::InSync && state::must_detect_drift(&run.hr) {
            if let Some(deployed) = releases.last() {
                let found = crate::drift::detect(ctx, &run.hr, &deployed.release).await;
                match found {
                    Ok(d) if !d.is_empty() => {
                        state = state::State::Drifted;
                        drift = Some(d);
                    }
                    Ok(_) => {
                        run.conditions.mark_false(
                            conditions::DRIFTED,
                            "NoDriftDetected",
                            "No drift detected against the cluster state",
                        );
                    }
                    Err(e) => return Err(Outcome::Error(e)),
                }
            }
        } else if !state::must_detect_drift(&run.hr) {
            run.conditions.delete(conditions::DRIFTED);
        }
        if let Some(d) = &drift {
            let cur = run
                .hr
                .status
                .as_ref()
                .and_then(|s| s.history.as_deref())
                .and_then(history::latest)
                .map(history::full_release_name)
                .unwrap_or_default();
            let message = format!(
                "Cluster state of release {cur} has drifted from the desired state:\n{}",
                crate::drift::summary(d)
            );
            run.conditions.mark_true(
                conditions::DRIFTED,
                "DriftDetected",
                &crate::drift::brief(d),
            );
            ctx.events
                .warning(&run.hr, "DriftDetected", &message, Meta::default())
                .await;
        }
        let force = force_requested(&run.hr);
        let by_storage = |snap: &Snapshot| -> Target {
            match releases.iter().find(|r| r.release.version == snap.version) {
                None => Target::Missing,
                Some(r)
                    if observe::release_digest(&r.release, snap.oci_digest.as_deref())
                        == snap.digest =>
                {
                    Target::Ok
                }
                Some(_) => Target::Corrupt,
            }
        };
        let next =
            match state::next_action(&mut run.hr, &mut run.conditions, &state, force, by_storage) {
                Ok(n) => n,
                Err(Stop::RetriesExceeded(_)) => {
                    let message = state::retries_exceeded_message(&run.hr);
                    run.conditions.mark_stalled("RetriesExceeded", &message);
                    return Err(Outcome::Terminal);
                }
                Err(Stop::MissingRollbackTarget(m)) => {
                    run.conditions.mark_stalled(
                        "MissingRollbackTarget",
                        &format!("Failed to perform remediation: {m}"),
                    );
                    return Err(Outcome::Terminal);
                }
                Err(Stop::Error(m)) => return Err(Outcome::Error(Error::Reconcile(m))),
            };
        let Some(action) = next else {
            run.conditions.delete(conditions::RECONCILING);
            run.conditions.summarize(tests_on, ignore_tests);
            // Once Ready, what was rendered with is what is observed.
            if run.conditions.is_true(conditions::READY) {
                let status = run.status();
                status.observed_post_renderers_digest = loaded.post_renderers_digest.clone();
                status.observed_common_metadata_digest = loaded.common_metadata_digest.clone();
            }
            return Ok(());
        };
        if done.contains(&action.kind()) {
            if retry_later(run) {
                return Err(Outcome::MustRequeue);
            }
            run.conditions.delete(conditions::RECONCILING);
            return Ok(());
        }
        let message = format!(
            "Running '{}' action with timeout of {}",
            action.name(),
            go_duration(timeout_for(&run.hr, action))
        );
        run.conditions.mark_reconciling("Progressing", &message);
        if action.kind() == Kind::Release {
            run.conditions
                .mark_unknown(conditions::READY, "Progressing", &message);
        }
        run.patch().await?;
        tracing::info!(helmrelease = %run.hr.name_any(), "running '{}' action with timeout of {}", action.name(), go_duration(timeout_for(&run.hr, action)));

        let started = Instant::now();
        let result = crate::actions::run(
            ctx,
            run_parts(run),
            action,
            loaded,
            &releases,
            drift.as_ref(),
        )
        .await;
        let after = stored(&client, &storage_ns, &name).await?;
        let wrote = record_written(run, &releases, &after, oci.as_deref(), action);
        // As helm-controller: the inventory is what the release an action stored holds.
        if wrote
            && matches!(
                action,
                Action::Install | Action::Upgrade | Action::RollbackRemediation
            )
            && let Some(newest) = after.last()
        {
            let inventory = inventory_of(ctx, &run.hr, &client, &newest.release).await?;
            run.status().inventory = Some(inventory);
        }
        if matches!(action, Action::Install | Action::Upgrade) {
            run.status().last_attempted_release_action_duration =
                Some(go_duration(started.elapsed()));
        }
        let outcome =
            crate::actions::conclude(run_parts(run), ctx, action, loaded, result, wrote, &after)
                .await;
        run.conditions.summarize(tests_on, ignore_tests);
        if let Err(e) = outcome {
            if run.conditions.is_true(conditions::READY) {
                run.mark_ready_false("ReconcileError", &e.to_string());
            }
            return Err(Outcome::Error(e));
        }
        ctx.metrics.action(action.name());
        if action.kind() == Kind::Remediate {
            if retry_later(run) {
                return Err(Outcome::MustRequeue);
            }
            let message = state::retries_exceeded_message(&run.hr);
            run.conditions.mark_stalled("RetriesExceeded", &message);
            return Err(Outcome::Terminal);
        }
        // RetryOnFailure: a failed release action comes back after retryInterval.
        if action.kind() == Kind::Release
            && wrote
            && after.last().map(|r| r.release.status()) == Some(Status::Failed)
            && let Some(retry) = crate::actions::retry_interval(&run.hr, action)
        {
            if let Some(h) = run.status().history.as_mut() {
                history::truncate_ignoring_previous(h);
            }
            run.conditions.delete(conditions::RECONCILING);
            return Err(Outcome::RetryAfter(retry));
        }
        done.push(action.kind());
        run.patch().await?;
    }
}

/// What the action runner needs of a run.
#[derive(Debug)]
pub struct Parts<'a> {
    /// The object.
    pub hr: &'a mut HelmRelease,
    /// Its conditions.
    pub conditions: &'a mut Conditions,
}

fn run_parts(run: &mut Run) -> Parts<'_> {
    Parts {
        hr: &mut run.hr,
        conditions: &mut run.conditions,
    }
}

/// Deletion: uninstall (unless suspended), drop the generated HelmChart, free the object.
async fn finalize(run: &mut Run, ctx: &Context) -> Result<Requeue, Error> {
    if !run.hr.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Requeue::OnChange);
    }
    if run.hr.spec.suspend != Some(true) {
        let status = run.hr.status.clone().unwrap_or_default();
        let storage_ns = status
            .storage_namespace
            .clone()
            .unwrap_or_else(|| run.hr.helm_storage_namespace());
        let latest = status.history.as_deref().and_then(history::latest);
        let name = latest
            .map(|s| s.name.clone())
            .unwrap_or_else(|| run.hr.helm_release_name());
        let release_ns = latest
            .map(|s| s.namespace.clone())
            .unwrap_or_else(|| run.hr.helm_release_namespace());
        // As Flux: without the service account to act as, the uninstall is skipped, not
        // attempted with the controller's own rights.
        if let Some(account) = ctx.service_account(&run.hr)
            && !service_account_exists(ctx, &run.hr, &account).await?
        {
            tracing::info!(helmrelease = %run.hr.name_any(), "service account {account} not found: skipping uninstall");
            return remove_finalizer(run).await;
        }
        let client = ctx.release_client(&run.hr).await?;
        let actions = Actions::with_storage(
            client.clone(),
            &release_ns,
            &storage_ns,
            &ctx.settings.field_manager,
        )
        .with_kinds(ctx.kinds_for(&run.hr));
        let options = action_options(&run.hr, Action::UninstallRemediation, &ctx.settings.holder);
        let keep = run.hr.spec.uninstall.as_ref().and_then(|u| u.keep_history) == Some(true);
        let releases = stored(&client, &storage_ns, &name).await?;
        let installed = releases
            .last()
            .is_some_and(|r| r.release.status() != Status::Uninstalled);
        if installed {
            match actions.uninstall(&name, keep, &options, &ctx.cancel).await {
                Ok(()) | Err(helmrelease_action::Error::NotFound(_)) => {}
                Err(e) => {
                    let message =
                        format!("Helm uninstall failed for release {storage_ns}/{name}: {e}");
                    run.mark_ready_false("UninstallFailed", &message);
                    run.patch().await.ok();
                    return Err(Error::Reconcile(message));
                }
            }
        }
        if let Some(chart) = run.hr.status.as_ref().and_then(|s| s.helm_chart.clone()) {
            crate::helmchart::delete(ctx, &chart).await?;
        }
    }
    remove_finalizer(run).await
}

async fn service_account_exists(
    ctx: &Context,
    hr: &HelmRelease,
    account: &str,
) -> Result<bool, Error> {
    let api: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(ctx.client.clone(), &hr.namespace().unwrap_or_default());
    api.get_opt(account)
        .await
        .map(|sa| sa.is_some())
        .map_err(|e| Error::Kube(format!("reading service account {account}: {e}")))
}

async fn remove_finalizer(run: &mut Run) -> Result<Requeue, Error> {
    set_finalizer(&run.api, &run.hr, false).await?;
    Ok(Requeue::OnChange)
}

/// Adds Flux's finalizer, as of the object's resourceVersion (a concurrent change makes this
/// fail and the reconcile retry, rather than lose another's finalizer), or removes it.
pub async fn set_finalizer<K>(api: &Api<K>, object: &K, present: bool) -> Result<(), Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut finalizers: Vec<String> = object
        .meta()
        .finalizers
        .iter()
        .flatten()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(FINALIZER.to_string());
    }
    let mut patch = json!({"metadata": {"finalizers": finalizers}});
    if present {
        patch["metadata"]["resourceVersion"] = json!(object.meta().resource_version);
    }
    let verb = if present { "adding" } else { "removing" };
    match api
        .patch(
            &object.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Already gone: nothing holds it any more.
        Err(kube::Error::Api(s)) if s.code == 404 && !present => Ok(()),
        Err(e) => Err(Error::Kube(format!("{verb} finalizer: {e}"))),
    }
}
