//! `.helmignore`: Helm's ignore rules (`internal/ignore`), with Go's `filepath.Match` globbing.
//!
//! A rule is one line: blank lines and `#` comments are skipped, `**` is refused, a leading
//! `!` negates, a trailing `/` matches directories only, a leading `/` anchors the pattern to
//! the chart root, a pattern with a `/` inside is matched against the whole relative path,
//! and a pattern without one against the base name. A path is ignored when some positive
//! rule matches and no negated rule does (order does not matter). Helm always adds
//! `templates/.?*` (dot files in `templates/`).

/// The name of the ignore file at the chart root.
pub const HELM_IGNORE: &str = ".helmignore";

/// Go's `path.ErrBadPattern` text.
const BAD_PATTERN: &str = "syntax error in pattern";

#[derive(Debug, Clone)]
struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Leading `/`: the whole path, from the root.
    Rooted,
    /// A `/` inside: the whole path.
    Structural,
    /// No `/`: the base name only.
    Base,
}

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    /// No rules.
    pub fn empty() -> Rules {
        Rules::default()
    }

    /// Parses `.helmignore` text; errors are Helm's (`double-star (**) syntax is not
    /// supported`, `syntax error in pattern`).
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut rules = Rules::empty();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // bufio.Scanner's ScanLines: split on \n, drop a trailing \r.
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            rules.parse_rule(line)?;
        }
        Ok(rules)
    }

    /// Adds Helm's default rule: dot files in `templates/`.
    pub fn add_defaults(&mut self) {
        // A constant pattern that parses.
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim_matches(is_go_space);
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".to_string());
        }
        go_match(rule, "abc")?;
        let mut rest = rule;
        let negate = rest.starts_with('!');
        if negate {
            rest = &rest[1..];
        }
        let must_dir = rest.ends_with('/');
        if must_dir {
            rest = &rest[..rest.len() - 1];
        }
        let kind = if let Some(r) = rest.strip_prefix('/') {
            rest = r;
            Kind::Rooted
        } else if rest.contains('/') {
            Kind::Structural
        } else {
            Kind::Base
        };
        self.patterns.push(Pattern {
            rule: rest.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether the chart-relative path (with `/` separators) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        let mut positive = false;
        let mut negative = false;
        for p in &self.patterns {
            if p.must_dir && !is_dir {
                continue;
            }
            let name = match p.kind {
                Kind::Base => base(path),
                Kind::Rooted | Kind::Structural => path,
            };
            if go_match(&p.rule, name).unwrap_or(false) {
                // Helm records a negated match and then also counts it as a match.
                if p.negate {
                    negative = true;
                }
                positive = true;
            }
        }
        positive && !negative
    }
}

/// Go's `unicode.IsSpace` as `strings.TrimSpace` uses it.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// Go's `filepath.Base` for `/` paths.
fn base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Go's `path/filepath.Match` on Unix: `*`, `?`, `[...]` classes (with `^` negation and
/// ranges) and `\` escapes; `*` and `?` never match `/`.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, String> {
    let mut pattern = pattern;
    let mut name = name;
    'outer: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains('/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let bytes = name.as_bytes();
            let mut i = 0;
            while i < bytes.len() && bytes[i] != b'/' {
                // Skip one character (Go skips bytes; on valid UTF-8 that only matters for
                // non-ASCII names, where stepping by character is what matches can use).
                let step = name[i..].chars().next().map_or(1, char::len_utf8);
                let (t, ok) = match_chunk(chunk, &name[i + step..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += step;
                        continue;
                    }
                    name = t;
                    continue 'outer;
                }
                i += step;
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, "")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(pattern: &str) -> (bool, &str, &str) {
    let mut p = pattern;
    let mut star = false;
    while let Some(r) = p.strip_prefix('*') {
        p = r;
        star = true;
    }
    let b = p.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    // `i` can land inside a multi-byte character only after a `\`; move to a boundary.
    while i < p.len() && !p.is_char_boundary(i) {
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

fn match_chunk<'a>(chunk: &str, s: &'a str) -> Result<(&'a str, bool), String> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while let Some(c0) = chunk.chars().next() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c0 {
            '[' => {
                let mut r = '\0';
                if !failed && let Some(c) = s.chars().next() {
                    r = c;
                    s = &s[c.len_utf8()..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if let Some(rest) = chunk.strip_prefix('^') {
                    negated = true;
                    chunk = rest;
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if nrange > 0
                        && let Some(rest) = chunk.strip_prefix(']')
                    {
                        chunk = rest;
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if let Some(rest) = chunk.strip_prefix('-') {
                        let (h, rest) = get_esc(rest)?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed && let Some(c) = s.chars().next() {
                    if c == '/' {
                        failed = true;
                    }
                    s = &s[c.len_utf8()..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                let mut lit = c0;
                if c0 == '\\' {
                    chunk = &chunk[1..];
                    match chunk.chars().next() {
                        Some(c) => lit = c,
                        None => return Err(BAD_PATTERN.to_string()),
                    }
                }
                if !failed {
                    match s.chars().next() {
                        Some(c) if c == lit => s = &s[c.len_utf8()..],
                        _ => failed = true,
                    }
                }
                chunk = &chunk[lit.len_utf8()..];
            }
        }
    }
    if failed {
        Ok(("", false))
    } else {
        Ok((s, true))
    }
}

fn get_esc(chunk: &str) -> Result<(char, &str), String> {
    let mut chunk = chunk;
    match chunk.chars().next() {
        None | Some('-') | Some(']') => return Err(BAD_PATTERN.to_string()),
        Some('\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BAD_PATTERN.to_string());
            }
        }
        _ => {}
    }
    let c = chunk
        .chars()
        .next()
        .ok_or_else(|| BAD_PATTERN.to_string())?;
    let rest = &chunk[c.len_utf8()..];
    if rest.is_empty() {
        return Err(BAD_PATTERN.to_string());
    }
    Ok((c, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_cases() {
        // From Go's path/filepath match tests.
        let cases: &[(&str, &str, Result<bool, ()>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(())),
            ("[-]", "-", Err(())),
            ("[x-]", "x", Err(())),
            ("[x-]", "-", Err(())),
            ("[x-]", "z", Err(())),
            ("[-x]", "x", Err(())),
            ("[-x]", "-", Err(())),
            ("[-x]", "a", Err(())),
            ("\\", "a", Err(())),
            ("[a-b-c]", "a", Err(())),
            ("[", "a", Err(())),
            ("[^", "a", Err(())),
            ("[^bc", "a", Err(())),
            ("a[", "a", Err(())),
            ("a[", "ab", Err(())),
            ("a[", "x", Err(())),
            ("a/b[", "x", Err(())),
            ("*x", "xxx", Ok(true)),
        ];
        for (p, n, want) in cases {
            let got = go_match(p, n).map_err(|_| ());
            assert_eq!(&got, want, "Match({p:?}, {n:?})");
        }
    }

    #[test]
    fn rules() {
        let mut r =
            Rules::parse("# comment\n\n*.txt\n!keep.txt\nsecret/\n/rooted.yaml\ndocs/*.md\n")
                .unwrap();
        r.add_defaults();
        assert!(r.ignore("a.txt", false));
        assert!(r.ignore("templates/a.txt", false));
        assert!(!r.ignore("keep.txt", false));
        assert!(!r.ignore("sub/keep.txt", false));
        assert!(r.ignore("secret", true));
        assert!(!r.ignore("secret", false));
        assert!(r.ignore("rooted.yaml", false));
        assert!(!r.ignore("sub/rooted.yaml", false));
        assert!(r.ignore("docs/a.md", false));
        assert!(!r.ignore("docs/x/a.md", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/visible.yaml", false));
        assert!(!r.ignore(".", true));
        assert_eq!(
            Rules::parse("a/**/b").unwrap_err(),
            "double-star (**) syntax is not supported"
        );
        assert_eq!(Rules::parse("[").unwrap_err(), "syntax error in pattern");
    }
}
