//! Rendered templates to what Helm installs and prints: documents split on `---`, hooks
//! (`helm.sh/hook`) apart from resources, resources in Helm's install order by kind, and the
//! `helm template` text (`---\n# Source: <path>\n<document>`).

use crate::profile::HelmVersion;
use crate::{Error, Result, yaml};
use helmrelease_gotmpl::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, mpsc};

/// Helm 4's install order by kind; unknown kinds go last, alphabetically. Helm 3's lacks the
/// last two ([`HelmVersion::install_order`]).
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Hook events Helm knows (`test-success` is the Helm 2 name of `test`).
const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// A resource document of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Template path (`mychart/templates/deployment.yaml`).
    pub name: String,
    /// The document, trimmed.
    pub content: String,
    /// Its kind.
    pub kind: String,
}

/// A hook document.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// `metadata.name`.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Template path.
    pub path: String,
    /// The document.
    pub manifest: String,
    /// Events, lower-cased (`test-success` becomes `test`).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight`, 0 when absent or not a number.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` values.
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// Whether it is a test hook (skipped by `--skip-tests`).
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// Helm's `SplitManifests`: documents separated by `---` lines, trimmed, empty ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    // Go's `(?:^|\s*\n)---\s*`, where \s is ASCII whitespace.
    static SEPARATOR: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let text = text.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let Some(sep) = SEPARATOR
        .get_or_init(|| regex::Regex::new(r"(?:^|[\t\n\x0c\r ]*\n)---[\t\n\x0c\r ]*").ok())
    else {
        return vec![text.to_string()];
    };
    sep.split(text)
        .map(|d| d.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']))
        .filter(|d| !d.is_empty())
        .map(String::from)
        .collect()
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(other) => helmrelease_gotmpl::fmt::format_value(other),
    }
}

/// Helm's `SortManifests`: files (template path → rendered text) in path order, partials and
/// blank files skipped, documents split; hooks and resources each sorted by install order,
/// keeping the order of equal kinds. Hooks with an unknown event are dropped, as Helm does.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<(Vec<Hook>, Vec<Manifest>)> {
    sort_parsed(files, Heads::default(), HelmVersion::default())
}

/// Documents of a file with their heads, in order.
type ParsedFile = Vec<(String, std::result::Result<Head, String>)>;

/// Heads already parsed, by template path (see [`HeadPrefetch`]).
#[derive(Default)]
pub(crate) struct Heads(HashMap<String, ParsedFile>);

/// Whether sorting looks at a file's documents at all.
fn sorted_file(path: &str, content: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    !base.starts_with('_') && !content.trim().is_empty()
}

/// [`sort_manifests`] with some files' heads parsed already.
pub(crate) fn sort_parsed(
    files: &BTreeMap<String, String>,
    mut parsed: Heads,
    helm: HelmVersion,
) -> Result<(Vec<Hook>, Vec<Manifest>)> {
    let order = helm.install_order();
    let mut docs = Vec::new();
    let mut heads = Vec::new();
    let mut missing = Vec::new();
    for (path, content) in files {
        if !sorted_file(path, content) {
            continue;
        }
        if let Some(file) = parsed.0.remove(path) {
            for (doc, head) in file {
                docs.push((path.clone(), doc));
                heads.push(Some(head));
            }
            continue;
        }
        for doc in split_manifests(content) {
            missing.push(docs.len());
            docs.push((path.clone(), doc));
            heads.push(None);
        }
    }
    // Parsing every document is most of the work; it is independent per document.
    let todo: Vec<&str> = missing.iter().map(|&i| docs[i].1.as_str()).collect();
    for (i, head) in missing.iter().zip(parse_heads(&todo)) {
        heads[*i] = Some(head);
    }
    let mut hooks = Vec::new();
    let mut manifests = Vec::new();
    for ((path, doc), head) in docs.into_iter().zip(heads) {
        let head = head
            .unwrap_or_else(|| Err("the document was not parsed".to_string()))
            .map_err(|e| Error::Render(format!("YAML parse error on {path}: {e}")))?;
        let Some(hook_types) = head.annotations.get("helm.sh/hook").cloned() else {
            manifests.push(Manifest {
                name: path,
                content: doc,
                kind: head.kind,
            });
            continue;
        };
        let list = |key: &str| -> Vec<String> {
            head.annotations
                .get(key)
                .map(|v| v.split(',').map(|p| p.trim().to_lowercase()).collect())
                .unwrap_or_default()
        };
        let mut events = Vec::new();
        let mut unknown = false;
        for t in hook_types.split(',') {
            let t = t.trim().to_lowercase();
            if !HOOK_EVENTS.contains(&t.as_str()) {
                unknown = true;
                break;
            }
            events.push(if t == "test-success" {
                "test".into()
            } else {
                t
            });
        }
        if unknown {
            continue;
        }
        let weight = head
            .annotations
            .get("helm.sh/hook-weight")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let delete_policies = list("helm.sh/hook-delete-policy");
        hooks.push(Hook {
            name: head.name,
            kind: head.kind,
            path,
            manifest: doc,
            events,
            weight,
            delete_policies,
        });
    }
    hooks.sort_by(|a, b| kind_order(order, &a.kind, &b.kind));
    manifests.sort_by(|a, b| kind_order(order, &a.kind, &b.kind));
    Ok((hooks, manifests))
}

/// What sorting needs of a document: its kind, name and annotations (as text).
struct Head {
    kind: String,
    name: String,
    annotations: BTreeMap<String, String>,
}

fn head_of(doc: &str) -> std::result::Result<Head, String> {
    let [kind, name, annotations] = yaml::from_yaml_fields(
        doc,
        [
            &["kind"],
            &["metadata", "name"],
            &["metadata", "annotations"],
        ],
    )
    .map_err(|e| e.to_string())?;
    let annotations = match annotations {
        Value::Map(m) => m
            .entries()
            .into_iter()
            .map(|(k, v)| (k, text(Some(&v))))
            .collect(),
        _ => BTreeMap::new(),
    };
    Ok(Head {
        kind: text(Some(&kind)),
        name: text(Some(&name)),
        annotations,
    })
}

/// Heads of all documents, parsed on every core, in order.
fn parse_heads(docs: &[&str]) -> Vec<std::result::Result<Head, String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(docs.len().max(1));
    if threads <= 1 || docs.len() < 8 {
        return docs.iter().map(|d| head_of(d)).collect();
    }
    let chunk = docs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = docs
            .chunks(chunk)
            .map(|part| {
                (
                    part.len(),
                    scope.spawn(move || part.iter().map(|d| head_of(d)).collect::<Vec<_>>()),
                )
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| {
                h.join().unwrap_or_else(|_| {
                    (0..len)
                        .map(|_| Err("the YAML parser failed".to_string()))
                        .collect()
                })
            })
            .collect()
    })
}

/// One document to parse: its file, its position in the file, its text.
type Job = (String, usize, String);
type Done = Vec<(String, usize, String, std::result::Result<Head, String>)>;

/// Parses the heads of rendered files on a helper thread while the engine (single-threaded:
/// its values are not `Send`) renders the next ones; Helm parses them only after rendering.
/// [`HeadPrefetch::finish`] parses what is still queued on both threads.
pub(crate) struct HeadPrefetch<'scope> {
    jobs: Option<mpsc::Sender<Job>>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    worker: std::thread::ScopedJoinHandle<'scope, Done>,
}

/// Takes queued documents until the queue is closed and empty.
fn drain(queue: &Mutex<mpsc::Receiver<Job>>, wait: bool) -> Done {
    let mut done = Vec::new();
    loop {
        let job = {
            let Ok(rx) = queue.lock() else { break };
            if wait {
                rx.recv().ok()
            } else {
                rx.try_recv().ok()
            }
        };
        let Some((path, index, doc)) = job else { break };
        let head = head_of(&doc);
        done.push((path, index, doc, head));
    }
    done
}

impl<'scope> HeadPrefetch<'scope> {
    /// Starts the helper thread.
    pub(crate) fn start<'env>(scope: &'scope std::thread::Scope<'scope, 'env>) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(rx));
        let worker_queue = Arc::clone(&queue);
        let worker = scope.spawn(move || drain(&worker_queue, true));
        HeadPrefetch {
            jobs: Some(tx),
            queue,
            worker,
        }
    }

    /// Queues the documents of one rendered file (partials, notes and blank files are not
    /// sorted, so they are not parsed).
    pub(crate) fn submit(&self, path: &str, content: &str) {
        if !sorted_file(path, content) || path.ends_with("NOTES.txt") {
            return;
        }
        let Some(tx) = &self.jobs else { return };
        for (i, doc) in split_manifests(content).into_iter().enumerate() {
            // A closed queue only means the helper is gone; sorting parses what is missing.
            let _ = tx.send((path.to_string(), i, doc));
        }
    }

    /// Closes the queue, helps parse the rest, and returns every head parsed.
    pub(crate) fn finish(mut self) -> Heads {
        self.jobs = None;
        let mut done = drain(&self.queue, false);
        match self.worker.join() {
            Ok(theirs) => done.extend(theirs),
            // What the helper had parsed is lost with it: parse everything again.
            Err(_) => return Heads::default(),
        }
        done.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let mut heads = Heads::default();
        for (path, _, doc, head) in done {
            heads.0.entry(path).or_default().push((doc, head));
        }
        heads
    }
}

/// Helm's `lessByKind` as an ordering (used with a stable sort).
fn kind_order(order: &[&str], a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let pos = |k: &str| order.iter().position(|x| *x == k);
    match (pos(a), pos(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// One `---\n# Source: <path>\n<content>\n` block, as Helm writes manifests.
pub fn source_block(path: &str, content: &str) -> String {
    format!("---\n# Source: {path}\n{content}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_split_like_helm() {
        assert_eq!(
            split_manifests("a: 1\n---\nb: 2\n  \n---   \n\n---\nc: 3\n"),
            // The separator swallows the whitespace after it, so the third --- is no longer
            // at a line start: Go's regexp gives the same.
            vec!["a: 1", "b: 2", "---\nc: 3"]
        );
        assert_eq!(split_manifests("---\na: 1"), vec!["a: 1"]);
        assert_eq!(
            split_manifests("a: '---'\nb: x---y"),
            vec!["a: '---'\nb: x---y"]
        );
        assert!(split_manifests("  \n---\n ").is_empty());
    }

    fn sample_files(bad: bool) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        let mut add = |k: &str, v: &str| files.insert(k.to_string(), v.to_string());
        add("c/templates/_helpers.tpl", "not: [yaml");
        add("c/templates/blank.yaml", "  \n");
        add(
            "c/templates/a.yaml",
            "kind: Service\nmetadata:\n  name: s\n---\nkind: Namespace\nmetadata:\n  name: n",
        );
        add(
            "c/templates/hook.yaml",
            "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install,Post-Install\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: before-hook-creation",
        );
        for i in 0..12 {
            add(
                &format!("c/templates/cm{i:02}.yaml"),
                &format!("kind: ConfigMap\nmetadata:\n  name: cm{i}"),
            );
        }
        if bad {
            add(
                "c/templates/z-bad.yaml",
                "kind: Pod\nmetadata:\n  name: x\n   bad: indent",
            );
            add("c/templates/b-bad.yaml", "kind: Pod\n- item");
        }
        files
    }

    /// What the engine would hand over, file by file, with sorting done while it renders.
    fn sort_prefetched(files: &BTreeMap<String, String>) -> Result<(Vec<Hook>, Vec<Manifest>)> {
        std::thread::scope(|scope| {
            let prefetch = HeadPrefetch::start(scope);
            for (path, text) in files.iter().rev() {
                prefetch.submit(path, text);
            }
            sort_parsed(files, prefetch.finish(), HelmVersion::default())
        })
    }

    #[test]
    fn heads_parsed_while_rendering_sort_as_heads_parsed_after() {
        let files = sample_files(false);
        let (hooks, manifests) = sort_manifests(&files).expect("valid documents");
        assert_eq!(
            sort_prefetched(&files).expect("valid documents"),
            (hooks.clone(), manifests.clone())
        );
        let kinds: Vec<&str> = manifests.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds[..2], ["Namespace", "ConfigMap"]);
        assert_eq!(kinds.last(), Some(&"Service"));
        assert_eq!(manifests.len(), 14);
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].events, ["pre-install", "post-install"]);
        assert_eq!(hooks[0].weight, -5);
        assert_eq!(hooks[0].delete_policies, ["before-hook-creation"]);
    }

    #[test]
    fn the_first_invalid_document_in_path_order_is_reported_as_helm_does() {
        let files = sample_files(true);
        let expected = "YAML parse error on c/templates/b-bad.yaml: error converting YAML to JSON: yaml: line 1: did not find expected key";
        for result in [sort_manifests(&files), sort_prefetched(&files)] {
            match result {
                Err(e) => assert!(e.to_string().ends_with(expected), "{e}"),
                Ok(_) => panic!("invalid documents were accepted"),
            }
        }
    }

    #[test]
    fn kinds_sort_in_install_order_and_unknown_last() {
        let mut kinds = vec![
            "Zed",
            "Deployment",
            "Alpha",
            "Namespace",
            "Service",
            "ConfigMap",
        ];
        kinds.sort_by(|a, b| kind_order(INSTALL_ORDER, a, b));
        assert_eq!(
            kinds,
            vec![
                "Namespace",
                "ConfigMap",
                "Service",
                "Deployment",
                "Alpha",
                "Zed"
            ]
        );
    }
}
