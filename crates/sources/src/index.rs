//! A Helm chart repository's `index.yaml`, read as Helm's `repo.LoadIndexFile` reads it: JSON
//! when the bytes are valid JSON, YAML otherwise; `apiVersion` required; `null` entries dropped;
//! entries that Helm's chart-metadata validation rejects (no name, a name with a `/`, a version
//! that is not semver, an unknown `type`) set aside in [`Index::skipped`]. Unknown fields are
//! ignored, and scalars such as `version: 1.10` are kept as written.
//!
//! ```
//! use helmrelease_sources::index::Index;
//! let yaml = br#"
//! apiVersion: v1
//! entries:
//!   podinfo:
//!     - name: podinfo
//!       version: 6.5.4
//!       appVersion: 6.5.4
//!       urls: [podinfo-6.5.4.tgz]
//!     - name: podinfo
//!       version: 6.6.0
//!       urls: [podinfo-6.6.0.tgz]
//! "#;
//! let index = Index::parse(yaml, "https://stefanprodan.github.io/podinfo")?;
//! assert_eq!(index.resolve("podinfo", "~6.5")?.version, "6.5.4");
//! assert_eq!(index.resolve("podinfo", "")?.version, "6.6.0");
//! # Ok::<(), helmrelease_sources::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::version::{self, Version};

/// A parsed repository index.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// `apiVersion` (Helm writes `v1`; any non-empty value is accepted, as Helm does).
    pub api_version: String,
    /// `generated`, as written.
    pub generated: Option<String>,
    /// Chart name to its valid versions, in index order.
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
    /// Entries Helm would skip as invalid, with the reason.
    pub skipped: Vec<SkippedEntry>,
    origin: String,
}

/// One version of a chart in the index (Helm's `repo.ChartVersion`, the fields this crate uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartVersion {
    /// Chart name.
    #[serde(default, deserialize_with = "string")]
    pub name: String,
    /// Chart version as written.
    #[serde(default, deserialize_with = "string")]
    pub version: String,
    /// `appVersion`.
    #[serde(
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_version: Option<String>,
    /// `description`.
    #[serde(
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Download URLs, absolute or relative to the repository URL; Helm uses the first.
    #[serde(default, deserialize_with = "string_list")]
    pub urls: Vec<String>,
    /// SHA-256 of the chart archive, hex (some generators write `sha256:<hex>`).
    #[serde(
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub digest: Option<String>,
    /// `created`, an RFC 3339 timestamp as written.
    #[serde(
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<String>,
    /// `deprecated`.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub deprecated: bool,
    /// The chart's `apiVersion` (`v1` or `v2`).
    #[serde(
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// `type`: `application` or `library`.
    #[serde(
        default,
        rename = "type",
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub chart_type: Option<String>,
    /// `kubeVersion` constraint.
    #[serde(
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kube_version: Option<String>,
}

impl ChartVersion {
    /// `created` as a timestamp, when it is valid RFC 3339.
    pub fn created_at(&self) -> Option<jiff::Timestamp> {
        self.created.as_deref()?.parse().ok()
    }

    /// Why Helm's index loader would skip this entry, or `None` when it is valid.
    pub fn problem(&self) -> Option<String> {
        if self.name.is_empty() {
            return Some("name is missing".to_string());
        }
        if self.name.contains('/') {
            return Some(format!("name {:?} is invalid", self.name));
        }
        if self.version.is_empty() {
            return Some("version is missing".to_string());
        }
        if let Err(e) = Version::parse(&self.version) {
            return Some(match e {
                Error::InvalidVersion { reason, .. } => {
                    format!("version {:?} is not valid: {reason}", self.version)
                }
                other => other.to_string(),
            });
        }
        match self.chart_type.as_deref() {
            None | Some("" | "application" | "library") => None,
            Some(t) => Some(format!("type {t:?} must be application or library")),
        }
    }
}

/// An entry left out of [`Index::entries`] because Helm would skip it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The chart (the key under `entries`).
    pub chart: String,
    /// The version as written.
    pub version: String,
    /// Why it is skipped.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIndex {
    #[serde(default, deserialize_with = "opt_string")]
    api_version: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    generated: Option<String>,
    #[serde(default)]
    entries: Option<BTreeMap<String, Option<Vec<Option<ChartVersion>>>>>,
}

impl Index {
    /// Parses index bytes. `origin` (the index URL or file) is only used in messages.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Index> {
        let fail = |reason: String| Error::Index {
            origin: origin.to_string(),
            reason,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(fail("empty index.yaml file".to_string()));
        }
        let raw = decode(bytes).map_err(fail)?;
        let api_version = raw
            .api_version
            .filter(|v| !v.is_empty())
            .ok_or_else(|| fail("no API version specified (apiVersion: v1 is missing)".into()))?;
        let mut entries = BTreeMap::new();
        let mut skipped = Vec::new();
        for (chart, versions) in raw.entries.unwrap_or_default() {
            let mut valid = Vec::new();
            for entry in versions.unwrap_or_default().into_iter().flatten() {
                match entry.problem() {
                    None => valid.push(entry),
                    Some(reason) => skipped.push(SkippedEntry {
                        chart: chart.clone(),
                        version: entry.version,
                        reason,
                    }),
                }
            }
            entries.insert(chart, valid);
        }
        Ok(Index {
            api_version,
            generated: raw.generated,
            entries,
            skipped,
            origin: origin.to_string(),
        })
    }

    /// Where the index came from, as given to [`Index::parse`].
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The valid versions of a chart, in index order.
    pub fn chart(&self, name: &str) -> Option<&[ChartVersion]> {
        self.entries.get(name).map(Vec::as_slice)
    }

    /// Picks the version of `chart` that `constraint` selects (see [`version::resolve`]). Errors
    /// name the index origin, list similar chart names when the chart is missing and the
    /// nearest versions when no version matches.
    pub fn resolve(&self, chart: &str, constraint: &str) -> Result<&ChartVersion> {
        match self.entries.get(chart) {
            Some(versions) => version::resolve(chart, versions, constraint, &self.origin),
            None => Err(Error::ChartNotFound {
                chart: chart.to_string(),
                repo: self.origin.clone(),
                suggestions: similar_names(chart, self.entries.keys()),
            }),
        }
    }
}

/// JSON when the bytes are valid JSON (as Helm's `jsonOrYamlUnmarshal`), YAML otherwise.
fn decode(bytes: &[u8]) -> std::result::Result<RawIndex, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        match serde_json::from_slice::<RawIndex>(bytes) {
            Ok(raw) => return Ok(raw),
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                return Err(format!("JSON: {e}"));
            }
            // Not valid JSON: YAML (of which flow mappings also start with `{`).
            Err(_) => {}
        }
    }
    let mut budget = serde_saphyr::Budget::default();
    // The defaults suit configuration files; a large repository's index (tens of MiB, hundreds
    // of thousands of nodes) needs room in proportion to its size. The byte cap on downloads
    // bounds it.
    budget.max_events = budget.max_events.max(bytes.len().saturating_mul(2));
    budget.max_nodes = budget.max_nodes.max(bytes.len());
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(bytes.len());
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_slice_with_options(bytes, options).map_err(|e| {
        // One line: the location and the message, without the source snippet.
        let text = e.without_snippet().to_string();
        let text = text.strip_prefix("error: ").unwrap_or(&text);
        format!("YAML: {}", text.lines().next().unwrap_or_default())
    })
}

/// Up to five chart names close to `name` (edit distance, or one containing the other).
fn similar_names<'a>(name: &str, names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let wanted = name.to_ascii_lowercase();
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = names
        .filter_map(|candidate| {
            let lower = candidate.to_ascii_lowercase();
            let distance = levenshtein(&wanted, &lower);
            let related = !wanted.is_empty()
                && (lower.contains(wanted.as_str()) || wanted.contains(lower.as_str()));
            (distance <= limit || related).then_some((distance, candidate))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, n)| n.clone()).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Accepts a string or any scalar (kept as written where the format allows), as Helm's YAML
/// reader does for string fields.
struct ScalarString;

impl<'de> Visitor<'de> for ScalarString {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
}

struct OptScalarString;

impl<'de> Visitor<'de> for OptScalarString {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_string(ScalarString).map(Some)
    }
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    d.deserialize_option(OptScalarString)
}

fn string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Item(#[serde(deserialize_with = "string")] String);
    let items: Option<Vec<Item>> = Option::deserialize(d)?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .map(|Item(s)| s)
        .collect())
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODINFO: &str = r#"
apiVersion: v1
entries:
  podinfo:
  - apiVersion: v2
    appVersion: 6.6.0
    created: "2024-02-28T09:15:31.482512046Z"
    description: Podinfo Helm chart for Kubernetes
    digest: 7a1b2b0bd1b3b2a57a7a7f5d6d52b5c4f4c0c8f7a8d9e0f1a2b3c4d5e6f7a8b9
    home: https://github.com/stefanprodan/podinfo
    kubeVersion: ">=1.23.0-0"
    maintainers:
    - email: stefanprodan@users.noreply.github.com
      name: stefanprodan
    name: podinfo
    sources:
    - https://github.com/stefanprodan/podinfo
    urls:
    - https://stefanprodan.github.io/podinfo/podinfo-6.6.0.tgz
    version: 6.6.0
  - appVersion: 1.10
    created: 2023-11-02T10:00:00+01:00
    name: podinfo
    urls: [podinfo-6.5.4.tgz]
    version: 6.5.4
    deprecated: true
    someFutureField: {nested: [1, 2]}
  - null
  - name: podinfo
    version: latest
    urls: [podinfo-latest.tgz]
  - name: podinfo
    urls: [podinfo-nothing.tgz]
  - name: podinfo
    version: 1.0.0
    type: plugin
  nginx:
  - name: nginx
    version: "15.0"
    urls: []
  empty: []
  nulled: ~
generated: "2024-02-28T09:15:31.482512046Z"
serverInfo: {contextPath: /charts}
"#;

    #[test]
    fn parses_helm_index_and_tolerates_unknown_fields() {
        let index = Index::parse(PODINFO.as_bytes(), "https://example.test/").unwrap();
        assert_eq!(index.api_version, "v1");
        assert_eq!(
            index.generated.as_deref(),
            Some("2024-02-28T09:15:31.482512046Z")
        );
        let podinfo = index.chart("podinfo").unwrap();
        assert_eq!(podinfo.len(), 2);
        assert_eq!(podinfo[0].version, "6.6.0");
        assert_eq!(podinfo[0].app_version.as_deref(), Some("6.6.0"));
        assert_eq!(podinfo[0].kube_version.as_deref(), Some(">=1.23.0-0"));
        assert_eq!(podinfo[0].api_version.as_deref(), Some("v2"));
        assert!(podinfo[0].created_at().is_some());
        assert_eq!(
            podinfo[0].urls,
            ["https://stefanprodan.github.io/podinfo/podinfo-6.6.0.tgz"]
        );
        assert_eq!(podinfo[1].app_version.as_deref(), Some("1.10"));
        assert!(podinfo[1].deprecated);
        assert!(podinfo[1].created_at().is_some());
        assert_eq!(index.chart("nginx").unwrap()[0].version, "15.0");
        assert_eq!(index.chart("empty"), Some(&[][..]));
        assert_eq!(index.chart("nulled"), Some(&[][..]));
        let skipped: Vec<(&str, &str)> = index
            .skipped
            .iter()
            .map(|s| (s.version.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (
                    "latest",
                    "version \"latest\" is not valid: not a semantic version (expected \
                     MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD])"
                ),
                ("", "version is missing"),
                ("1.0.0", "type \"plugin\" must be application or library"),
            ]
        );
    }

    #[test]
    fn json_indexes_parse_too() {
        let json = br#"{"apiVersion":"v1","entries":{"demo":[{"name":"demo","version":"1.2.3","urls":["demo-1.2.3.tgz"],"digest":"abc"}]}}"#;
        let index = Index::parse(json, "x").unwrap();
        assert_eq!(
            index.resolve("demo", "").unwrap().digest.as_deref(),
            Some("abc")
        );
        // Valid JSON with a wrong type is reported as JSON, as Helm's json.Unmarshal would.
        let err = Index::parse(
            br#"{"apiVersion":"v1","entries":{"demo":{"version":"1"}}}"#,
            "x",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid repository index x: JSON: "),
            "{err}"
        );
        // A YAML flow mapping that is not JSON is still YAML.
        let flow = b"{apiVersion: v1, entries: {demo: [{name: demo, version: 1.0.0}]}}";
        assert_eq!(
            Index::parse(flow, "x")
                .unwrap()
                .chart("demo")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty index.yaml file"),
            (b"  \n", "empty index.yaml file"),
            (
                b"entries: {}\n",
                "no API version specified (apiVersion: v1 is missing)",
            ),
            (b"apiVersion: ''\n", "no API version specified"),
        ];
        for (input, want) in cases {
            let err = Index::parse(input, "https://r.test/index.yaml").unwrap_err();
            assert!(
                err.to_string().starts_with(&format!(
                    "invalid repository index https://r.test/index.yaml: {want}"
                )),
                "{err}"
            );
            assert_eq!(err.metric_label(), "index");
        }
        for input in [
            &b"apiVersion: v1\nentries:\n  demo: [\n"[..],
            b"apiVersion: v1\nentries: [1, 2]\n",
            b"apiVersion: v1\nentries:\n  demo:\n  - version: {a: 1}\n",
            b"\xff\xfe",
            b"- just\n- a list\n",
        ] {
            let err = Index::parse(input, "i").unwrap_err();
            assert!(
                err.to_string().starts_with("invalid repository index i: "),
                "{err}"
            );
        }
    }

    #[test]
    fn missing_chart_suggests_similar_names() {
        let index = Index::parse(
            b"apiVersion: v1\nentries:\n  podinfo: []\n  podinfo-extra: []\n  nginx: []\n",
            "https://r.test/",
        )
        .unwrap();
        let err = index.resolve("podnfo", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "chart \"podnfo\" not found in https://r.test/; charts with similar names: podinfo"
        );
        let err = index.resolve("extra", "").unwrap_err();
        assert!(
            err.to_string().ends_with("similar names: podinfo-extra"),
            "{err}"
        );
        let err = index.resolve("zzz", "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "chart \"zzz\" not found in https://r.test/"
        );
    }

    #[test]
    fn large_indexes_fit_the_budget() {
        let mut yaml = String::from("apiVersion: v1\nentries:\n  big:\n");
        // Past the YAML reader's default budget of 250,000 nodes, which real indexes (Bitnami's
        // was 20+ MiB) exceed. Nodes are what cost time, so they come cheap: one long list.
        yaml.push_str("  - {name: big, version: 1.0.0, keywords: [");
        yaml.push_str(&"a,".repeat(260_000));
        yaml.push_str("a]}\n");
        let index = Index::parse(yaml.as_bytes(), "big").unwrap();
        assert_eq!(index.resolve("big", "").unwrap().version, "1.0.0");
    }
}
