//! Rendering: kubectl-style tables, JSON and YAML.

use crate::{Error, Result};
use serde::Serialize;

/// A table of text cells, rendered with columns separated by three spaces like kubectl.
#[derive(Debug, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<&'static str>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
}

/// A cell: its text and an optional ANSI style applied after alignment.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// Text.
    pub text: String,
    /// ANSI SGR code, e.g. `"32"` for green.
    pub style: Option<&'static str>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, style: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell {
            text: text.to_string(),
            style: None,
        }
    }
}

impl Table {
    /// Renders the table; `headers` false leaves the header row out, `color` applies styles.
    pub fn render(&self, headers: bool, color: bool) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.text.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: Vec<(&str, Option<&str>)>| {
            let last = cells.len().saturating_sub(1);
            let mut text = String::new();
            for (i, (cell, style)) in cells.into_iter().enumerate() {
                let pad = if i == last {
                    0
                } else {
                    widths[i] - cell.chars().count() + 3
                };
                match style.filter(|_| color) {
                    Some(code) => text.push_str(&format!("\x1b[{code}m{cell}\x1b[0m")),
                    None => text.push_str(cell),
                }
                text.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        if headers {
            line(self.headers.iter().map(|h| (*h, None)).collect());
        }
        for row in &self.rows {
            line(row.iter().map(|c| (c.text.as_str(), c.style)).collect());
        }
        out
    }
}

/// JSON, pretty-printed, newline-terminated.
pub fn json<T: Serialize>(value: &T) -> Result<String> {
    let mut s =
        serde_json::to_string_pretty(value).map_err(|e| Error::Output(std::io::Error::other(e)))?;
    s.push('\n');
    Ok(s)
}

/// YAML.
pub fn yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Output(std::io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_space() {
        let table = Table {
            headers: vec!["A", "LONGER", "C"],
            rows: vec![
                vec!["1".into(), "x".into(), "".into()],
                vec![
                    Cell {
                        text: "22".into(),
                        style: Some("31"),
                    },
                    "yy".into(),
                    "z".into(),
                ],
            ],
        };
        assert_eq!(
            table.render(true, false),
            "A    LONGER   C\n1    x\n22   yy       z\n"
        );
        assert_eq!(
            table.render(false, true),
            "1    x\n\x1b[31m22\x1b[0m   yy       z\n"
        );
    }
}
