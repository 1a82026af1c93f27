//! go-yaml v2's `Unmarshal` into `interface{}`: the node composer, aliases and merge keys,
//! YAML 1.1 scalar resolution (`resolve.go`), and the Go values that come out of it.

use super::fastmap::{FastMap, FastSet};

use super::parser::{Event, EventKind, Parser};
use super::scanner::SyntaxError;

/// A Go value as go-yaml v2 decodes it into `interface{}`.
#[derive(Debug)]
pub(crate) enum GoVal {
    /// `nil`.
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int`.
    Int(i64),
    /// `uint64` (integers above `int64`'s range).
    Uint(u64),
    /// `float64`.
    Float(f64),
    /// `string`.
    Str(String),
    /// `[]interface{}`.
    Seq(Vec<GoVal>),
    /// `map[interface{}]interface{}`.
    Map(GoMap),
}

impl GoVal {
    /// Moves the children out (leaving an empty container), for iterative traversals.
    pub fn take_children(&mut self, into: &mut Vec<GoVal>) {
        match self {
            GoVal::Seq(items) => into.append(items),
            GoVal::Map(m) => {
                m.index = None;
                for (k, v) in m.entries.drain(..) {
                    into.push(k);
                    into.push(v);
                }
            }
            _ => {}
        }
    }
}

impl Drop for GoVal {
    /// Dismantles nested values without recursion (documents may nest 10000 deep).
    fn drop(&mut self) {
        let mut stack = Vec::new();
        self.take_children(&mut stack);
        while let Some(mut v) = stack.pop() {
            v.take_children(&mut stack);
        }
    }
}

/// A key of a Go map with `interface{}` keys, as Go compares them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyId {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(u64),
    Str(String),
}

/// `map[interface{}]interface{}`: entries in insertion order, assignments to an equal key
/// replace key and value (as Go's runtime does for keys that may hold floats).
#[derive(Debug, Default)]
pub(crate) struct GoMap {
    pub entries: Vec<(GoVal, GoVal)>,
    /// Key positions, built once a map is too large to search linearly.
    index: Option<FastMap<KeyId, usize>>,
}

/// Below this many entries a linear search beats hashing (most documents' maps are small).
const INDEX_FROM: usize = 16;

fn key_id(k: &GoVal) -> Option<KeyId> {
    Some(match k {
        GoVal::Nil => KeyId::Nil,
        GoVal::Bool(b) => KeyId::Bool(*b),
        GoVal::Int(i) => KeyId::Int(*i),
        GoVal::Uint(u) => KeyId::Uint(*u),
        GoVal::Float(f) if f.is_nan() => return None,
        GoVal::Float(f) => KeyId::Float(if *f == 0.0 { 0 } else { f.to_bits() }),
        GoVal::Str(s) => KeyId::Str(s.clone()),
        GoVal::Seq(_) | GoVal::Map(_) => return None,
    })
}

/// Go's `==` on two `interface{}` map keys: same dynamic type and value (NaN never equal;
/// lists and maps cannot be keys, so they never match).
fn same_key(a: &GoVal, b: &GoVal) -> bool {
    match (a, b) {
        (GoVal::Nil, GoVal::Nil) => true,
        (GoVal::Bool(x), GoVal::Bool(y)) => x == y,
        (GoVal::Int(x), GoVal::Int(y)) => x == y,
        (GoVal::Uint(x), GoVal::Uint(y)) => x == y,
        (GoVal::Float(x), GoVal::Float(y)) => x == y,
        (GoVal::Str(x), GoVal::Str(y)) => x == y,
        _ => false,
    }
}

impl GoMap {
    /// `m[k] = v`.
    pub fn set(&mut self, k: GoVal, v: GoVal) {
        if let Some(index) = &mut self.index {
            match key_id(&k) {
                Some(id) => match index.get(&id) {
                    Some(&i) => self.entries[i] = (k, v),
                    None => {
                        index.insert(id, self.entries.len());
                        self.entries.push((k, v));
                    }
                },
                None => self.entries.push((k, v)),
            }
            return;
        }
        match self.entries.iter().position(|(e, _)| same_key(e, &k)) {
            Some(i) => self.entries[i] = (k, v),
            None => {
                self.entries.push((k, v));
                if self.entries.len() >= INDEX_FROM {
                    self.build_index();
                }
            }
        }
    }

    fn build_index(&mut self) {
        let mut index = FastMap::default();
        for (i, (k, _)) in self.entries.iter().enumerate() {
            if let Some(id) = key_id(k) {
                index.insert(id, i);
            }
        }
        self.index = Some(index);
    }

    /// A map of keys already known to be distinct strings, taken as they are.
    pub fn from_distinct(entries: Vec<(GoVal, GoVal)>) -> GoMap {
        let mut m = GoMap {
            entries,
            index: None,
        };
        if m.entries.len() >= INDEX_FROM {
            m.build_index();
        }
        m
    }
}

/// A decoding failure: a syntax error or one of go-yaml's `failf` messages (with `yaml: `).
pub(crate) fn fail(msg: impl Into<String>) -> String {
    format!("yaml: {}", msg.into())
}

// ---- composer ------------------------------------------------------------------------------

#[derive(Debug)]
enum NodeKind {
    Scalar {
        value: String,
        tag: Vec<u8>,
        implicit: bool,
    },
    Sequence(Vec<usize>),
    Mapping(Vec<usize>),
    Alias {
        name: String,
        target: usize,
    },
}

#[derive(Debug)]
struct Node {
    kind: NodeKind,
}

struct Composer {
    parser: Parser,
    event: Option<Event>,
    nodes: Vec<Node>,
    anchors: FastMap<String, usize>,
}

fn syntax(e: SyntaxError) -> String {
    e.message()
}

impl Composer {
    fn peek(&mut self) -> Result<&Event, String> {
        if self.event.is_none() {
            match self.parser.next_event().map_err(syntax)? {
                Some(e) => self.event = Some(e),
                None => {
                    return Err(fail(
                        "attempted to go past the end of stream; corrupted value?",
                    ));
                }
            }
        }
        self.event
            .as_ref()
            .ok_or_else(|| fail("attempted to go past the end of stream; corrupted value?"))
    }

    fn take(&mut self) -> Result<Event, String> {
        self.peek()?;
        self.event
            .take()
            .ok_or_else(|| fail("attempted to go past the end of stream; corrupted value?"))
    }

    fn push(&mut self, kind: NodeKind) -> usize {
        self.nodes.push(Node { kind });
        self.nodes.len() - 1
    }

    fn anchor(&mut self, anchor: Option<String>, id: usize) {
        if let Some(a) = anchor {
            self.anchors.insert(a, id);
        }
    }

    /// The first document's root node, or `None` for an empty stream.
    fn document(&mut self) -> Result<Option<usize>, String> {
        let first = self.take()?;
        if first.kind != EventKind::StreamStart {
            return Err(fail("expected STREAM-START"));
        }
        match self.peek()?.kind {
            EventKind::StreamEnd => Ok(None),
            EventKind::DocumentStart => {
                self.take()?;
                let root = self.node()?;
                match self.take()?.kind {
                    EventKind::DocumentEnd => Ok(Some(root)),
                    EventKind::StreamEnd => Err(fail(
                        "attempted to go past the end of stream; corrupted value?",
                    )),
                    _ => Err(fail("expected DOCUMENT-END")),
                }
            }
            _ => Err(fail("expected DOCUMENT-START")),
        }
    }

    fn node(&mut self) -> Result<usize, String> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.node_inner())
    }

    fn node_inner(&mut self) -> Result<usize, String> {
        let event = self.take()?;
        match event.kind {
            EventKind::Scalar {
                anchor,
                tag,
                value,
                implicit,
            } => {
                let id = self.push(NodeKind::Scalar {
                    value,
                    tag,
                    implicit,
                });
                self.anchor(anchor, id);
                Ok(id)
            }
            EventKind::Alias { anchor } => match self.anchors.get(&anchor) {
                Some(&target) => Ok(self.push(NodeKind::Alias {
                    name: anchor,
                    target,
                })),
                None => Err(fail(format!("unknown anchor '{anchor}' referenced"))),
            },
            EventKind::SequenceStart { anchor } => {
                let id = self.push(NodeKind::Sequence(Vec::new()));
                self.anchor(anchor, id);
                let mut children = Vec::new();
                loop {
                    if self.peek()?.kind == EventKind::SequenceEnd {
                        self.take()?;
                        break;
                    }
                    children.push(self.node()?);
                }
                self.nodes[id].kind = NodeKind::Sequence(children);
                Ok(id)
            }
            EventKind::MappingStart { anchor } => {
                let id = self.push(NodeKind::Mapping(Vec::new()));
                self.anchor(anchor, id);
                let mut children = Vec::new();
                loop {
                    if self.peek()?.kind == EventKind::MappingEnd {
                        self.take()?;
                        break;
                    }
                    children.push(self.node()?);
                    children.push(self.node()?);
                }
                self.nodes[id].kind = NodeKind::Mapping(children);
                Ok(id)
            }
            EventKind::StreamEnd => Err(fail(
                "attempted to go past the end of stream; corrupted value?",
            )),
            _ => Err(fail("unexpected event")),
        }
    }
}

// ---- decoder -------------------------------------------------------------------------------

const LONG_TAG_PREFIX: &[u8] = b"tag:yaml.org,2002:";
const STR_TAG: &[u8] = b"tag:yaml.org,2002:str";
const BOOL_TAG: &[u8] = b"tag:yaml.org,2002:bool";
const INT_TAG: &[u8] = b"tag:yaml.org,2002:int";
const FLOAT_TAG: &[u8] = b"tag:yaml.org,2002:float";
const NULL_TAG: &[u8] = b"tag:yaml.org,2002:null";
const TIMESTAMP_TAG: &[u8] = b"tag:yaml.org,2002:timestamp";
const BINARY_TAG: &[u8] = b"tag:yaml.org,2002:binary";
const MERGE_TAG: &[u8] = b"tag:yaml.org,2002:merge";

fn short_tag(tag: &[u8]) -> String {
    match tag.strip_prefix(LONG_TAG_PREFIX) {
        Some(rest) => format!("!!{}", String::from_utf8_lossy(rest)),
        None => String::from_utf8_lossy(tag).into_owned(),
    }
}

struct Decoder<'a> {
    nodes: &'a [Node],
    aliases: FastSet<usize>,
    decode_count: usize,
    alias_count: usize,
    alias_depth: usize,
}

fn allowed_alias_ratio(decode_count: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

impl Decoder<'_> {
    fn count(&mut self) -> Result<(), String> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err(fail("document contains excessive aliasing"));
        }
        Ok(())
    }

    /// `d.unmarshal(n, out)` with `out` an `interface{}`.
    fn value(&mut self, n: usize) -> Result<GoVal, String> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.value_inner(n))
    }

    fn value_inner(&mut self, n: usize) -> Result<GoVal, String> {
        self.count()?;
        let nodes = self.nodes;
        match &nodes[n].kind {
            NodeKind::Alias { name, target } => {
                self.enter_alias(n, name)?;
                let v = self.value(*target);
                self.leave_alias(n);
                v
            }
            NodeKind::Scalar {
                value,
                tag,
                implicit,
            } => scalar(value, tag, *implicit),
            NodeKind::Sequence(children) => {
                let mut out = Vec::with_capacity(children.len());
                for &c in children {
                    out.push(self.value(c)?);
                }
                Ok(GoVal::Seq(out))
            }
            NodeKind::Mapping(children) => {
                let mut map = GoMap::default();
                self.fill_mapping(children, &mut map)?;
                Ok(GoVal::Map(map))
            }
        }
    }

    fn enter_alias(&mut self, n: usize, name: &str) -> Result<(), String> {
        if !self.aliases.insert(n) {
            return Err(fail(format!("anchor '{name}' value contains itself")));
        }
        self.alias_depth += 1;
        Ok(())
    }

    fn leave_alias(&mut self, n: usize) {
        self.alias_depth -= 1;
        self.aliases.remove(&n);
    }

    /// `d.unmarshal(n, out)` with `out` an existing map (a merge source).
    fn merge_into(&mut self, n: usize, map: &mut GoMap) -> Result<(), String> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.merge_into_inner(n, map))
    }

    fn merge_into_inner(&mut self, n: usize, map: &mut GoMap) -> Result<(), String> {
        self.count()?;
        let nodes = self.nodes;
        match &nodes[n].kind {
            NodeKind::Alias { name, target } => {
                self.enter_alias(n, name)?;
                let r = self.merge_into(*target, map);
                self.leave_alias(n);
                r
            }
            NodeKind::Mapping(children) => self.fill_mapping(children, map),
            // merge() only passes mappings (or aliases of mappings) here.
            _ => Err(fail(
                "map merge requires map or sequence of maps as the value",
            )),
        }
    }

    fn fill_mapping(&mut self, children: &[usize], map: &mut GoMap) -> Result<(), String> {
        let nodes = self.nodes;
        for pair in children.chunks(2) {
            let (k, v) = match pair {
                [k, v] => (*k, *v),
                _ => break,
            };
            if is_merge(&nodes[k].kind) {
                self.merge(v, map)?;
                continue;
            }
            let key = self.value(k)?;
            if matches!(key, GoVal::Map(_) | GoVal::Seq(_)) {
                return Err(fail(format!("invalid map key: {}", go_syntax(&key))));
            }
            let value = self.value(v)?;
            map.set(key, value);
        }
        Ok(())
    }

    fn merge(&mut self, n: usize, map: &mut GoMap) -> Result<(), String> {
        let nodes = self.nodes;
        let want_map = || fail("map merge requires map or sequence of maps as the value");
        let is_mapping = |id: usize| matches!(nodes[id].kind, NodeKind::Mapping(_));
        match &nodes[n].kind {
            NodeKind::Mapping(_) => self.merge_into(n, map),
            NodeKind::Alias { target, .. } => {
                if !is_mapping(*target) {
                    return Err(want_map());
                }
                self.merge_into(n, map)
            }
            NodeKind::Sequence(children) => {
                for &c in children.iter().rev() {
                    match &nodes[c].kind {
                        NodeKind::Alias { target, .. } => {
                            if !is_mapping(*target) {
                                return Err(want_map());
                            }
                        }
                        NodeKind::Mapping(_) => {}
                        _ => return Err(want_map()),
                    }
                    self.merge_into(c, map)?;
                }
                Ok(())
            }
            NodeKind::Scalar { .. } => Err(want_map()),
        }
    }
}

fn is_merge(kind: &NodeKind) -> bool {
    matches!(kind, NodeKind::Scalar { value, tag, implicit }
        if value == "<<" && (*implicit || tag.as_slice() == MERGE_TAG))
}

fn scalar(value: &str, tag: &[u8], implicit: bool) -> Result<GoVal, String> {
    if tag.is_empty() && !implicit {
        return Ok(GoVal::Str(value.to_string()));
    }
    let (rtag, resolved) = resolve(tag, value)?;
    if rtag == BINARY_TAG {
        return match decode_base64(value) {
            Some(bytes) => Ok(GoVal::Str(go_lossy_utf8(&bytes))),
            None => Err(fail("!!binary value contains invalid base64 data")),
        };
    }
    if rtag == TIMESTAMP_TAG {
        return Ok(GoVal::Str(value.to_string()));
    }
    Ok(resolved)
}

/// Bytes to a Go string as `encoding/json` writes it: each invalid byte becomes U+FFFD.
pub(crate) fn go_lossy_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{fffd}');
                rest = &bad[1..];
            }
        }
    }
    out
}

/// Go's `base64.StdEncoding.DecodeString` (line breaks are ignored, padding required).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let vals: Vec<u8> = s.bytes().filter(|&b| b != b'\r' && b != b'\n').collect();
    let digit = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => u32::from(b - b'A'),
            b'a'..=b'z' => u32::from(b - b'a') + 26,
            b'0'..=b'9' => u32::from(b - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    if !vals.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(vals.len() / 4 * 3);
    let quanta = vals.len() / 4;
    for (qi, q) in vals.chunks(4).enumerate() {
        let last = qi + 1 == quanta;
        let pad = q.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &b in &q[..4 - pad] {
            n = (n << 6) | digit(b)?;
        }
        match pad {
            0 => out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]),
            1 => {
                n <<= 6;
                out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
            }
            _ => {
                n <<= 12;
                out.push((n >> 16) as u8);
            }
        }
    }
    Some(out)
}

// ---- resolve -------------------------------------------------------------------------------

fn resolvable_tag(tag: &[u8]) -> bool {
    tag.is_empty()
        || tag == STR_TAG
        || tag == BOOL_TAG
        || tag == INT_TAG
        || tag == FLOAT_TAG
        || tag == NULL_TAG
        || tag == TIMESTAMP_TAG
}

fn resolve_map(s: &str) -> Option<(&'static [u8], GoVal)> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            (BOOL_TAG, GoVal::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            (BOOL_TAG, GoVal::Bool(false))
        }
        "" | "~" | "null" | "Null" | "NULL" => (NULL_TAG, GoVal::Nil),
        ".nan" | ".NaN" | ".NAN" => (FLOAT_TAG, GoVal::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (FLOAT_TAG, GoVal::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => (FLOAT_TAG, GoVal::Float(f64::NEG_INFINITY)),
        "<<" => (MERGE_TAG, GoVal::Str("<<".to_string())),
        _ => return None,
    })
}

/// go-yaml's `resolve(tag, in)`: the tag a scalar resolves to and its Go value.
pub(crate) fn resolve(tag: &[u8], input: &str) -> Result<(Vec<u8>, GoVal), String> {
    if !resolvable_tag(tag) {
        return Ok((tag.to_vec(), GoVal::Str(input.to_string())));
    }
    let (rtag, out) = resolve_plain(tag, input);
    if tag.is_empty() || tag == rtag || tag == STR_TAG || tag == BINARY_TAG {
        return Ok((rtag.to_vec(), out));
    }
    if tag == FLOAT_TAG
        && rtag == INT_TAG
        && let GoVal::Int(i) = out
    {
        return Ok((FLOAT_TAG.to_vec(), GoVal::Float(i as f64)));
    }
    Err(fail(format!(
        "cannot decode {} `{}` as a {}",
        short_tag(rtag),
        input,
        short_tag(tag)
    )))
}

fn resolve_plain(tag: &[u8], input: &str) -> (&'static [u8], GoVal) {
    let hint = match input.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint != 0 && tag != STR_TAG && tag != BINARY_TAG {
        if let Some(r) = resolve_map(input) {
            return r;
        }
        match hint {
            b'.' => {
                if let Some(f) = go_parse_float(input) {
                    return (FLOAT_TAG, GoVal::Float(f));
                }
            }
            b'D' | b'S' => {
                if (tag.is_empty() || tag == TIMESTAMP_TAG) && parse_timestamp(input) {
                    return (TIMESTAMP_TAG, GoVal::Str(input.to_string()));
                }
                let plain = input.replace('_', "");
                if let Some(i) = go_parse_int(&plain, 0) {
                    return (INT_TAG, GoVal::Int(i));
                }
                if let Some(u) = go_parse_uint(&plain, 0) {
                    return (INT_TAG, GoVal::Uint(u));
                }
                if yaml_style_float(&plain)
                    && let Some(f) = go_parse_float(&plain)
                {
                    return (FLOAT_TAG, GoVal::Float(f));
                }
                if let Some(rest) = plain.strip_prefix("0b") {
                    if let Some(i) = go_parse_int(rest, 2) {
                        return (INT_TAG, GoVal::Int(i));
                    }
                    if let Some(u) = go_parse_uint(rest, 2) {
                        return (INT_TAG, GoVal::Uint(u));
                    }
                } else if let Some(rest) = plain.strip_prefix("-0b")
                    && let Some(i) = go_parse_int(&format!("-{rest}"), 2)
                {
                    return (INT_TAG, GoVal::Int(i));
                }
            }
            _ => {}
        }
    }
    (STR_TAG, GoVal::Str(input.to_string()))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if matches!(b.first(), Some(b'+' | b'-')) {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input (`None` on syntax or range errors).
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let lower = s[i..].to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    let mut j = i;
    let mut mant_digits = 0;
    let mut underscores = false;
    let mut seen_dot = false;
    while j < b.len() {
        match b[j] {
            b'_' => underscores = true,
            b'.' if !seen_dot => seen_dot = true,
            c if c.is_ascii_digit() => mant_digits += 1,
            _ => break,
        }
        j += 1;
    }
    if mant_digits == 0 {
        return None;
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        j += 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let mut exp_digits = 0;
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'_') {
            if b[j] == b'_' {
                underscores = true;
            } else {
                exp_digits += 1;
            }
            j += 1;
        }
        if exp_digits == 0 {
            return None;
        }
    }
    if j != b.len() || (underscores && !underscore_ok(s)) {
        return None;
    }
    let f: f64 = s.replace('_', "").parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

fn digits_in_base(s: &str, base: u32) -> Option<u128> {
    if s.is_empty() {
        return None;
    }
    let mut n: u128 = 0;
    for c in s.chars() {
        let d = c.to_digit(base)?;
        n = n
            .checked_mul(u128::from(base))?
            .checked_add(u128::from(d))?;
        if n > u128::from(u64::MAX) + 1 {
            // Keep going only to validate digits; the value is out of range anyway.
            n = u128::from(u64::MAX) + 2;
        }
    }
    Some(n)
}

/// The magnitude of `s` per Go's `ParseUint(s, base, 64)` rules for prefixes (base 0).
fn go_magnitude(s: &str, base: u32) -> Option<u128> {
    if base != 0 {
        return digits_in_base(s, base);
    }
    let b = s.as_bytes();
    if b.first() == Some(&b'0') && b.len() > 1 {
        match b[1] {
            b'x' | b'X' => return digits_in_base(&s[2..], 16),
            b'o' | b'O' => return digits_in_base(&s[2..], 8),
            b'b' | b'B' => return digits_in_base(&s[2..], 2),
            _ => return digits_in_base(&s[1..], 8),
        }
    }
    digits_in_base(s, 10)
}

/// Go's `strconv.ParseInt(s, base, 64)` (`base` 0 reads Go prefixes; no underscores).
pub(crate) fn go_parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let m = go_magnitude(body, base)?;
    if neg {
        if m <= 1u128 << 63 {
            Some((m as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if m < 1u128 << 63 {
        Some(m as i64)
    } else {
        None
    }
}

/// Go's `strconv.ParseUint(s, base, 64)` (no sign allowed).
pub(crate) fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
    let m = go_magnitude(s, base)?;
    u64::try_from(m).ok()
}

/// go-yaml's `parseTimestamp`: whether `s` is a timestamp in one of the four accepted
/// layouts, with Go's `time.Parse` field rules and range checks.
pub(crate) fn parse_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let i = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if i != 4 || i == b.len() || b[i] != b'-' {
        return false;
    }
    // Layouts: date + ('T'|'t') time zone, date ' ' time, date.
    parse_layout(b, Some(b'T'), true)
        || parse_layout(b, Some(b't'), true)
        || parse_layout(b, Some(b' '), false)
        || parse_layout(b, None, false)
}

/// `getnum`: one or two digits.
fn getnum(b: &[u8], pos: &mut usize) -> Option<u32> {
    let d0 = *b.get(*pos)?;
    if !d0.is_ascii_digit() {
        return None;
    }
    match b.get(*pos + 1) {
        Some(d1) if d1.is_ascii_digit() => {
            *pos += 2;
            Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
        }
        _ => {
            *pos += 1;
            Some(u32::from(d0 - b'0'))
        }
    }
}

fn parse_layout(b: &[u8], sep: Option<u8>, zone: bool) -> bool {
    let year: u32 = match std::str::from_utf8(&b[..4])
        .ok()
        .and_then(|y| y.parse().ok())
    {
        Some(y) => y,
        None => return false,
    };
    let mut p = 4;
    let lit = |p: &mut usize, c: u8| -> bool {
        if b.get(*p) == Some(&c) {
            *p += 1;
            true
        } else {
            false
        }
    };
    if !lit(&mut p, b'-') {
        return false;
    }
    let Some(month) = getnum(b, &mut p) else {
        return false;
    };
    if !(1..=12).contains(&month) {
        return false;
    }
    if !lit(&mut p, b'-') {
        return false;
    }
    let Some(day) = getnum(b, &mut p) else {
        return false;
    };
    if let Some(sep) = sep {
        if !lit(&mut p, sep) {
            return false;
        }
        let Some(hour) = getnum(b, &mut p) else {
            return false;
        };
        if hour >= 24 || !lit(&mut p, b':') {
            return false;
        }
        let Some(min) = getnum(b, &mut p) else {
            return false;
        };
        if min >= 60 || !lit(&mut p, b':') {
            return false;
        }
        let Some(sec) = getnum(b, &mut p) else {
            return false;
        };
        if sec >= 60 {
            return false;
        }
        // Optional fraction: '.' or ',' then any number of digits.
        if p + 1 < b.len() && (b[p] == b'.' || b[p] == b',') && b[p + 1].is_ascii_digit() {
            p += 1;
            while p < b.len() && b[p].is_ascii_digit() {
                p += 1;
            }
        }
        if zone {
            if b.get(p) == Some(&b'Z') {
                p += 1;
            } else {
                if b.len() < p + 6 || b[p + 3] != b':' {
                    return false;
                }
                if b[p] != b'+' && b[p] != b'-' {
                    return false;
                }
                let two = |q: usize| -> Option<u32> {
                    let (x, y) = (b[q], b[q + 1]);
                    if x.is_ascii_digit() && y.is_ascii_digit() {
                        Some(u32::from(x - b'0') * 10 + u32::from(y - b'0'))
                    } else {
                        None
                    }
                };
                let (Some(hh), Some(mm)) = (two(p + 1), two(p + 4)) else {
                    return false;
                };
                if hh > 24 || mm > 60 {
                    return false;
                }
                p += 6;
            }
        }
    }
    if p != b.len() {
        return false;
    }
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days).contains(&day)
}

/// Go's `%#v` of a decoded value (for go-yaml's `invalid map key` message).
pub(crate) fn go_syntax(v: &GoVal) -> String {
    match v {
        GoVal::Nil => "interface {}(nil)".to_string(),
        GoVal::Bool(b) => b.to_string(),
        GoVal::Int(i) => i.to_string(),
        GoVal::Uint(u) => format!("0x{u:x}"),
        GoVal::Float(f) => helmrelease_gotmpl::fmt::format_float(*f, 'g', -1),
        GoVal::Str(s) => helmrelease_gotmpl::strconv::quote(s),
        GoVal::Seq(items) => {
            let inner: Vec<String> = items.iter().map(go_syntax).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        GoVal::Map(m) => {
            let mut entries: Vec<(String, String)> = m
                .entries
                .iter()
                .map(|(k, v)| (go_syntax(k), go_syntax(v)))
                .collect();
            entries.sort();
            let inner: Vec<String> = entries.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("map[interface {{}}]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

/// go-yaml v2's `Unmarshal(text, &v)` with `v` an `interface{}`: the first document only
/// (later documents are not even scanned beyond what the first one needs). `Ok(None)` for a
/// stream without documents, where `v` stays nil.
pub(crate) fn unmarshal(text: &str) -> Result<Option<GoVal>, String> {
    let mut composer = Composer {
        parser: Parser::new(text),
        event: None,
        nodes: Vec::new(),
        anchors: FastMap::default(),
    };
    let Some(root) = composer.document()? else {
        return Ok(None);
    };
    let mut decoder = Decoder {
        nodes: &composer.nodes,
        aliases: FastSet::default(),
        decode_count: 1,
        alias_count: 0,
        alias_depth: 0,
    };
    decoder.value(root).map(Some)
}
