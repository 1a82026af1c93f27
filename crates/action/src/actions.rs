//! Install, upgrade, rollback, uninstall, test and unlock, in Helm 4's order of steps: the
//! release is stored `pending-*` (with our lock record) before anything is applied, hooks run
//! by weight around the apply, and the final status is written last, so a crash leaves a state
//! the next run can unlock.

use crate::apply::{self, Applier};
use crate::storage::{Lock, SecretStorage};
use crate::wait::{self, Cancel, Jobs};
use crate::{Error, Result};
use helmrelease_release::model::{Chart, Hook, HookExecution, Info, Object};
use helmrelease_release::{Release, Status, StoredRelease};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// What to release: a rendered chart.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// The chart, stored whole in every revision as Helm stores it.
    pub chart: Chart,
    /// The user-supplied values.
    pub config: Object,
    /// Resources in install order, as Helm's release manifest (`---\n# Source: ...`).
    pub manifest: String,
    /// The hooks.
    pub hooks: Vec<Hook>,
    /// CRDs from the chart's `crds/` folders: file name and text.
    pub crds: Vec<(String, String)>,
    /// NOTES.txt rendered.
    pub notes: String,
}

/// What to do with the chart's CRDs (Flux's `install.crds` / `upgrade.crds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrdPolicy {
    /// Leave them alone.
    Skip,
    /// Create those that are missing; never update.
    #[default]
    Create,
    /// Create missing ones and update existing ones.
    CreateReplace,
}

/// How objects are applied: Helm 4's `--server-side` (`true`, `false`, `auto`), Flux's
/// `install.serverSideApply` and `upgrade`/`rollback.serverSideApply`. The release records the
/// method used as its `apply_method` (`ssa` or `csa`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplyMethod {
    /// Server-side apply for an install; for an upgrade the method of the deployed revision,
    /// for a rollback that of the revision rolled back to (client-side when it records none,
    /// as a Helm 3 release does).
    #[default]
    Auto,
    /// Server-side apply with forced conflicts.
    ServerSide,
    /// Client-side apply: create, or a three-way patch (see [`crate::csa`]).
    ClientSide,
}

impl ApplyMethod {
    /// Whether to apply server-side, given the `apply_method` of the revision `Auto` follows
    /// (`None` for an install).
    pub fn server_side(self, previous: Option<&str>) -> bool {
        match self {
            ApplyMethod::ServerSide => true,
            ApplyMethod::ClientSide => false,
            ApplyMethod::Auto => previous.is_none_or(|m| m == SSA),
        }
    }
}

const SSA: &str = "ssa";
const CSA: &str = "csa";

fn method_name(server_side: bool) -> &'static str {
    if server_side { SSA } else { CSA }
}

/// How to run an action.
#[derive(Debug, Clone)]
pub struct Options {
    /// Wait for the resources to be ready.
    pub wait: bool,
    /// Wait for Jobs to complete too.
    pub wait_for_jobs: bool,
    /// How long waits and hooks may take.
    pub timeout: Duration,
    /// Run no hooks.
    pub disable_hooks: bool,
    /// Revisions kept (0: all).
    pub max_history: usize,
    /// CRD policy.
    pub crds: CrdPolicy,
    /// Create the release namespace when missing.
    pub create_namespace: bool,
    /// Who we are, for the lock record.
    pub lock_holder: String,
    /// On a failed upgrade, delete what it created.
    pub cleanup_on_fail: bool,
    /// Server-side or client-side apply.
    pub apply_method: ApplyMethod,
    /// How an uninstall deletes the release's objects (Helm's `--cascade`, Flux's
    /// `uninstall.deletionPropagation`): background by default.
    pub deletion_propagation: kube::api::PropagationPolicy,
    /// Which test hooks a test runs (Helm's `--filter name=...`/`!name=...`, Flux's
    /// `test.filters`).
    pub test_filter: TestFilter,
}

/// Test hooks to run by name: only `include` when it names any, never `exclude`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestFilter {
    /// Run only these (all when empty).
    pub include: Vec<String>,
    /// Never run these.
    pub exclude: Vec<String>,
}

impl TestFilter {
    /// Whether the test hook `name` runs.
    pub fn runs(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|n| n == name))
            && !self.exclude.iter().any(|n| n == name)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wait: true,
            wait_for_jobs: false,
            timeout: Duration::from_secs(300),
            disable_hooks: false,
            max_history: 10,
            crds: CrdPolicy::Create,
            create_namespace: false,
            lock_holder: "helmrelease".into(),
            cleanup_on_fail: false,
            deletion_propagation: kube::api::PropagationPolicy::Background,
            test_filter: TestFilter::default(),
            apply_method: ApplyMethod::Auto,
        }
    }
}

/// Runs Helm actions for releases of one namespace.
#[derive(Debug)]
pub struct Actions {
    applier: Applier,
    storage: SecretStorage,
    namespace: String,
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// The resources of a release manifest, in order.
pub fn resources(manifest: &str) -> Result<Vec<Value>> {
    Ok(helmrelease_manifest::parse(manifest, "manifest")
        .map_err(|e| Error::Invalid(e.to_string()))?
        .into_iter()
        .map(|d| d.value)
        .filter(|v| v.is_object())
        .collect())
}

/// The hooks of `event` in the order Helm runs them: by weight, then by name.
pub fn hooks_for(hooks: &[Hook], event: &str) -> Vec<usize> {
    let mut picked: Vec<usize> = (0..hooks.len())
        .filter(|&i| hooks[i].events.iter().any(|e| e == event))
        .collect();
    picked.sort_by(|&a, &b| {
        (hooks[a].weight, &hooks[a].name).cmp(&(hooks[b].weight, &hooks[b].name))
    });
    picked
}

/// Hooks as Helm 4 stores them before they run: an empty last run.
fn unrun(hooks: &[Hook]) -> Vec<Hook> {
    hooks
        .iter()
        .cloned()
        .map(|mut h| {
            h.last_run.get_or_insert_with(HookExecution::default);
            h
        })
        .collect()
}

/// The newest revision and the one deployed (the newest when none is); `None` for no history.
fn latest_and_current(history: &[StoredRelease]) -> Option<(&StoredRelease, &StoredRelease)> {
    let latest = history.last()?;
    let current = history
        .iter()
        .rev()
        .find(|r| r.release.status() == Status::Deployed)
        .unwrap_or(latest);
    Some((latest, current))
}

/// A hook's delete policies; none means `before-hook-creation`, as in Helm.
fn policies(hook: &Hook) -> Vec<&str> {
    if hook.delete_policies.is_empty() {
        vec!["before-hook-creation"]
    } else {
        hook.delete_policies.iter().map(String::as_str).collect()
    }
}

impl Actions {
    /// Actions on releases in `namespace`, stored there too, applying as `field_manager`.
    pub fn new(client: kube::Client, namespace: &str, field_manager: &str) -> Actions {
        Actions::with_storage(client, namespace, namespace, field_manager)
    }

    /// Actions for releases whose objects go to `namespace` while their records live in
    /// `storage_namespace` (Flux's `storageNamespace`, Helm's storage driver namespace).
    pub fn with_storage(
        client: kube::Client,
        namespace: &str,
        storage_namespace: &str,
        field_manager: &str,
    ) -> Actions {
        Actions {
            applier: Applier::new(client.clone(), field_manager),
            storage: SecretStorage::new(client, storage_namespace),
            namespace: namespace.to_string(),
        }
    }

    /// These actions resolving kinds through `kinds` (see [`crate::apply::Kinds`]).
    pub fn with_kinds(mut self, kinds: crate::apply::Kinds) -> Actions {
        self.applier = self.applier.with_kinds(kinds);
        self
    }

    /// The applier (for reads of live objects).
    pub fn applier(&self) -> &Applier {
        &self.applier
    }

    fn lock(&self, options: &Options) -> Lock {
        let until = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(
                options.timeout.as_secs().saturating_add(60) as i64,
            ))
            .unwrap_or_else(|_| jiff::Timestamp::now());
        Lock {
            holder: options.lock_holder.clone(),
            until,
        }
    }

    /// A new revision of `desired`, stored pending with Helm's description of the step; first
    /// deployed now unless an earlier revision says when (an install stamps both times alike).
    /// The caller records the apply method.
    fn pending(
        &self,
        name: &str,
        version: i64,
        desired: &Desired,
        first_deployed: Option<String>,
        status: Status,
        description: &str,
    ) -> Release {
        let at = now();
        Release {
            name: name.to_string(),
            namespace: self.namespace.clone(),
            version,
            info: Some(Info {
                first_deployed: first_deployed.or_else(|| Some(at.clone())),
                last_deployed: Some(at),
                status: status.as_str().into(),
                description: description.into(),
                notes: desired.notes.clone(),
                ..Info::default()
            }),
            chart: Some(desired.chart.clone()),
            // Go's `omitempty`: Helm leaves empty user values out.
            config: Some(desired.config.clone()).filter(|c| !c.is_empty()),
            manifest: desired.manifest.clone(),
            hooks: unrun(&desired.hooks),
            ..Release::default()
        }
    }

    async fn history(&self, name: &str) -> Result<Vec<StoredRelease>> {
        self.storage.history(name).await
    }

    /// Helm's `--create-namespace` (Flux's `install.createNamespace`): the release namespace,
    /// labelled `name: <namespace>` as Helm labels it, applied server-side without forcing
    /// conflicts (so an existing one gets the label too), or created client-side (an existing
    /// one is left alone).
    async fn ensure_namespace(&self, options: &Options, server_side: bool) -> Result<()> {
        if !options.create_namespace {
            return Ok(());
        }
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": {"name": self.namespace}}});
        if server_side {
            self.applier.apply_with(&ns, "", false).await?;
        } else {
            self.applier.create_if_absent(&ns, "").await?;
        }
        Ok(())
    }

    async fn install_crds(
        &self,
        desired: &Desired,
        policy: CrdPolicy,
        cancel: &Cancel,
    ) -> Result<()> {
        if policy == CrdPolicy::Skip {
            return Ok(());
        }
        let mut applied = Vec::new();
        for (file, text) in &desired.crds {
            for crd in resources(text).map_err(|e| Error::Invalid(format!("{file}: {e}")))? {
                let exists = self.applier.get(&crd, "").await?.is_some();
                if !exists || policy == CrdPolicy::CreateReplace {
                    self.applier.apply(&crd, "").await?;
                    applied.push(crd);
                }
            }
        }
        if !applied.is_empty() {
            wait::until_ready(
                &self.applier,
                &applied,
                "",
                Jobs::Skip,
                Duration::from_secs(60),
                cancel,
            )
            .await?;
        }
        Ok(())
    }

    /// Runs the hooks of `event`, recording their last runs in `release`.
    async fn run_hooks(
        &self,
        release: &mut Release,
        event: &str,
        options: &Options,
        cancel: &Cancel,
    ) -> Result<()> {
        if options.disable_hooks {
            return Ok(());
        }
        let mut order = hooks_for(&release.hooks, event);
        if event == "test" {
            order.retain(|&i| options.test_filter.runs(&release.hooks[i].name));
        }
        for &i in &order {
            // Helm records the default policy on the hooks it runs.
            if release.hooks[i].delete_policies.is_empty() {
                release.hooks[i].delete_policies = vec!["before-hook-creation".into()];
            }
            let hook = release.hooks[i].clone();
            let obj = resources(&hook.manifest)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Invalid(format!("hook {} has no object", hook.path)))?;
            if policies(&hook).contains(&"before-hook-creation") {
                self.applier.delete(&obj, &self.namespace).await?;
                wait::until_deleted(
                    &self.applier,
                    std::slice::from_ref(&obj),
                    &self.namespace,
                    options.timeout,
                    cancel,
                )
                .await?;
            }
            release.hooks[i].last_run = Some(HookExecution {
                started_at: Some(now()),
                completed_at: None,
                phase: "Running".into(),
            });
            let created = if release.apply_method == SSA {
                self.applier.apply(&obj, &self.namespace).await
            } else {
                self.applier.create(&obj, &self.namespace).await
            };
            if let Err(e) = created {
                if let Some(run) = release.hooks[i].last_run.as_mut() {
                    run.phase = "Failed".into();
                    run.completed_at = Some(now());
                }
                return Err(Error::Failed(format!(
                    "warning: Hook {event} {} failed: {e}",
                    hook.path
                )));
            }
            let waited = wait::hook(
                &self.applier,
                &obj,
                &self.namespace,
                options.timeout,
                cancel,
            )
            .await;
            let phase = if waited.is_ok() {
                "Succeeded"
            } else {
                "Failed"
            };
            if let Some(run) = release.hooks[i].last_run.as_mut() {
                run.phase = phase.into();
                run.completed_at = Some(now());
            }
            if let Err(e) = waited {
                if policies(&hook).contains(&"hook-failed") {
                    self.applier.delete(&obj, &self.namespace).await?;
                }
                return Err(e);
            }
        }
        for &i in &order {
            let hook = &release.hooks[i];
            if policies(hook).contains(&"hook-succeeded")
                && let Some(obj) = resources(&hook.manifest)?.into_iter().next()
            {
                self.applier.delete(&obj, &self.namespace).await?;
            }
        }
        Ok(())
    }

    /// Applies the resources of `manifest` with Helm's ownership metadata, server-side or
    /// client-side (patching from the objects of `previous`, the manifest of the revision
    /// replaced); returns them as applied (namespaces filled in).
    async fn apply_all(
        &self,
        name: &str,
        manifest: &str,
        server_side: bool,
        previous: &str,
    ) -> Result<Vec<Value>> {
        let mut originals = Vec::new();
        if !server_side {
            for obj in resources(previous)? {
                originals.push(self.applier.normalize(&obj, &self.namespace).await?);
            }
        }
        let mut applied = Vec::new();
        for mut obj in resources(manifest)? {
            apply::set_ownership(&mut obj, name, &self.namespace);
            let obj = self.applier.normalize(&obj, &self.namespace).await?;
            if server_side {
                self.applier.apply(&obj, &self.namespace).await?;
            } else {
                let id = apply::identity(&obj);
                let original = originals.iter().find(|o| apply::identity(o) == id);
                self.applier
                    .apply_client_side(&obj, original, &self.namespace)
                    .await?;
            }
            applied.push(obj);
        }
        Ok(applied)
    }

    /// Deletes what `old` has and `new` lacks, except what asks to be kept; last first.
    async fn prune(&self, old: &str, new: &[Value]) -> Result<()> {
        let keep: BTreeSet<_> = new.iter().map(apply::identity).collect();
        let mut stale = Vec::new();
        for obj in resources(old)? {
            let obj = self.applier.normalize(&obj, &self.namespace).await?;
            if !keep.contains(&apply::identity(&obj)) && !apply::keep(&obj) {
                stale.push(obj);
            }
        }
        for obj in stale.iter().rev() {
            self.applier.delete(obj, &self.namespace).await?;
        }
        Ok(())
    }

    async fn wait_resources(
        &self,
        objects: &[Value],
        options: &Options,
        cancel: &Cancel,
    ) -> Result<()> {
        if !options.wait {
            return Ok(());
        }
        let jobs = if options.wait_for_jobs {
            Jobs::Complete
        } else {
            Jobs::Skip
        };
        wait::until_ready(
            &self.applier,
            objects,
            &self.namespace,
            jobs,
            options.timeout,
            cancel,
        )
        .await
    }

    /// Stores `release` as failed with Helm's description, and returns the error.
    async fn fail(&self, mut release: Release, description: String, err: Error) -> Error {
        if let Some(info) = release.info.as_mut() {
            info.status = Status::Failed.as_str().into();
            info.description = description;
            info.last_deployed = Some(now());
        }
        match self.storage.update(&release, None).await {
            Ok(()) => err,
            Err(store) => Error::Failed(format!("{err}; and storing the failed release: {store}")),
        }
    }

    /// Installs `name` as revision 1 (or the revision after an uninstalled one kept in history).
    pub async fn install(
        &self,
        name: &str,
        desired: &Desired,
        options: &Options,
        cancel: &Cancel,
    ) -> Result<Release> {
        let history = self.history(name).await?;
        if let Some(latest) = history.last()
            && latest.release.status() != Status::Uninstalled
        {
            return Err(Error::Invalid(
                "cannot re-use a name that is still in use".into(),
            ));
        }
        let version = history.last().map_or(1, |r| r.release.version + 1);
        let server_side = options.apply_method.server_side(None);
        self.ensure_namespace(options, server_side).await?;
        self.install_crds(desired, options.crds, cancel).await?;
        let mut release = self.pending(
            name,
            version,
            desired,
            None,
            Status::PendingInstall,
            "Initial install underway",
        );
        release.apply_method = method_name(server_side).into();
        self.storage
            .create(&release, options.max_history, Some(&self.lock(options)))
            .await?;
        let outcome = async {
            self.run_hooks(&mut release, "pre-install", options, cancel)
                .await
                .map_err(|e| Error::Failed(format!("failed pre-install: {e}")))?;
            let applied = self
                .apply_all(name, &desired.manifest, server_side, "")
                .await?;
            self.wait_resources(&applied, options, cancel).await?;
            self.run_hooks(&mut release, "post-install", options, cancel)
                .await
                .map_err(|e| Error::Failed(format!("failed post-install: {e}")))
        }
        .await;
        if let Err(e) = outcome {
            let description = format!("Release {name:?} failed: {e}");
            return Err(self.fail(release, description, e).await);
        }
        if let Some(info) = release.info.as_mut() {
            info.status = Status::Deployed.as_str().into();
            info.description = "Install complete".into();
        }
        self.storage.update(&release, None).await?;
        Ok(release)
    }

    /// Upgrades `name` to `desired` as the next revision; the deployed one becomes superseded.
    pub async fn upgrade(
        &self,
        name: &str,
        desired: &Desired,
        options: &Options,
        cancel: &Cancel,
    ) -> Result<Release> {
        let history = self.history(name).await?;
        let (latest, current) = latest_and_current(&history)
            .ok_or_else(|| Error::NotFound(format!("{name:?} has no deployed releases")))?;
        if latest.release.status().is_pending() {
            return Err(Error::Pending);
        }
        // Helm carries the deployed revision's own labels over to the new one.
        let labels = current.custom_labels();
        let current = current.release.clone();
        let server_side = options
            .apply_method
            .server_side(Some(&current.apply_method));
        self.install_crds(desired, options.crds, cancel).await?;
        let first = current
            .info
            .as_ref()
            .and_then(|i| i.first_deployed.clone())
            .unwrap_or_else(now);
        let mut release = self.pending(
            name,
            latest.release.version + 1,
            desired,
            Some(first),
            Status::PendingUpgrade,
            "Preparing upgrade",
        );
        release.apply_method = method_name(server_side).into();
        self.storage
            .create_with_labels(
                &release,
                &labels,
                options.max_history,
                Some(&self.lock(options)),
            )
            .await?;
        self.roll_to(name, &mut release, &current, "upgrade", options, cancel)
            .await?;
        Ok(release)
    }

    /// Applies `release` over `current` (upgrade or rollback), then stores the outcome.
    async fn roll_to(
        &self,
        name: &str,
        release: &mut Release,
        current: &Release,
        action: &str,
        options: &Options,
        cancel: &Cancel,
    ) -> Result<()> {
        let outcome = async {
            self.run_hooks(release, &format!("pre-{action}"), options, cancel)
                .await
                .map_err(|e| Error::Failed(format!("pre-{action} hooks failed: {e}")))?;
            let applied = self
                .apply_all(
                    name,
                    &release.manifest,
                    release.apply_method == SSA,
                    &current.manifest,
                )
                .await?;
            self.prune(&current.manifest, &applied).await?;
            self.wait_resources(&applied, options, cancel).await?;
            self.run_hooks(release, &format!("post-{action}"), options, cancel)
                .await
                .map_err(|e| Error::Failed(format!("post-{action} hooks failed: {e}")))
        }
        .await;
        if let Err(e) = outcome {
            let verb = if action == "upgrade" {
                "Upgrade"
            } else {
                "Rollback"
            };
            let description = format!("{verb} {name:?} failed: {e}");
            return Err(self.fail(release.clone(), description, e).await);
        }
        let mut superseded = current.clone();
        if let Some(info) = superseded.info.as_mut() {
            info.status = Status::Superseded.as_str().into();
        }
        if superseded.version != release.version {
            self.storage.update(&superseded, None).await?;
        }
        if let Some(info) = release.info.as_mut() {
            info.status = Status::Deployed.as_str().into();
            if action == "upgrade" {
                info.description = "Upgrade complete".into();
            }
        }
        self.storage.update(release, None).await
    }

    /// Rolls `name` back to revision `to` (the one before the deployed one when `None`).
    pub async fn rollback(
        &self,
        name: &str,
        to: Option<i64>,
        options: &Options,
        cancel: &Cancel,
    ) -> Result<Release> {
        let history = self.history(name).await?;
        let (latest, current) = latest_and_current(&history)
            .ok_or_else(|| Error::NotFound(format!("release: not found: {name}")))?;
        let current = current.release.clone();
        if latest.release.status().is_pending() {
            return Err(Error::Pending);
        }
        let target_version = to.unwrap_or(current.version - 1);
        let target = history
            .iter()
            .find(|r| r.release.version == target_version)
            .ok_or_else(|| Error::NotFound(format!("release has no {target_version} version")))?;
        // A rollback takes the target revision's labels, as Helm's does.
        let labels = target.custom_labels();
        let target = target.release.clone();
        let mut release = target.clone();
        release.version = latest.release.version + 1;
        release.info = Some(Info {
            first_deployed: current.info.as_ref().and_then(|i| i.first_deployed.clone()),
            last_deployed: Some(now()),
            status: Status::PendingRollback.as_str().into(),
            description: format!("Rollback to {target_version}"),
            notes: target
                .info
                .as_ref()
                .map(|i| i.notes.clone())
                .unwrap_or_default(),
            ..Info::default()
        });
        release.apply_method =
            method_name(options.apply_method.server_side(Some(&target.apply_method))).into();
        self.storage
            .create_with_labels(
                &release,
                &labels,
                options.max_history,
                Some(&self.lock(options)),
            )
            .await?;
        self.roll_to(name, &mut release, &current, "rollback", options, cancel)
            .await?;
        Ok(release)
    }

    /// Uninstalls `name`: pre-delete hooks, every resource but those kept, post-delete hooks;
    /// then the history is deleted, or kept with the last revision `uninstalled`.
    pub async fn uninstall(
        &self,
        name: &str,
        keep_history: bool,
        options: &Options,
        cancel: &Cancel,
    ) -> Result<()> {
        let history = self.history(name).await?;
        let latest = history
            .last()
            .ok_or_else(|| Error::NotFound(format!("release: not found: {name}")))?;
        let mut release = latest.release.clone();
        if let Some(info) = release.info.as_mut() {
            info.status = Status::Uninstalling.as_str().into();
            info.deleted = Some(now());
        }
        self.storage
            .update(&release, Some(&self.lock(options)))
            .await?;
        self.run_hooks(&mut release, "pre-delete", options, cancel)
            .await?;
        let mut deleted = Vec::new();
        for obj in resources(&release.manifest)?.iter().rev() {
            let obj = self.applier.normalize(obj, &self.namespace).await?;
            if !apply::keep(&obj)
                && self
                    .applier
                    .delete_with(&obj, &self.namespace, options.deletion_propagation.clone())
                    .await?
            {
                deleted.push(obj);
            }
        }
        if options.wait {
            wait::until_deleted(
                &self.applier,
                &deleted,
                &self.namespace,
                options.timeout,
                cancel,
            )
            .await?;
        }
        self.run_hooks(&mut release, "post-delete", options, cancel)
            .await?;
        if keep_history {
            if let Some(info) = release.info.as_mut() {
                info.status = Status::Uninstalled.as_str().into();
                info.description = "Uninstallation complete".into();
            }
            self.storage.update(&release, None).await
        } else {
            for r in &history {
                self.storage.delete(name, r.release.version).await?;
            }
            Ok(())
        }
    }

    /// Runs the deployed release's test hooks and records their runs.
    pub async fn test(&self, name: &str, options: &Options, cancel: &Cancel) -> Result<Release> {
        let history = self.history(name).await?;
        let mut release = history
            .iter()
            .rev()
            .find(|r| r.release.status() == Status::Deployed)
            .ok_or_else(|| Error::NotFound(format!("{name:?} has no deployed releases")))?
            .release
            .clone();
        let mut opts = options.clone();
        opts.disable_hooks = false;
        let outcome = self.run_hooks(&mut release, "test", &opts, cancel).await;
        self.storage.update(&release, None).await?;
        outcome.map(|()| release)
    }

    /// Unlocks a release left pending by a crash: the pending revision becomes failed, when
    /// its lock is ours or has expired. Returns whether it did.
    pub async fn unlock(&self, name: &str, holder: &str) -> Result<bool> {
        let history = self.history(name).await?;
        let Some(latest) = history.last() else {
            return Ok(false);
        };
        if !latest.release.status().is_pending() {
            return Ok(false);
        }
        let lock = self.storage.lock_of(name, latest.release.version).await?;
        let free = lock
            .as_ref()
            .is_none_or(|l| l.holder == holder || l.until < jiff::Timestamp::now());
        if !free {
            return Ok(false);
        }
        let mut release = latest.release.clone();
        let status = release.status().as_str().to_string();
        if let Some(info) = release.info.as_mut() {
            info.status = Status::Failed.as_str().into();
            info.description = format!("Release unlocked from stale '{status}' state");
        }
        // Only if nobody renewed the lock since we read it.
        self.storage
            .update_if_lock(&release, lock.as_ref(), None)
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_filters_include_only_named_and_never_excluded() {
        let all = super::TestFilter::default();
        assert!(all.runs("a"));
        let only = super::TestFilter {
            include: vec!["a".into()],
            exclude: vec![],
        };
        assert!(only.runs("a") && !only.runs("b"));
        let not = super::TestFilter {
            include: vec![],
            exclude: vec!["a".into()],
        };
        assert!(!not.runs("a") && not.runs("b"));
    }

    use super::*;

    fn hook(name: &str, weight: i64, events: &[&str]) -> Hook {
        Hook {
            name: name.into(),
            weight,
            events: events.iter().map(|s| s.to_string()).collect(),
            ..Hook::default()
        }
    }

    #[test]
    fn hooks_run_by_weight_then_name() {
        let hooks = vec![
            hook("b", 5, &["pre-install"]),
            hook("a", 5, &["pre-install", "pre-upgrade"]),
            hook("z", -1, &["pre-install"]),
            hook("t", 0, &["test"]),
        ];
        assert_eq!(hooks_for(&hooks, "pre-install"), vec![2, 1, 0]);
        assert_eq!(hooks_for(&hooks, "pre-upgrade"), vec![1]);
        assert_eq!(hooks_for(&hooks, "post-install"), Vec::<usize>::new());
    }

    #[test]
    fn a_hook_without_policies_is_deleted_before_creation() {
        assert_eq!(policies(&hook("a", 0, &[])), vec!["before-hook-creation"]);
        let mut h = hook("a", 0, &[]);
        h.delete_policies = vec!["hook-succeeded".into()];
        assert_eq!(policies(&h), vec!["hook-succeeded"]);
    }

    #[test]
    fn manifests_split_into_objects() {
        let objs = resources("---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: b.yaml\n# only a comment\n").unwrap_or_default();
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0]["metadata"]["name"], "a");
    }
}
