//! URL arithmetic as Helm does it with Go's `net/url` (pure string work, no I/O):
//!
//! - [`index_url`]: `<repo>/index.yaml`, as `path.Join(u.Path, "index.yaml")`, keeping the query;
//! - [`resolve_chart_url`]: a chart's (possibly relative) URL from the index resolved against the
//!   repository URL, as Helm's `repo.ResolveReferenceURL` (trailing `/` added to the base, the
//!   repository's query string kept, for signed URLs);
//! - [`resolve_reference`]: plain RFC 3986 resolution, as Go's `URL.ResolveReference`, used for
//!   redirects.
//!
//! ```
//! use helmrelease_sources::url::{index_url, resolve_chart_url};
//! assert_eq!(index_url("https://charts.example/sub/")?, "https://charts.example/sub/index.yaml");
//! assert_eq!(
//!     resolve_chart_url("https://charts.example/sub", "charts/app-1.0.0.tgz")?,
//!     "https://charts.example/sub/charts/app-1.0.0.tgz"
//! );
//! # Ok::<(), helmrelease_sources::Error>(())
//! ```

use std::path::PathBuf;

use crate::error::{Error, Result};

/// A URL split as RFC 3986 (and Go) split it; every part still escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn invalid(url: &str, reason: impl Into<String>) -> Error {
    Error::InvalidUrl {
        url: redact(url),
        reason: reason.into(),
    }
}

/// Go's `getScheme`: letters, then letters/digits/`+-.`, then `:`.
fn split_scheme(s: &str) -> Result<(Option<&str>, &str)> {
    for (i, c) in s.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err(invalid(s, "missing protocol scheme")),
            b':' => return Ok((Some(&s[..i]), &s[i + 1..])),
            _ => return Ok((None, s)),
        }
    }
    Ok((None, s))
}

fn parse(s: &str) -> Result<Parts<'_>> {
    if s.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(invalid(s, "contains spaces or control characters"));
    }
    let (rest, fragment) = match s.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (s, None),
    };
    let (scheme, rest) = split_scheme(rest)?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => match after.find('/') {
            Some(i) => (Some(&after[..i]), &after[i..]),
            None => (Some(after), ""),
        },
        None => (None, rest),
    };
    if scheme.is_none() && authority.is_none() {
        let first = path.split('/').next().unwrap_or("");
        if first.contains(':') {
            return Err(invalid(s, "first path segment in URL cannot contain colon"));
        }
    }
    Ok(Parts {
        scheme,
        authority,
        path,
        query,
        fragment,
    })
}

fn compose(p: &Parts<'_>, path: &str) -> String {
    let mut out = String::new();
    if let Some(scheme) = p.scheme {
        out.push_str(scheme);
        out.push(':');
    }
    if let Some(authority) = p.authority {
        out.push_str("//");
        out.push_str(authority);
        if !path.is_empty() && !path.starts_with('/') {
            out.push('/');
        }
    }
    out.push_str(path);
    if let Some(query) = p.query {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = p.fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The scheme of a URL, lowercased (`None` for relative references or garbage).
pub fn scheme(url: &str) -> Option<String> {
    split_scheme(url)
        .ok()
        .and_then(|(s, _)| s.map(str::to_ascii_lowercase))
}

/// The index URL of a repository: `index.yaml` joined to the repository path (Go's `path.Join`,
/// which also cleans `//`, `.` and `..`), query kept.
pub fn index_url(repo_url: &str) -> Result<String> {
    let p = parse(repo_url)?;
    if p.scheme.is_none() {
        return Err(invalid(repo_url, "not an absolute URL"));
    }
    let joined = if p.path.is_empty() {
        "index.yaml".to_string()
    } else {
        clean(&format!("{}/index.yaml", p.path))
    };
    Ok(compose(
        &Parts {
            fragment: None,
            ..p
        },
        &joined,
    ))
}

/// A chart URL from the index, resolved against the repository URL as Helm's
/// `repo.ResolveReferenceURL` does: absolute URLs stay as they are; relative ones resolve
/// against the repository URL with a trailing `/`, and take the repository URL's query.
pub fn resolve_chart_url(repo_url: &str, reference: &str) -> Result<String> {
    let r = parse(reference)?;
    if r.scheme.is_some() {
        return Ok(reference.to_string());
    }
    let base = parse(repo_url)?;
    if base.scheme.is_none() {
        return Err(invalid(repo_url, "not an absolute URL"));
    }
    let base_path = format!("{}/", base.path.trim_end_matches('/'));
    let base = Parts {
        path: &base_path,
        ..base
    };
    let (resolved, path) = resolve_parts(&base, &r);
    Ok(compose(
        &Parts {
            query: base.query,
            ..resolved
        },
        &path,
    ))
}

/// RFC 3986 reference resolution, as Go's `URL.ResolveReference`.
pub fn resolve_reference(base_url: &str, reference: &str) -> Result<String> {
    let r = parse(reference)?;
    if r.scheme.is_some() {
        let path = resolve_path(r.path, "");
        return Ok(compose(&r, &path));
    }
    let base = parse(base_url)?;
    let (resolved, path) = resolve_parts(&base, &r);
    Ok(compose(&resolved, &path))
}

/// Go's `ResolveReference` for a reference without a scheme: the resolved parts and path.
fn resolve_parts<'a>(base: &Parts<'a>, r: &Parts<'a>) -> (Parts<'a>, String) {
    if r.authority.is_some() {
        let path = resolve_path(r.path, "");
        return (
            Parts {
                scheme: base.scheme,
                ..r.clone()
            },
            path,
        );
    }
    let (query, fragment) = if r.path.is_empty() && r.query.is_none() {
        (base.query, r.fragment.or(base.fragment))
    } else {
        (r.query, r.fragment)
    };
    (
        Parts {
            scheme: base.scheme,
            authority: base.authority,
            path: "",
            query,
            fragment,
        },
        resolve_path(base.path, r.path),
    )
}

/// Go's `resolvePath`: merge, then remove dot segments; always rooted.
fn resolve_path(base: &str, reference: &str) -> String {
    let full = if reference.is_empty() {
        base.to_string()
    } else if !reference.starts_with('/') {
        let cut = base.rfind('/').map_or(0, |i| i + 1);
        format!("{}{reference}", &base[..cut])
    } else {
        reference.to_string()
    };
    if full.is_empty() {
        return String::new();
    }
    let mut dst = String::from("/");
    let mut first = true;
    let mut last = "";
    for elem in full.split('/') {
        last = elem;
        if elem == "." {
            first = false;
            continue;
        }
        if elem == ".." {
            let kept = dst[1..].to_string();
            dst.truncate(1);
            match kept.rfind('/') {
                None => first = true,
                Some(i) => dst.push_str(&kept[..i]),
            }
        } else {
            if !first {
                dst.push('/');
            }
            dst.push_str(elem);
            first = false;
        }
    }
    if last == "." || last == ".." {
        dst.push('/');
    }
    if dst.len() > 1 && dst.as_bytes()[1] == b'/' {
        dst.remove(0);
    }
    dst
}

/// Go's `path.Clean`.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut stack: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if stack.last().is_some_and(|s| *s != "..") {
                    stack.pop();
                } else if !rooted {
                    stack.push("..");
                }
            }
            s => stack.push(s),
        }
    }
    let joined = stack.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The URL without user information (`user:password@`), for messages and logs.
pub fn redact(url: &str) -> String {
    match split_userinfo(url) {
        Some((without, _)) => without,
        None => url.to_string(),
    }
}

/// Splits `user:password@` off the authority: the URL without it, and the (percent-decoded)
/// user and password. `None` when there is no user information.
pub(crate) fn split_userinfo(url: &str) -> Option<(String, (String, String))> {
    let (scheme_end, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Some((
        format!("{scheme_end}://{host}{tail}"),
        (percent_decode(user), percent_decode(password)),
    ))
}

/// `host[:port]` of an absolute URL, lowercased, without user information.
pub(crate) fn host_port(url: &str) -> Option<String> {
    let p = parse(url).ok()?;
    let authority = p.authority?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host.to_ascii_lowercase())
}

/// The host name of an absolute URL, lowercased, without port or brackets.
pub(crate) fn host_name(url: &str) -> Option<String> {
    let hp = host_port(url)?;
    if let Some(rest) = hp.strip_prefix('[') {
        return rest.split(']').next().map(str::to_string);
    }
    Some(match hp.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => hp,
    })
}

/// Helm passes repository credentials on to a chart URL only when scheme and `host:port` are
/// the same (or `--pass-credentials` is given).
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    scheme(a) == scheme(b) && host_port(a).is_some() && host_port(a) == host_port(b)
}

/// Go's rule for keeping `Authorization` across a redirect: the new host is the first request's
/// host or a subdomain of it.
pub(crate) fn is_domain_or_subdomain(sub: &str, parent: &str) -> bool {
    sub == parent
        || (sub.len() > parent.len()
            && sub.ends_with(parent)
            && sub.as_bytes()[sub.len() - parent.len() - 1] == b'.'
            && sub.parse::<std::net::IpAddr>().is_err())
}

/// The local path of a `file://` URL (`file:///abs/path` or `file://localhost/abs/path`).
pub(crate) fn file_path(url: &str) -> Result<PathBuf> {
    let p = parse(url)?;
    match p.authority {
        Some("" | "localhost") => {}
        Some(other) => return Err(invalid(url, format!("file URL with host {other:?}"))),
        None => return Err(invalid(url, "file URL must be file:///absolute/path")),
    }
    if !p.path.starts_with('/') {
        return Err(invalid(url, "file URL must be file:///absolute/path"));
    }
    Ok(PathBuf::from(percent_decode(p.path)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_url_joins_like_go_path_join() {
        for (repo, want) in [
            (
                "https://charts.example",
                "https://charts.example/index.yaml",
            ),
            (
                "https://charts.example/",
                "https://charts.example/index.yaml",
            ),
            (
                "https://charts.example/a/b",
                "https://charts.example/a/b/index.yaml",
            ),
            (
                "https://charts.example/a/b/",
                "https://charts.example/a/b/index.yaml",
            ),
            (
                "https://charts.example//a//b/./c/..",
                "https://charts.example/a/b/index.yaml",
            ),
            (
                "https://charts.example/a?sig=1&x=2",
                "https://charts.example/a/index.yaml?sig=1&x=2",
            ),
            (
                "http://127.0.0.1:8080/r#frag",
                "http://127.0.0.1:8080/r/index.yaml",
            ),
            ("file:///tmp/repo", "file:///tmp/repo/index.yaml"),
            (
                "https://u:p@charts.example/x",
                "https://u:p@charts.example/x/index.yaml",
            ),
        ] {
            assert_eq!(index_url(repo).unwrap(), want, "{repo}");
        }
        assert!(index_url("charts/relative").is_err());
        assert!(index_url("https://bad host/").is_err());
    }

    #[test]
    fn chart_urls_resolve_like_helm() {
        for (repo, reference, want) in [
            (
                "https://r.example/charts",
                "app-1.0.0.tgz",
                "https://r.example/charts/app-1.0.0.tgz",
            ),
            (
                "https://r.example/charts/",
                "app-1.0.0.tgz",
                "https://r.example/charts/app-1.0.0.tgz",
            ),
            (
                "https://r.example/charts",
                "./app-1.0.0.tgz",
                "https://r.example/charts/app-1.0.0.tgz",
            ),
            (
                "https://r.example/charts",
                "../app.tgz",
                "https://r.example/app.tgz",
            ),
            (
                "https://r.example/charts",
                "/abs/app.tgz",
                "https://r.example/abs/app.tgz",
            ),
            ("https://r.example", "app.tgz", "https://r.example/app.tgz"),
            (
                "https://r.example/charts?token=abc",
                "app.tgz?ignored=1",
                "https://r.example/charts/app.tgz?token=abc",
            ),
            (
                "https://r.example/charts",
                "//cdn.example/app.tgz",
                "https://cdn.example/app.tgz",
            ),
            (
                "https://r.example/charts",
                "https://cdn.example/app-1.0.0.tgz?x=1",
                "https://cdn.example/app-1.0.0.tgz?x=1",
            ),
            (
                "file:///srv/repo",
                "app-1.0.0.tgz",
                "file:///srv/repo/app-1.0.0.tgz",
            ),
            (
                "http://127.0.0.1:9/r",
                "charts/app%201.tgz",
                "http://127.0.0.1:9/r/charts/app%201.tgz",
            ),
        ] {
            assert_eq!(
                resolve_chart_url(repo, reference).unwrap(),
                want,
                "{repo} + {reference}"
            );
        }
        assert!(resolve_chart_url("https://r.example", "a:b/c.tgz").is_ok()); // scheme "a"
        assert!(resolve_chart_url("https://r.example", "1a:b.tgz").is_err());
    }

    #[test]
    fn references_resolve_like_go() {
        // RFC 3986 section 5.4 examples, as Go resolves them.
        let base = "http://a/b/c/d;p?q";
        for (reference, want) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("./../g", "http://a/b/g"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("https://other/x", "https://other/x"),
        ] {
            assert_eq!(
                resolve_reference(base, reference).unwrap(),
                want,
                "{reference:?}"
            );
        }
    }

    #[test]
    fn hosts_and_credentials() {
        assert_eq!(
            redact("https://u:p%40ss@h.example:8443/x?y"),
            "https://h.example:8443/x?y"
        );
        assert_eq!(redact("https://h.example/a@b"), "https://h.example/a@b");
        let (_, (user, password)) = split_userinfo("https://u:p%40ss@h/").unwrap();
        assert_eq!((user.as_str(), password.as_str()), ("u", "p@ss"));
        assert_eq!(
            host_name("https://U@Host.Example:8443/x").as_deref(),
            Some("host.example")
        );
        assert_eq!(host_name("http://[::1]:80/").as_deref(), Some("::1"));
        assert!(same_origin(
            "https://h.example/a",
            "https://h.example/b/c.tgz"
        ));
        assert!(!same_origin("https://h.example/a", "http://h.example/a"));
        assert!(!same_origin(
            "https://h.example/a",
            "https://h.example:8443/a"
        ));
        assert!(!same_origin("https://h.example/a", "https://cdn.example/a"));
        assert!(is_domain_or_subdomain("cdn.h.example", "h.example"));
        assert!(!is_domain_or_subdomain("evilh.example", "h.example"));
        assert_eq!(scheme("OCI://ghcr.io/x").as_deref(), Some("oci"));
        assert_eq!(
            file_path("file:///tmp/a%20b").unwrap(),
            PathBuf::from("/tmp/a b")
        );
        assert!(file_path("file://server/share").is_err());
        assert!(file_path("file:relative").is_err());
    }
}
