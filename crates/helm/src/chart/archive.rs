//! Chart archives (`.tgz`): Helm's `LoadArchiveFiles`, with its path checks and size limits.

use super::{BufferedFile, Limits};
use helmrelease_sprig::path_clean as clean;
use std::io::Read;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Go's `gzip.ErrHeader` text.
pub(crate) const GZIP_HEADER: &str = "gzip: invalid header";

/// Reads a gzipped tar into chart-relative files: the first path element (the chart's
/// folder) is dropped, `\` separators are accepted, absolute paths, `..` and drive letters
/// are refused, a UTF-8 BOM is dropped, and the decompressed size is capped per file and in
/// total. Errors are Helm's wording (Go's archive/gzip errors approximately).
pub fn read_archive_files<R: Read>(input: R, limits: &Limits) -> Result<Vec<BufferedFile>, String> {
    let mut input = std::io::BufReader::new(input);
    let head = std::io::BufRead::fill_buf(&mut input).map_err(|e| io_err(&e))?;
    if head.len() < 2 || head[0] != 0x1f || head[1] != 0x8b {
        return Err(GZIP_HEADER.to_string());
    }
    let gz = flate2::read::MultiGzDecoder::new(input);
    // Whatever the tar headers claim, never decompress more than the budget allows (plus
    // room for headers): this bounds memory for hostile archives.
    let cap = limits
        .chart_size
        .saturating_mul(2)
        .saturating_add(64 * 1024 * 1024);
    let mut capped = Capped {
        inner: gz,
        left: cap,
        hit: false,
    };
    let result = read_tar(&mut capped, limits);
    if capped.hit {
        return Err(format!(
            "decompressed chart is larger than the maximum file size {}",
            limits.chart_size
        ));
    }
    result
}

struct Capped<R> {
    inner: R,
    left: u64,
    hit: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            self.hit = true;
            return Err(std::io::Error::other("decompression limit reached"));
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

fn io_err(e: &std::io::Error) -> String {
    let s = e.to_string();
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "unexpected EOF".to_string(),
        _ if s.contains("invalid gzip header") => GZIP_HEADER.to_string(),
        _ if s.contains("corrupt deflate stream") || s.contains("invalid") => {
            format!("flate: corrupt input ({s})")
        }
        _ => s,
    }
}

fn read_tar<R: Read>(r: &mut R, limits: &Limits) -> Result<Vec<BufferedFile>, String> {
    let mut archive = tar::Archive::new(r);
    let entries = archive.entries().map_err(|e| io_err(&e))?;
    let mut files = Vec::new();
    let mut remaining = limits.chart_size as i64;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            let s = io_err(&e);
            if s.contains("numeric field") || s.contains("checksum") {
                "archive/tar: invalid tar header".to_string()
            } else {
                s
            }
        })?;
        let header = entry.header();
        let kind = header.entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        // Go's FileInfo().IsDir() is also true for a regular entry whose name ends in `/`.
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if raw_name.ends_with('/') && kind.is_file() {
            continue;
        }
        let size = header
            .size()
            .map_err(|_| "archive/tar: invalid tar header".to_string())?;
        let delimiter = if raw_name.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw_name.split(delimiter).collect();
        let joined = parts[1..].join(&delimiter.to_string());
        let n = joined.replace(delimiter, "/");
        if n.starts_with('/') {
            return Err("chart illegally contains absolute paths".to_string());
        }
        let n = clean(&n);
        if n == "." {
            return Err(format!(
                "chart illegally contains content outside the base directory: {}",
                super::metadata::quote(&raw_name)
            ));
        }
        if n.starts_with("..") {
            return Err("chart illegally references parent directory".to_string());
        }
        let b = n.as_bytes();
        if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
            return Err("chart contains illegally named files".to_string());
        }
        if parts[0] == "Chart.yaml" {
            return Err("chart yaml not in base directory".to_string());
        }
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        if size > remaining {
            return Err(format!(
                "decompressed chart is larger than the maximum file size {}",
                limits.chart_size
            ));
        }
        if size > limits.file_size as i64 {
            return Err(format!(
                "decompressed chart file {} is larger than the maximum file size {}",
                super::metadata::quote(&raw_name),
                limits.file_size
            ));
        }
        let mut buf = Vec::new();
        let written = (&mut entry)
            .take(remaining.max(0) as u64)
            .read_to_end(&mut buf)
            .map_err(|e| io_err(&e))? as i64;
        remaining -= written;
        if written < size || remaining <= 0 {
            return Err(format!(
                "decompressed chart is larger than the maximum file size {}",
                limits.chart_size
            ));
        }
        let data = match buf.strip_prefix(UTF8_BOM) {
            Some(rest) => rest.to_vec(),
            None => buf,
        };
        files.push(BufferedFile { name: n, data });
    }
    if files.is_empty() {
        return Err("no files in chart archive".to_string());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn go_clean() {
        for (a, b) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("./a//b/", "a/b"),
            ("/../a", "/a"),
        ] {
            assert_eq!(clean(a), b, "{a}");
        }
    }
}
