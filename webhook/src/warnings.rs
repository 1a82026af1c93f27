//! Admission warnings shaped so kube-apiserver passes every one on whole. Pure.
//!
//! The API server (`k8s.io/apiserver` `pkg/endpoints/filters/warning.go`, the recorder behind
//! `warning.AddWarning`, which the admission webhook dispatchers call for each warning of a
//! response) counts the characters (runes) of all warnings of one request: its own, and those of
//! every webhook. While the count stays within 4,096 each warning is passed on as it is. The
//! warning that would cross 4,096 switches it to truncating: every warning recorded so far is
//! cut to 256 characters, so are later ones, and once 4,096 are written again the rest are
//! dropped. A warning with a control character (a newline, a tab) is dropped outright, because
//! it cannot go in a `Warning` header.
//!
//! So [`fit`] makes each of our warnings at most 256 characters (splitting a long one at its
//! clauses, and shortening only a clause that alone is longer), without control characters, and
//! keeps all of them within a budget that leaves one full-size warning of room for the API
//! server and other webhooks. What does not fit is counted in a last warning that says how to
//! see it all.

/// Characters of all warnings of one request the API server passes on uncut.
pub const SERVER_TOTAL: usize = 4096;
/// Characters the API server cuts each warning to once the total is exceeded.
pub const SERVER_ITEM: usize = 256;
/// Characters our warnings may take together: the server's total less room for one more
/// full-size warning from the server itself or another webhook.
pub const BUDGET: usize = SERVER_TOTAL - SERVER_ITEM;

/// Room kept for the note about warnings left out (it is about 170 characters).
const NOTE_ROOM: usize = SERVER_ITEM;

/// The warnings to send for `warnings`: each at most [`SERVER_ITEM`] characters, none with a
/// control character or empty, [`BUDGET`] characters in all at most.
pub fn fit(warnings: Vec<String>) -> Vec<String> {
    let groups: Vec<Vec<String>> = warnings
        .iter()
        .map(|w| clean(w))
        .filter(|w| !w.trim().is_empty())
        .map(|w| split(&w))
        .collect();
    let size = |g: &[String]| g.iter().map(|w| chars(w)).sum::<usize>();
    if groups.iter().map(|g| size(g)).sum::<usize>() <= BUDGET {
        return groups.into_iter().flatten().collect();
    }
    // A warning goes whole or not at all: half of a split warning would mislead.
    let mut out = Vec::new();
    let mut used = 0;
    let total = groups.len();
    for (shown, group) in groups.into_iter().enumerate() {
        let needed = size(&group);
        if used + needed + NOTE_ROOM > BUDGET {
            out.push(note(total - shown));
            break;
        }
        used += needed;
        out.extend(group);
    }
    out
}

fn note(left_out: usize) -> String {
    let s = if left_out == 1 { "" } else { "s" };
    format!(
        "helmrelease-webhook: {left_out} more warning{s} left out to stay within the API server's limit on warnings; `kubectl helmrelease check -f FILE` lists them all"
    )
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Control characters (Go's `unicode.IsControl`, the same set as Rust's) as spaces.
fn clean(warning: &str) -> String {
    warning
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A warning as pieces of at most [`SERVER_ITEM`] characters. Our warnings read
/// `<rule-id>: <field>: <what is wrong>; <how to fix>`; a long one is split after a `; `, and
/// each piece after the first starts with the rule ID again so it reads on its own.
fn split(warning: &str) -> Vec<String> {
    if chars(warning) <= SERVER_ITEM {
        return vec![warning.to_string()];
    }
    let prefix = warning
        .split_once(": ")
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty() && chars(id) <= 40 && !id.contains(' '))
        .map(|id| format!("{id}: "))
        .unwrap_or_default();
    let mut pieces: Vec<String> = Vec::new();
    for clause in warning.split("; ") {
        if let Some(last) = pieces.last_mut()
            && chars(last) + 2 + chars(clause) <= SERVER_ITEM
        {
            last.push_str("; ");
            last.push_str(clause);
            continue;
        }
        let piece = if pieces.is_empty() {
            clause.to_string()
        } else {
            format!("{prefix}{clause}")
        };
        pieces.push(shorten(&piece, SERVER_ITEM));
    }
    pieces
}

/// `text` cut to `limit` characters by leaving out its middle, and saying how much: the start
/// names the rule and field, the end what is wrong with it.
fn shorten(text: &str, limit: usize) -> String {
    let length = chars(text);
    if length <= limit {
        return text.to_string();
    }
    // The marker's length depends on the count it prints; 4 digits always suffice here, as a
    // warning is one admission response's text.
    let marker_room = chars(" …[ characters left out]… ") + 7;
    let keep = limit.saturating_sub(marker_room);
    let head = keep * 2 / 3;
    let tail = keep - head;
    let left_out = length - head - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(length - tail).collect();
    format!("{start} …[{left_out} characters left out]… {end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within_limits(out: &[String]) {
        for w in out {
            assert!(chars(w) <= SERVER_ITEM, "{} characters: {w}", chars(w));
            assert!(!w.chars().any(char::is_control), "{w:?}");
        }
        let total: usize = out.iter().map(|w| chars(w)).sum();
        assert!(total <= BUDGET, "{total} characters in all");
    }

    #[test]
    fn short_warnings_pass_unchanged() {
        let warnings = vec![
            "cleanup-on-fail: spec.upgrade.cleanupOnFail: not set; set it to true".to_string(),
            "max-history: spec.maxHistory: 0 keeps every revision; set 10".to_string(),
        ];
        assert_eq!(fit(warnings.clone()), warnings);
        assert!(fit(vec![String::new(), " ".into()]).is_empty());
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(fit(vec!["a\nb\tc\u{85}d".into()]), ["a b c d"]);
    }

    #[test]
    fn a_long_warning_is_split_at_its_clauses_and_keeps_its_rule_id() {
        let what = format!("\"{}\" is a range", "1.0.0 || ".repeat(20));
        let how = "pin an exact version such as \"1.0.0\"";
        let warning = format!("pinned-version: spec.chart.spec.version: {what}; {how}");
        assert!(chars(&warning) > SERVER_ITEM);
        let out = fit(vec![warning]);
        within_limits(&out);
        assert_eq!(
            out,
            [
                format!("pinned-version: spec.chart.spec.version: {what}"),
                format!("pinned-version: {how}"),
            ]
        );
    }

    #[test]
    fn a_clause_longer_than_a_warning_is_shortened_in_the_middle() {
        let version = "x".repeat(5000);
        let warning = format!(
            "pinned-version: spec.chart.spec.version: \"{version}\" is not a version; pin one"
        );
        let out = fit(vec![warning]);
        within_limits(&out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].starts_with("pinned-version: spec.chart.spec.version: \"xxx"));
        assert!(out[0].ends_with("xxx\" is not a version"), "{}", out[0]);
        assert!(out[0].contains(" characters left out]… "), "{}", out[0]);
        assert!(chars(&out[0]) > SERVER_ITEM - 10, "{}", out[0]);
        assert_eq!(out[1], "pinned-version: pin one");
        // Without a rule ID, and without clauses.
        let out = fit(vec!["y ".repeat(400)]);
        within_limits(&out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn warnings_beyond_the_budget_are_counted_in_a_last_one() {
        let warnings: Vec<String> = (0..40)
            .map(|i| format!("rule-{i}: spec.field{i}: {}; fix it", "z".repeat(150)))
            .collect();
        let out = fit(warnings.clone());
        within_limits(&out);
        let shown = out.len() - 1;
        assert!(shown >= 10, "{shown} shown");
        assert_eq!(out[..shown], warnings[..shown]);
        assert_eq!(
            out[shown],
            format!(
                "helmrelease-webhook: {} more warnings left out to stay within the API server's limit on warnings; `kubectl helmrelease check -f FILE` lists them all",
                40 - shown
            )
        );
        // Exactly the budget still goes without a note.
        let exact: Vec<String> = (0..BUDGET / 240).map(|_| "w".repeat(240)).collect();
        assert_eq!(fit(exact.clone()), exact);
    }
}
