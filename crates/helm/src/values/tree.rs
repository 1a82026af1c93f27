//! Values with Go's reference semantics, for coalescing. Helm coalesces
//! `map[string]interface{}` values, which are references: shallow copies share nested maps,
//! and Helm's code relies on (and sometimes leaks through) that sharing. Coalescing here
//! works on a deep copy of its inputs in this tree, so the results match and the inputs (the
//! chart's default values, the user's values) never change, then converts back to fresh
//! [`Value`]s that share nothing with the inputs but keep the sharing coalescing made (a
//! map a template changes through one path changes at every path, as in Helm).

use helmrelease_gotmpl::{Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
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

    /// Back to a [`Value`], with the tree's sharing: a map shared in the tree (as Helm's
    /// coalescing shares maps) is one [`Map`] in the result, so a template that changes it
    /// changes it everywhere, as in Helm. `None` when maps contain themselves, nest absurdly
    /// deep, or (through shared maps) would expand beyond [`MAX_NODES`] when printed.
    pub(crate) fn to_value(&self) -> Option<Value> {
        let size = self.expanded_size(&mut Vec::new(), &mut HashMap::new())?;
        if size > MAX_NODES {
            return None;
        }
        Some(self.to_shared_value(&mut HashMap::new()))
    }

    /// The number of nodes with shared maps counted at every place they appear; `None` for
    /// a cycle or nesting beyond [`MAX_DEPTH`]. `sizes` remembers maps already counted.
    fn expanded_size(
        &self,
        stack: &mut Vec<*const RefCell<BTreeMap<String, Node>>>,
        sizes: &mut HashMap<*const RefCell<BTreeMap<String, Node>>, u64>,
    ) -> Option<u64> {
        let Node::Map(m) = self else {
            return Some(1);
        };
        let ptr = Rc::as_ptr(m);
        if let Some(n) = sizes.get(&ptr) {
            return Some(*n);
        }
        if stack.contains(&ptr) || stack.len() > MAX_DEPTH {
            return None;
        }
        stack.push(ptr);
        let mut n: u64 = 1;
        for (_, child) in entries(m) {
            n = n.saturating_add(child.expanded_size(stack, sizes)?);
        }
        stack.pop();
        sizes.insert(ptr, n);
        Some(n)
    }

    /// [`Node::to_value`] once checked: `done` maps each tree map to its [`Map`].
    fn to_shared_value(
        &self,
        done: &mut HashMap<*const RefCell<BTreeMap<String, Node>>, Map>,
    ) -> Value {
        match self {
            Node::Leaf(v) => v.clone(),
            Node::Map(m) => {
                let ptr = Rc::as_ptr(m);
                if let Some(map) = done.get(&ptr) {
                    return Value::Map(map.clone());
                }
                let map: Map = entries(m)
                    .into_iter()
                    .map(|(k, n)| (k, n.to_shared_value(done)))
                    .collect();
                done.insert(ptr, map.clone());
                Value::Map(map)
            }
        }
    }
}

/// How many nodes a copy or conversion may visit: maps shared through `import-values` can
/// make a small tree of references expand without bound.
pub(crate) const MAX_NODES: u64 = 5_000_000;

fn map_from(m: &Map) -> MapRef {
    Rc::new(RefCell::new(
        m.entries()
            .into_iter()
            .map(|(k, v)| (k, Node::from_value(&v)))
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
