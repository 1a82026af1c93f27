//! Command-line interface: kubectl-style global flags and the subcommands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Inspect Flux HelmReleases and the Helm releases behind them.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-helmrelease",
    bin_name = "kubectl helmrelease",
    version
)]
#[command(about = "Inspect Flux HelmReleases and the Helm releases behind them")]
pub struct Cli {
    /// Flags every command shares.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// kubectl-style flags, accepted before or after the subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the release (storage namespace).
    #[arg(short = 'n', long, global = true, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Look in every namespace.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Do not print table headers.
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Colour output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Print Secret data and values from Secrets instead of redacting them.
    #[arg(long, global = true)]
    pub show_secrets: bool,
    /// Read objects from files or folders (YAML, JSON, `kubectl get -o yaml` Lists, or bare
    /// Helm release payloads) instead of a cluster; `-` reads standard input. Repeatable.
    #[arg(long = "from-file", global = true, value_name = "PATH")]
    pub from_file: Vec<PathBuf>,
}

/// Output formats.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    /// Aligned columns.
    #[default]
    Table,
    /// Aligned columns with extra detail.
    Wide,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// Markdown for pull-request comments (`diff` previews; other commands print their table).
    Markdown,
}

/// When to colour output.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Color {
    /// When standard output is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check HelmReleases and Helm sources in files against the policy rules, offline.
    ///
    /// Reads YAML or JSON files and folders (Kustomize output with `-f -`), evaluates every
    /// HelmRelease, HelmChart, HelmRepository and OCIRepository with the same rules the webhook
    /// enforces, and prints one line per finding. HelmReleasePolicy objects in the input or in
    /// `--policy` files set the rules; without any, the built-in defaults apply. Exit code: 0
    /// clean, 1 findings that the policy enforces (or any finding with --strict), 2 error.
    Check(CheckArgs),
    /// HelmReleases and Helm releases in one table, like `flux get hr` and `helm list` together.
    ///
    /// One row per HelmRelease: its chart, the desired and deployed versions, the latest
    /// revision and its Helm status, and the Ready condition. Release Secrets that no HelmRelease
    /// owns are listed too, marked as such.
    #[command(visible_alias = "ls")]
    List,
    /// Why a HelmRelease is in the state it is: conditions, failure counters, last attempt,
    /// Flux's release snapshots, the latest revision and recent Events.
    Status(StatusArgs),
    /// Revisions of a Helm release, oldest first, like `helm history`.
    History(HistoryArgs),
    /// One part of a stored revision: values, manifest, notes, hooks, metadata, or all of them,
    /// printed as `helm get` prints it.
    Get(GetArgs),
    /// What a HelmRelease change would do, or what changed between two revisions.
    ///
    /// `diff NAME` renders the HelmRelease's desired state (its chart, values from valuesFrom and
    /// spec.values, as Flux composes them) and compares it with the deployed revision;
    /// `diff -f FILE` does the same for HelmReleases in files, including ones not installed yet.
    /// With --revision/--to-revision (or --release), two stored revisions are compared.
    /// Objects are matched by apiVersion, kind, namespace and name, so reordering is not a
    /// change. Secret data is masked unless --show-secrets. Exit code: 0 same, 1 differ, 2 error.
    Diff(DiffArgs),
    /// Live objects against the manifest of the deployed revision.
    ///
    /// Only fields the manifest sets are compared: defaults and fields other controllers add are
    /// not drift; Helm's ownership metadata and status are ignored; objects annotated or labelled
    /// `helm.toolkit.fluxcd.io/driftDetection: disabled` are skipped; the HelmRelease's
    /// `spec.driftDetection.ignore` rules apply. Without NAME, every release in scope is
    /// summarised. Exit code: 0 none, 1 drift, 2 error.
    Drift(DriftArgs),
    /// Render a chart exactly as `helm template` does, with the same flags.
    ///
    /// CHART is a chart folder, a packaged `.tgz`, or with `--repo URL` a chart name in an HTTP
    /// Helm repository (with `--version`). Exit code: 0 rendered, 1 the chart or its values do
    /// not render (Helm's error text on stderr).
    Template(Box<TemplateArgs>),
    /// One report over the cluster or files: policy violations, stuck and failed releases,
    /// release storage size, orphaned release Secrets, HelmReleases without a release, and drift
    /// with --drift. Exit code: 0 clean, 1 findings, 2 error.
    Audit(AuditArgs),
}

/// Arguments of `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The HelmRelease (or, with --release, the Helm release).
    #[command(flatten)]
    pub target: ReleaseName,
}

/// Parts of a revision for `get`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// User-supplied values (with --all, merged over the chart's defaults).
    Values,
    /// The rendered manifest.
    Manifest,
    /// The chart's NOTES.txt output.
    Notes,
    /// Hook manifests.
    Hooks,
    /// Name, chart, versions, annotations, labels, dependencies, status, deployment time and
    /// apply method (`-o json|yaml` too).
    Metadata,
    /// Everything: summary, test runs, values, hooks, manifest, notes.
    All,
}

/// Arguments of `get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// What to print.
    #[arg(value_enum)]
    pub part: Part,
    /// The release.
    #[command(flatten)]
    pub target: ReleaseName,
    /// Revision (default: the latest).
    #[arg(long)]
    pub revision: Option<i64>,
    /// With `values`: the computed values (chart defaults merged with the user's).
    #[arg(short = 'a', long)]
    pub all: bool,
}

/// Arguments of `diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// HelmRelease (or, with --release, Helm release); not needed with -f.
    pub name: Option<String>,
    /// Treat NAME as a Helm release name and compare two of its revisions.
    #[arg(long)]
    pub release: bool,
    /// Compare revisions: from this one (default: the one before --to-revision).
    #[arg(long)]
    pub revision: Option<i64>,
    /// Compare revisions: to this one (default: the latest).
    #[arg(long)]
    pub to_revision: Option<i64>,
    /// Preview HelmReleases from these files (`-` for standard input) against what is deployed.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Render this local chart (folder or .tgz) instead of fetching the HelmRelease's chart.
    #[arg(long, value_name = "PATH")]
    pub chart: Option<PathBuf>,
    /// What a preview compares with: the deployed revision's manifest, or the live objects
    /// (each desired object through a server-side apply dry run, so defaults count).
    #[arg(long, value_enum, default_value_t = Against::Deployed)]
    pub against: Against,
    /// Lines of context around each change (`--context` is kubectl's kubeconfig context).
    #[arg(
        long = "unified",
        short = 'U',
        visible_alias = "diff-context",
        default_value_t = 3
    )]
    pub unified: usize,
}

/// What a preview compares with.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Against {
    /// The deployed revision's stored manifest.
    #[default]
    Deployed,
    /// The live objects.
    Live,
}

/// Arguments of `drift`.
#[derive(Args, Debug)]
pub struct DriftArgs {
    /// HelmRelease (or, with --release, Helm release); all releases in scope when omitted.
    pub name: Option<String>,
    /// Treat NAME as a Helm release name, not a HelmRelease.
    #[arg(long)]
    pub release: bool,
}

/// Arguments of `audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Also compare every deployed release with its live objects.
    #[arg(long)]
    pub drift: bool,
    /// Files with HelmReleasePolicy objects to apply on top of those in the source. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
}

/// Arguments of `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files or folders to check; `-` reads standard input. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
    /// Files with HelmReleasePolicy objects to apply. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Fail (exit 1) on warnings too, not only on enforced rules.
    #[arg(long)]
    pub strict: bool,
}

/// Names a release: a HelmRelease, or a Helm release with `--release`.
#[derive(Args, Debug, Clone)]
pub struct ReleaseName {
    /// HelmRelease name (its Helm release is found as Flux names it), or a Helm release name.
    pub name: String,
    /// Treat NAME as a Helm release name, not a HelmRelease.
    #[arg(long)]
    pub release: bool,
}

/// Arguments of `history`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The release.
    #[command(flatten)]
    pub target: ReleaseName,
    /// Show at most this many of the newest revisions.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_do_not_clash() {
        // Catches a subcommand flag that shadows a global one (clap panics on use otherwise).
        Cli::command().debug_assert();
    }
}

/// Arguments of `template`, as `helm template` takes them.
#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// `[NAME] CHART`: the release name is optional, as in Helm.
    #[arg(value_name = "NAME_OR_CHART", num_args = 1..=2, required = true)]
    pub args: Vec<String>,
    /// Render as this Helm major version: 4 (the default, as helm 4 and Flux 2.8 render) or 3
    /// (helm 3.19 to 3.21, Flux 2.7 and older).
    #[arg(long, value_name = "3|4", default_value = "4", value_parser = parse_helm)]
    pub helm: helmrelease_helm::profile::HelmVersion,
    /// Values files, merged in order.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// `key=value` pairs (Helm's strvals syntax).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// `key=value` pairs whose values stay strings.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// `key=json` pairs, or a JSON object.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// `key=path`: the file's content becomes the value.
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// `key=value` pairs taken literally.
    #[arg(long = "set-literal", value_name = "KEY=VALUE")]
    pub set_literal: Vec<String>,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long)]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions`. Repeatable.
    #[arg(short = 'a', long = "api-versions", value_name = "VERSION")]
    pub api_versions: Vec<String>,
    /// Include CRDs from the chart's `crds/` folders.
    #[arg(long)]
    pub include_crds: bool,
    /// Leave CRDs out (wins over --include-crds).
    #[arg(long)]
    pub skip_crds: bool,
    /// Leave test hooks out.
    #[arg(long)]
    pub skip_tests: bool,
    /// Leave hooks out.
    #[arg(long)]
    pub no_hooks: bool,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long)]
    pub is_upgrade: bool,
    /// Only the manifests of these templates (paths or globs, e.g. `templates/service.yaml`).
    #[arg(short = 's', long = "show-only", value_name = "TEMPLATE")]
    pub show_only: Vec<String>,
    /// Chart repository URL to fetch CHART from.
    #[arg(long)]
    pub repo: Option<String>,
    /// Chart version constraint (with --repo or an `oci://` CHART; default: the latest
    /// stable).
    #[arg(long)]
    pub version: Option<String>,
    /// Use plain HTTP for an `oci://` registry (Helm's `--plain-http`).
    #[arg(long)]
    pub plain_http: bool,
    /// Without --version, take development versions too (Helm's `>0.0.0-0`).
    #[arg(long)]
    pub devel: bool,
    /// Chart repository (or registry) user name.
    #[arg(long)]
    pub username: Option<String>,
    /// Chart repository (or registry) password.
    #[arg(long)]
    pub password: Option<String>,
    /// PEM file of CA certificates to trust for the repository, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Send the credentials to chart URLs on other hosts too.
    #[arg(long)]
    pub pass_credentials: bool,
    /// Skip `values.schema.json` validation.
    #[arg(long)]
    pub skip_schema_validation: bool,
    /// Pipe the rendered manifests (hooks excepted) through this program, as Helm's
    /// `--post-renderer` does: a path, or a name looked up in PATH.
    #[arg(long, value_name = "PROGRAM")]
    pub post_renderer: Option<String>,
    /// Arguments for the post-renderer. Repeatable.
    #[arg(
        long = "post-renderer-args",
        value_name = "ARG",
        allow_hyphen_values = true
    )]
    pub post_renderer_args: Vec<String>,
    /// Write the manifests to files under this folder instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: put the files under `DIR/RELEASE`.
    #[arg(long)]
    pub release_name: bool,
    /// On an error from rendering, print what the templates rendered (when documents are not
    /// valid YAML) instead of the hint, as `helm template --debug` does.
    #[arg(long)]
    pub debug: bool,
    /// Release name from a Go template with Sprig's functions (`{{ randAlpha 5 | lower }}`);
    /// only without a NAME argument.
    #[arg(long, value_name = "TEMPLATE")]
    pub name_template: Option<String>,
    /// Accepted for `helm template` compatibility: without a NAME, Helm's template command
    /// names the release `release-name` anyway; with one, it is an error.
    #[arg(short = 'g', long)]
    pub generate_name: bool,
}

/// `--helm 3|4`.
fn parse_helm(text: &str) -> std::result::Result<helmrelease_helm::profile::HelmVersion, String> {
    helmrelease_helm::profile::HelmVersion::parse(text)
        .ok_or_else(|| format!("{text:?} is not a Helm major version we render as; use 3 or 4"))
}
