//! Reading Kubernetes manifests as users write them: multi-document YAML, JSON objects and
//! arrays, and `kind: List` dumps, each object with the line its document starts on so tools
//! can point at it.

use serde_json::Value;

/// A manifest that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// YAML that does not parse.
    #[error("{origin}:{line}: invalid YAML: {message}")]
    Yaml {
        /// File name or other label.
        origin: String,
        /// Line in the file (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// JSON that does not parse.
    #[error("{origin}:{line}: invalid JSON at column {column}: {message}")]
    Json {
        /// File name or other label.
        origin: String,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// One object and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Line of the file the object's document starts on (1-based).
    pub line: usize,
    /// The object.
    pub value: Value,
}

/// Parses YAML (multi-document) or JSON text into objects, expanding Lists and skipping empty
/// documents.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Document>, Error> {
    let docs = parse_documents(text, origin)?;
    Ok(docs
        .into_iter()
        .flat_map(|d| {
            flatten_lists(d.value)
                .into_iter()
                .map(move |value| Document {
                    line: d.line,
                    value,
                })
        })
        .collect())
}

/// Parses YAML or JSON text into documents without expanding Lists.
pub fn parse_documents(text: &str, origin: &str) -> Result<Vec<Document>, Error> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // JSON is YAML, but serde_json is much faster on big `kubectl get -o json` dumps.
        let value: Value = serde_json::from_str(text).map_err(|e| Error::Json {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        let line = text.len() - trimmed.len();
        let line = text[..line].matches('\n').count() + 1;
        return Ok(match value {
            Value::Array(items) => items
                .into_iter()
                .map(|value| Document { line, value })
                .collect(),
            other => vec![Document { line, value: other }],
        });
    }
    let mut out = Vec::new();
    for (start, chunk) in split_yaml(text) {
        if chunk
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let value: Value = serde_saphyr::from_str(chunk).map_err(|e| {
            let (line, message) = yaml_error(&e.to_string());
            Error::Yaml {
                origin: origin.to_string(),
                line: start + line.saturating_sub(1),
                message,
            }
        })?;
        if value.is_null() {
            continue;
        }
        // The document's first line with content is where the object starts.
        let offset = chunk
            .lines()
            .position(|l| !(l.trim().is_empty() || l.trim_start().starts_with('#')));
        out.push(Document {
            line: start + offset.unwrap_or(0),
            value,
        });
    }
    Ok(out)
}

/// Splits YAML text at `---` document markers, returning each document with the line it
/// starts on (1-based). Block scalars cannot hold a `---` at column 0, so this is exact for
/// manifests.
fn split_yaml(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        let is_marker =
            content == "---" || content.starts_with("--- ") || content.starts_with("---\t");
        if is_marker {
            docs.push((start_line, &text[start_byte..offset]));
            // Content after the marker on the same line (`--- {a: 1}`) belongs to the next doc.
            start_byte = offset + 3;
            start_line = i + 1;
        } else if content == "..." {
            docs.push((start_line, &text[start_byte..offset]));
            start_byte = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    docs.push((start_line, &text[start_byte..]));
    docs
}

/// serde-saphyr renders a code snippet after its message; keep the line and the message.
fn yaml_error(message: &str) -> (usize, String) {
    let first = message.lines().next().unwrap_or_default();
    let first = first.split(" --> ").next().unwrap_or(first);
    let first = first.strip_prefix("error: ").unwrap_or(first).trim();
    // "line 4 column 27: what"
    if let Some(rest) = first.strip_prefix("line ")
        && let Some((line, tail)) = rest.split_once(' ')
        && let Ok(line) = line.parse::<usize>()
    {
        let what = tail.split_once(": ").map(|(_, w)| w).unwrap_or(tail);
        return (line, what.to_string());
    }
    (1, first.to_string())
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Expands `kind: List` (and `*List` kinds with `items`) into their items, recursively.
pub fn flatten_lists(doc: Value) -> Vec<Value> {
    let is_list = doc
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && doc.get("items").is_some_and(Value::is_array);
    if !is_list {
        return vec![doc];
    }
    match doc {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items.into_iter().flat_map(flatten_lists).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_carry_their_start_line() {
        let text = "# header\n---\napiVersion: v1\nkind: A\n---\n\n# comment\nkind: B\n...\n---\n--- {kind: C}\n";
        let docs = parse(text, "f.yaml").unwrap_or_default();
        let got: Vec<(usize, Value)> = docs
            .into_iter()
            .map(|d| (d.line, d.value["kind"].clone()))
            .collect();
        assert_eq!(
            got,
            vec![(3, json!("A")), (8, json!("B")), (11, json!("C"))]
        );
    }

    #[test]
    fn lists_and_json_arrays_expand() {
        let list = json!({"kind": "List", "items": [{"kind": "A"}, {"kind": "SecretList", "items": [{"kind": "B"}]}]});
        let docs = parse(&list.to_string(), "x.json").unwrap_or_default();
        assert_eq!(
            docs.iter()
                .map(|d| d.value["kind"].clone())
                .collect::<Vec<_>>(),
            vec![json!("A"), json!("B")]
        );
        let docs = parse("\n\n[{\"kind\": \"A\"}]", "x.json").unwrap_or_default();
        assert_eq!(docs[0].line, 3);
    }

    #[test]
    fn errors_point_at_the_line_in_the_file() {
        let err = parse("kind: A\n---\nkind: B\nbad: [1, 2\nx: y\n", "f.yaml").err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("f.yaml:5: invalid YAML: illegal placement of ':' indicator")
        );
        let err = parse("{\"a\": }", "f.json").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("f.json:1: invalid JSON at column 7: expected value")
        );
    }
}
