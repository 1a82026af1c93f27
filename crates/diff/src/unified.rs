//! Line-based unified diffs, in the format of `diff -u` and `git diff`, and their colouring for
//! terminals.

use similar::TextDiff;

/// The unified diff of two texts: `--- old_label` and `+++ new_label` headers, then `@@` hunks
/// with `context` lines of context around each change. Empty when the texts are equal.
///
/// Hunk headers follow GNU diff: a range of one line is written `-3`, an empty range names the
/// line before it (`-0,0` for an empty side). A last line without a newline is followed by
/// `\ No newline at end of file`.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str, context: usize) -> String {
    // Myers, as git and GNU diff use by default, so hunks look the same as theirs; no deadline,
    // so the output does not depend on the machine's speed.
    TextDiff::from_lines(old, new)
        .unified_diff()
        // similar doubles the radius; past the length of the texts more context changes nothing.
        .context_radius(context.min(usize::MAX / 4))
        .header(old_label, new_label)
        .to_string()
}

const BOLD: &str = "\x1b[1m";
const CYAN: &str = "\x1b[36m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

/// `diff` with ANSI colours: `---`/`+++` headers bold, `@@` hunk headers cyan, removed lines red,
/// added lines green. Each coloured line ends with a reset, so a cut-off output leaves the
/// terminal clean.
///
/// Hunk line counts are followed, so a removed line reading `-- x` (shown as `--- x`) is red, not
/// taken for a header. Text that is not a unified diff is coloured by its first character.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    // Lines still expected on each side of the current hunk.
    let (mut old_left, mut new_left) = (0usize, 0usize);
    for line in diff.split_inclusive('\n') {
        let (body, eol) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let in_hunk = old_left > 0 || new_left > 0;
        let colour = if in_hunk {
            match body.as_bytes().first() {
                Some(b'-') => {
                    old_left = old_left.saturating_sub(1);
                    Some(RED)
                }
                Some(b'+') => {
                    new_left = new_left.saturating_sub(1);
                    Some(GREEN)
                }
                Some(b'\\') => None,
                _ => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                    None
                }
            }
        } else if body.starts_with("--- ") || body.starts_with("+++ ") {
            Some(BOLD)
        } else if body.starts_with("@@") {
            (old_left, new_left) = hunk_lengths(body).unwrap_or((0, 0));
            Some(CYAN)
        } else if body.starts_with('-') {
            Some(RED)
        } else if body.starts_with('+') {
            Some(GREEN)
        } else {
            None
        };
        match colour {
            Some(colour) => {
                out.push_str(colour);
                out.push_str(body);
                out.push_str(RESET);
            }
            None => out.push_str(body),
        }
        out.push_str(eol);
    }
    out
}

/// The old and new line counts of a hunk header `@@ -a,b +c,d @@` (a missing count is 1).
fn hunk_lengths(header: &str) -> Option<(usize, usize)> {
    let mut ranges = header.strip_prefix("@@ -")?.split(' ');
    let count = |range: &str| match range.split_once(',') {
        Some((_, len)) => len.parse().ok(),
        None => Some(1),
    };
    let old = count(ranges.next()?)?;
    let new = count(ranges.next()?.strip_prefix('+')?)?;
    Some((old, new))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected outputs were checked against GNU diffutils `diff -u`.

    #[test]
    fn equal_texts_give_nothing() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "a", "b", 3), "");
        assert_eq!(unified("", "", "a", "b", 3), "");
    }

    #[test]
    fn one_changed_line_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            unified(old, new, "old", "new", 3),
            "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
        assert_eq!(
            unified(old, new, "old", "new", 1),
            "--- old\n+++ new\n@@ -4,3 +4,3 @@\n 4\n-5\n+five\n 6\n"
        );
        assert_eq!(
            unified(old, new, "old", "new", usize::MAX),
            unified(old, new, "old", "new", 20)
        );
        assert_eq!(
            unified(old, new, "old", "new", 0),
            "--- old\n+++ new\n@@ -5 +5 @@\n-5\n+five\n"
        );
    }

    #[test]
    fn distant_changes_make_separate_hunks() {
        let old = "a\n1\n2\n3\n4\n5\n6\n7\nb\n";
        let new = "A\n1\n2\n3\n4\n5\n6\n7\nB\n";
        assert_eq!(
            unified(old, new, "o", "n", 2),
            "--- o\n+++ n\n@@ -1,3 +1,3 @@\n-a\n+A\n 1\n 2\n@@ -7,3 +7,3 @@\n 6\n 7\n-b\n+B\n"
        );
        // Close enough that the contexts touch: one hunk.
        assert_eq!(unified(old, new, "o", "n", 4).matches("@@ -").count(), 1);
    }

    #[test]
    fn empty_sides_and_pure_insertions_and_deletions() {
        assert_eq!(
            unified("", "a\nb\n", "o", "n", 3),
            "--- o\n+++ n\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        );
        assert_eq!(
            unified("a\n", "", "o", "n", 3),
            "--- o\n+++ n\n@@ -1 +0,0 @@\n-a\n"
        );
        assert_eq!(
            unified("1\n2\n3\n", "1\n3\n", "o", "n", 0),
            "--- o\n+++ n\n@@ -2 +1,0 @@\n-2\n"
        );
        assert_eq!(
            unified("1\n3\n", "1\n2\n3\n", "o", "n", 0),
            "--- o\n+++ n\n@@ -1,0 +2 @@\n+2\n"
        );
    }

    #[test]
    fn missing_trailing_newline() {
        assert_eq!(
            unified("a\nb", "a\nb\n", "o", "n", 3),
            "--- o\n+++ n\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
        );
        assert_eq!(
            unified("x\nb", "y\nb", "o", "n", 3),
            "--- o\n+++ n\n@@ -1,2 +1,2 @@\n-x\n+y\n b\n\\ No newline at end of file\n"
        );
        assert_eq!(
            unified("", "a", "o", "n", 3),
            "--- o\n+++ n\n@@ -0,0 +1 @@\n+a\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn colours_by_role_not_by_first_characters() {
        let diff = unified("-- a\nx\n", "++ b\nx\n", "old", "new", 3);
        assert_eq!(
            colorize(&diff),
            "\x1b[1m--- old\x1b[0m\n\x1b[1m+++ new\x1b[0m\n\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n\
             \x1b[31m--- a\x1b[0m\n\x1b[32m+++ b\x1b[0m\n x\n"
        );
    }

    #[test]
    fn colours_missing_newline_marker_and_many_files() {
        let one = unified("a", "b", "o", "n", 3);
        let text = format!("{one}{one}");
        let coloured = colorize(&text);
        assert_eq!(coloured.matches("\x1b[1m").count(), 4);
        assert!(coloured.contains("\n\\ No newline at end of file\n"));
        assert_eq!(colorize(""), "");
        // Not a diff at all, and a bad hunk header: coloured by first character, no panic.
        assert_eq!(
            colorize("@@ nonsense\n-x"),
            "\x1b[36m@@ nonsense\x1b[0m\n\x1b[31m-x\x1b[0m"
        );
    }

    #[test]
    fn hunk_header_parsing() {
        assert_eq!(hunk_lengths("@@ -1,2 +3,4 @@"), Some((2, 4)));
        assert_eq!(hunk_lengths("@@ -5 +5 @@ fn x"), Some((1, 1)));
        assert_eq!(hunk_lengths("@@ -0,0 +1 @@"), Some((0, 1)));
        assert_eq!(hunk_lengths("@@ bad"), None);
    }
}
