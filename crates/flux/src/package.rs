//! Charts re-packaged as source-controller re-packages them for a HelmChart's `valuesFiles`:
//! the merged values become the chart's `values.yaml` and the version gets build metadata
//! (the HelmChart's generation), so every consumer of the artifact sees the same chart.

use crate::chart::{ValuesFiles, apply_values_files};
use crate::{Error, Result};
use std::io::Write;

/// The archive with `valuesFiles` merged into `values.yaml` and the version set to
/// `<version>+<metadata>`, and that version. Other files are copied as they are.
pub fn with_values_files(
    archive: &[u8],
    files: &ValuesFiles,
    metadata: &str,
) -> Result<(Vec<u8>, String)> {
    let chart_err = |e: String| Error::Chart(format!("failed to repackage chart: {e}"));
    let mut chart =
        helmrelease_helm::chart::load_archive(archive).map_err(|e| chart_err(e.to_string()))?;
    apply_values_files(&mut chart, files)?;
    let base = chart.metadata.version.split('+').next().unwrap_or_default();
    let version = format!("{base}+{metadata}");
    let entries = helmrelease_helm::chart::archive::read_archive_files(
        archive,
        &helmrelease_helm::chart::Limits::default(),
    )
    .map_err(chart_err)?;
    let values = chart.raw_values.clone().unwrap_or_default();
    let mut out = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut wrote_values = false;
    for entry in &entries {
        let data: Vec<u8> = match entry.name.as_str() {
            "values.yaml" => {
                wrote_values = true;
                values.clone()
            }
            "Chart.yaml" => set_version(&entry.data, &version),
            _ => entry.data.clone(),
        };
        append(&mut out, &chart.metadata.name, &entry.name, &data)
            .map_err(|e| chart_err(e.to_string()))?;
    }
    if !wrote_values {
        append(&mut out, &chart.metadata.name, "values.yaml", &values)
            .map_err(|e| chart_err(e.to_string()))?;
    }
    let bytes = out
        .into_inner()
        .and_then(|gz| gz.finish())
        .map_err(|e| chart_err(e.to_string()))?;
    Ok((bytes, version))
}

fn append<W: Write>(
    out: &mut tar::Builder<W>,
    root: &str,
    name: &str,
    data: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    out.append_data(&mut header, format!("{root}/{name}"), data)
}

/// `Chart.yaml` with its top-level `version:` replaced (the rest kept byte for byte).
fn set_version(chart_yaml: &[u8], version: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(chart_yaml);
    let mut out = String::with_capacity(text.len() + 16);
    let mut replaced = false;
    for line in text.split_inclusive('\n') {
        if !replaced && line.starts_with("version:") {
            out.push_str(&format!("version: {version}\n"));
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("version: {version}\n"));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &str)]) -> Vec<u8> {
        let mut out = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (name, data) in files {
            let _ = append(&mut out, "web", name, data.as_bytes());
        }
        out.into_inner()
            .and_then(|gz| gz.finish())
            .unwrap_or_default()
    }

    #[test]
    fn values_files_are_merged_into_values_yaml_and_the_version_marked() -> Result<()> {
        let original = archive(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: web\nversion: 1.2.0\nappVersion: \"3\"\n",
            ),
            ("values.yaml", "replicas: 1\nimage:\n  tag: a\n"),
            ("values-prod.yaml", "image:\n  tag: b\n"),
            ("templates/cm.yaml", "kind: ConfigMap\n"),
        ]);
        let files = ValuesFiles {
            paths: vec!["values.yaml".into(), "values-prod.yaml".into()],
            ignore_missing: false,
        };
        let (bytes, version) = with_values_files(&original, &files, "3")?;
        assert_eq!(version, "1.2.0+3");
        let chart = helmrelease_helm::chart::load_archive(&bytes)
            .map_err(|e| Error::Chart(e.to_string()))?;
        assert_eq!(chart.metadata.version, "1.2.0+3");
        assert_eq!(chart.metadata.app_version, "3");
        assert_eq!(
            chart.values.to_json(),
            serde_json::json!({"replicas": 1.0, "image": {"tag": "b"}})
        );
        assert_eq!(chart.templates.len(), 1);
        let missing = ValuesFiles {
            paths: vec!["nope.yaml".into()],
            ignore_missing: false,
        };
        assert!(with_values_files(&original, &missing, "3").is_err());
        Ok(())
    }
}
