//! Values with Go's reference semantics. Helm coalesces `map[string]interface{}` values,
//! which are references: shallow copies share nested maps, and Helm's code relies on (and
//! sometimes leaks through) that sharing. Coalescing here works on this tree so the results
//! match, then converts back to immutable [`Value`]s.

use helmrelease_gotmpl::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A Go map: shared and mutable.
pub(crate) type MapRef = Rc<RefCell<BTreeMap<String, Node>>>;

/// A value: a map (by reference) or anything else (immutable, so sharing is harmless).
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Map(MapRef),
    Leaf(Value),
}

/// How deep maps may nest before coalescing gives up (values from YAML or `--set` nest far
/// less; a cycle made through `import-values` would nest forever).
pub(crate) const MAX_DEPTH: usize = 1000;

pub(crate) fn new_map() -> MapRef {
    Rc::new(RefCell::new(BTreeMap::new()))
}

impl Node {
    /// A deep copy of `v` (`copystructure.Copy`).
    pub(crate) fn from_value(v: &Value) -> Node {
        match v {
            Value::Map(m) => Node::Map(map_from(m)),
            other => Node::Leaf(other.clone()),
        }
    }

    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, Node::Leaf(Value::Nil))
    }

    #[allow(dead_code)]
    pub(crate) fn as_map(&self) -> Option<&MapRef> {
        match self {
            Node::Map(m) => Some(m),
            Node::Leaf(_) => None,
        }
    }

    /// Back to a [`Value`]; `None` when maps contain themselves, nest absurdly deep, or
    /// (through shared maps) would expand beyond [`MAX_NODES`].
    pub(crate) fn to_value(&self) -> Option<Value> {
        let mut stack = Vec::new();
        let mut budget = MAX_NODES;
        self.to_value_in(&mut stack, &mut budget)
    }

    fn to_value_in(
        &self,
        stack: &mut Vec<*const RefCell<BTreeMap<String, Node>>>,
        budget: &mut u64,
    ) -> Option<Value> {
        *budget = budget.checked_sub(1)?;
        match self {
            Node::Leaf(v) => Some(v.clone()),
            Node::Map(m) => {
                let ptr = Rc::as_ptr(m);
                if stack.contains(&ptr) || stack.len() > MAX_DEPTH {
                    return None;
                }
                stack.push(ptr);
                let entries = entries(m);
                let mut out = BTreeMap::new();
                for (k, n) in entries {
                    out.insert(k, n.to_value_in(stack, budget)?);
                }
                stack.pop();
                Some(Value::Map(Rc::new(out)))
            }
        }
    }
}

/// How many nodes a copy or conversion may visit: maps shared through `import-values` can
/// make a small tree of references expand without bound.
pub(crate) const MAX_NODES: u64 = 5_000_000;

fn map_from(m: &BTreeMap<String, Value>) -> MapRef {
    Rc::new(RefCell::new(
        m.iter()
            .map(|(k, v)| (k.clone(), Node::from_value(v)))
            .collect(),
    ))
}

/// A deep copy of a map value, or an empty map for anything else.
pub(crate) fn map_from_value(v: &Value) -> MapRef {
    match v {
        Value::Map(m) => map_from(m),
        _ => new_map(),
    }
}

/// `copystructure.Copy` of a map; `None` for a map that contains itself (Go would recurse
/// until it crashes) or that expands beyond [`MAX_NODES`].
pub(crate) fn deep_copy(m: &MapRef) -> Option<MapRef> {
    let mut budget = MAX_NODES;
    transform(m, &mut Vec::new(), &mut budget, false)
}

/// A deep copy without null map entries (Helm's `trimNilValues`), `None` as for
/// [`deep_copy`].
pub(crate) fn trim_nil_values(m: &MapRef) -> Option<MapRef> {
    let mut budget = MAX_NODES;
    transform(m, &mut Vec::new(), &mut budget, true)
}

fn transform(
    m: &MapRef,
    stack: &mut Vec<*const RefCell<BTreeMap<String, Node>>>,
    budget: &mut u64,
    trim_nil: bool,
) -> Option<MapRef> {
    let ptr = Rc::as_ptr(m);
    if stack.contains(&ptr) || stack.len() > MAX_DEPTH {
        return None;
    }
    stack.push(ptr);
    let out = new_map();
    for (k, n) in entries(m) {
        *budget = budget.checked_sub(1)?;
        let n = match n {
            Node::Map(inner) => Node::Map(transform(&inner, stack, budget, trim_nil)?),
            Node::Leaf(Value::Nil) if trim_nil => continue,
            leaf => leaf,
        };
        out.borrow_mut().insert(k, n);
    }
    stack.pop();
    Some(out)
}

/// Helm's `copyMap`: a new top level, nested maps shared.
pub(crate) fn shallow_copy(m: &MapRef) -> MapRef {
    Rc::new(RefCell::new(m.borrow().clone()))
}

/// A snapshot of the entries (so callers never hold a borrow while they recurse).
pub(crate) fn entries(m: &MapRef) -> Vec<(String, Node)> {
    m.borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn get(m: &MapRef, key: &str) -> Option<Node> {
    m.borrow().get(key).cloned()
}

pub(crate) fn set(m: &MapRef, key: &str, n: Node) {
    m.borrow_mut().insert(key.to_string(), n);
}

pub(crate) fn remove(m: &MapRef, key: &str) {
    m.borrow_mut().remove(key);
}

/// Helm's `Values.Table`: follows a dotted path of maps; on failure the error names the
/// missing element (`"x" is not a table`).
pub(crate) fn table(m: &MapRef, path: &str) -> Result<MapRef, String> {
    let mut cur = m.clone();
    for part in path.split('.') {
        let next = match get(&cur, part) {
            Some(Node::Map(inner)) => inner,
            _ => {
                return Err(format!(
                    "{} is not a table",
                    crate::chart::metadata::quote(part)
                ));
            }
        };
        cur = next;
    }
    Ok(cur)
}
