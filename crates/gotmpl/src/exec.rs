//! The executor: walks parsed trees over data with Go's semantics, including its distinction
//! between "no value" (an invalid `reflect.Value`: a missing map key) and a nil interface (a
//! map entry that is null), its argument checking, and its error messages.

use crate::funcs::{self, Builtin};
use crate::parse::{self, Arg, Branch, Command, List, Node, Pipe, Source, Tree, Variable};
use crate::value::{Function, Map, Type, Value};
use crate::{Error, Result, fmt as gofmt, strconv};
use std::collections::HashMap;
use std::rc::Rc;

/// Functions by name, added to templates with [`Template::funcs`].
pub type Funcs = HashMap<String, Rc<dyn Function>>;

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// "no value": prints as `<no value>`.
    #[default]
    Default,
    /// The zero value of the map's element type (for `interface{}` elements, nil).
    Zero,
    /// An execution error.
    Error,
}

/// Go's limit on nested template invocations.
const MAX_EXEC_DEPTH: usize = 100_000;

/// A set of templates sharing functions and options, like Go's `*template.Template` and its
/// associated templates.
#[derive(Clone, Default)]
pub struct Template {
    name: String,
    trees: HashMap<String, Tree>,
    funcs: Funcs,
    missing: MissingKey,
    left: String,
    right: String,
    max_steps: Option<u64>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.trees.keys().collect();
        names.sort();
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("templates", &names)
            .field("missing", &self.missing)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// A template set whose main template is `name`.
    pub fn new(name: &str) -> Template {
        Template {
            name: name.to_string(),
            ..Template::default()
        }
    }

    /// The main template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the `missingkey` option.
    pub fn missing_key(&mut self, missing: MissingKey) -> &mut Template {
        self.missing = missing;
        self
    }

    /// Stops execution with an error after this many steps (actions, commands and loop
    /// iterations). Go has no such limit; it keeps untrusted templates (`range` nested deep
    /// over large data) from running without end. Off by default.
    pub fn max_steps(&mut self, steps: u64) -> &mut Template {
        self.max_steps = Some(steps);
        self
    }

    /// Sets the action delimiters (empty strings mean `{{` and `}}`).
    pub fn delims(&mut self, left: &str, right: &str) -> &mut Template {
        self.left = left.to_string();
        self.right = right.to_string();
        self
    }

    /// Adds functions; later ones replace earlier ones of the same name. Builtins can be
    /// overridden, as in Go.
    pub fn funcs(&mut self, funcs: &Funcs) -> &mut Template {
        for (k, v) in funcs {
            self.funcs.insert(k.clone(), v.clone());
        }
        self
    }

    /// Parses `text` as the main template (`t.Parse`).
    pub fn parse(&mut self, text: &str) -> Result<&mut Template> {
        let name = self.name.clone();
        self.parse_named(&name, text)
    }

    /// Parses `text` as template `name` of this set (`t.New(name).Parse(text)`): its
    /// `define`s join the set, replacing earlier definitions unless they are empty.
    pub fn parse_named(&mut self, name: &str, text: &str) -> Result<&mut Template> {
        let funcs = &self.funcs;
        let has_func = |f: &str| funcs.contains_key(f) || Builtin::lookup(f).is_some();
        let trees =
            parse::parse(name, text, &self.left, &self.right, &has_func).map_err(Error::Parse)?;
        for tree in trees {
            // An empty new definition does not replace an existing non-empty one.
            if let Some(old) = self.trees.get(&tree.name)
                && parse::is_empty_list(&tree.root)
                && !parse::is_empty_list(&old.root)
            {
                continue;
            }
            self.trees.insert(tree.name.clone(), tree);
        }
        Ok(self)
    }

    /// Whether a template of that name is defined.
    pub fn lookup(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Names of the defined templates, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.trees.keys().cloned().collect();
        names.sort();
        names
    }

    /// Executes the main template on `data`.
    pub fn execute(&self, data: &Value) -> Result<String> {
        self.execute_template(&self.name, data)
    }

    /// Executes template `name` of the set on `data` (`t.ExecuteTemplate`).
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String> {
        let Some(tree) = self.trees.get(name) else {
            return Err(Error::Exec(if name == self.name {
                format!(
                    "template: {}: {} is an incomplete or empty template",
                    name,
                    strconv::quote(name)
                )
            } else {
                format!(
                    "template: no template {} associated with template {}",
                    strconv::quote(name),
                    strconv::quote(&self.name)
                )
            }));
        };
        // Go's reflect.ValueOf(nil) is the invalid value: nil data is "no value".
        let dot = match data {
            Value::Nil => Ev::Invalid,
            d => Ev::Val(d.clone(), false),
        };
        let mut state = State {
            tmpl: self,
            name: tree.name.as_str(),
            source: &tree.source,
            vars: vec![("$", dot.clone())],
            depth: 0,
            out: String::new(),
            at: At::None,
            steps: 0,
        };
        match state.walk_list(&dot, &tree.root) {
            Ok(()) => Ok(state.out),
            Err(Flow::Error(e)) => Err(Error::Exec(e)),
            // The parser only allows break and continue inside range.
            Err(Flow::Break | Flow::Continue) => Ok(state.out),
        }
    }
}

impl crate::value::Engine for Template {
    fn execute_template(&self, name: &str, data: &Value) -> Result<String> {
        Template::execute_template(self, name, data)
    }

    fn execute_text(&self, name: &str, text: &str, data: &Value) -> Result<String> {
        let mut copy = self.clone();
        copy.parse_named(name, text)?;
        copy.execute_template(name, data)
    }
}

/// A value as the executor sees it: Go's invalid `reflect.Value` ("no value"), or a value and
/// whether its static type is `interface{}` (an element of a map or slice, not yet unwrapped).
#[derive(Clone, Debug)]
pub(crate) enum Ev {
    Invalid,
    Val(Value, bool),
}

impl Ev {
    /// After each pipeline stage Go unwraps `interface{}` values; a nil one becomes invalid.
    fn dig(self) -> Ev {
        match self {
            Ev::Val(Value::Nil, _) => Ev::Invalid,
            Ev::Val(v, _) => Ev::Val(v, false),
            Ev::Invalid => Ev::Invalid,
        }
    }

    /// Go's `indirectInterface`: the concrete value, or `None` for nil and invalid.
    pub(crate) fn concrete(&self) -> Option<&Value> {
        match self {
            Ev::Val(Value::Nil, _) | Ev::Invalid => None,
            Ev::Val(v, _) => Some(v),
        }
    }

    /// Go's static type of the value (`interface {}` for unwrapped elements).
    fn type_name(&self) -> String {
        match self {
            Ev::Invalid => "<nil>".to_string(),
            Ev::Val(_, true) | Ev::Val(Value::Nil, _) => "interface {}".to_string(),
            Ev::Val(v, false) => v.type_name(),
        }
    }

    /// The value handed to a function taking `interface{}`: invalid becomes nil.
    fn into_value(self) -> Value {
        match self {
            Ev::Invalid => Value::Nil,
            Ev::Val(v, _) => v,
        }
    }
}

/// Non-local exits: errors, and `break`/`continue` unwinding to their `range`.
enum Flow {
    Error(String),
    Break,
    Continue,
}

type Step<T> = std::result::Result<T, Flow>;

/// The node execution is at, for error messages (Go's `state.at`).
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Node(&'t Node),
    Pipe(&'t Pipe),
    Command(&'t Command),
    Arg(&'t Arg),
    Var(&'t Variable),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::None => 0,
            At::Node(n) => match n {
                Node::Text(_) => 0,
                Node::Action { pos, .. }
                | Node::Template { pos, .. }
                | Node::Break { pos }
                | Node::Continue { pos } => *pos,
                Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
            },
            At::Pipe(p) => p.pos,
            At::Command(c) => c.pos,
            At::Arg(a) => a.pos(),
            At::Var(v) => v.pos,
        }
    }

    fn context(&self) -> String {
        match self {
            At::None => String::new(),
            At::Node(n) => n.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Command(c) => c.to_string(),
            At::Arg(a) => a.to_string(),
            At::Var(v) => v.to_string(),
        }
    }
}

struct State<'t> {
    tmpl: &'t Template,
    name: &'t str,
    source: &'t Source,
    vars: Vec<(&'t str, Ev)>,
    depth: usize,
    out: String,
    at: At<'t>,
    steps: u64,
}

/// What is being called.
enum Callee {
    Builtin(Builtin),
    Func(Rc<dyn Function>),
}

impl Callee {
    fn signature(&self) -> (std::borrow::Cow<'static, [ParamType]>, Option<ParamType>) {
        match self {
            Callee::Builtin(b) => {
                let (p, v) = b.signature();
                (std::borrow::Cow::Borrowed(p), v)
            }
            Callee::Func(f) => {
                let s = f.signature();
                (
                    std::borrow::Cow::Owned(s.params.into_iter().map(ParamType::Go).collect()),
                    s.variadic.map(ParamType::Go),
                )
            }
        }
    }
}

/// A parameter type: a Go type, or `reflect.Value` (builtins that see "no value" as such).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamType {
    Go(Type),
    Reflect,
}

impl ParamType {
    fn name(self) -> &'static str {
        match self {
            ParamType::Go(t) => t.name(),
            ParamType::Reflect => "reflect.Value",
        }
    }
}

impl<'t> State<'t> {
    fn errorf(&self, message: impl std::fmt::Display) -> Flow {
        Flow::Error(match self.at {
            At::None => format!("template: {}: {message}", self.name),
            at => {
                let pos = at.pos().min(self.source.text.len());
                let before = self.source.text.get(..pos).unwrap_or_default();
                let col = match before.rfind('\n') {
                    Some(i) => pos - (i + 1),
                    None => pos,
                };
                let line = 1 + before.matches('\n').count();
                format!(
                    "template: {}:{}:{}: executing {} at <{}>: {message}",
                    self.source.parse_name,
                    line,
                    col,
                    strconv::quote(self.name),
                    at.context()
                )
            }
        })
    }

    fn walk_list(&mut self, dot: &Ev, list: &'t List) -> Step<()> {
        for node in &list.nodes {
            self.walk(dot, node)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Ev, node: &'t Node) -> Step<()> {
        self.at = At::Node(node);
        self.count_step()?;
        match node {
            Node::Text(t) => {
                self.out.push_str(t);
                Ok(())
            }
            Node::Action { pipe, .. } => {
                let value = self.eval_pipeline(dot, Some(pipe))?;
                if pipe.decl.is_empty() {
                    self.print_value(&value);
                }
                Ok(())
            }
            Node::If(b) => self.walk_if_or_with(false, dot, b),
            Node::With(b) => self.walk_if_or_with(true, dot, b),
            Node::Range(b) => self.walk_range(dot, b),
            Node::Template { name, pipe, .. } => self.walk_template(dot, node, name, pipe.as_ref()),
            Node::Break { .. } => Err(Flow::Break),
            Node::Continue { .. } => Err(Flow::Continue),
        }
    }

    fn count_step(&mut self) -> Step<()> {
        self.steps += 1;
        match self.tmpl.max_steps {
            Some(max) if self.steps > max => Err(Flow::Error(format!(
                "template: {}: execution stopped after {max} steps",
                self.name
            ))),
            _ => Ok(()),
        }
    }

    fn print_value(&mut self, value: &Ev) {
        match value {
            Ev::Invalid => self.out.push_str("<no value>"),
            // Strings and integers print as themselves; skip the formatter for them.
            Ev::Val(Value::String(s), _) => self.out.push_str(s),
            Ev::Val(Value::Int(i, crate::IntType::Int | crate::IntType::Int64), _) => {
                use std::fmt::Write as _;
                let _ = write!(self.out, "{i}");
            }
            Ev::Val(v, _) => self.out.push_str(&gofmt::format_value(v)),
        }
    }

    fn mark(&self) -> usize {
        self.vars.len()
    }

    fn pop(&mut self, mark: usize) {
        self.vars.truncate(mark);
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Ev, b: &'t Branch) -> Step<()> {
        let mark = self.mark();
        let result = (|| {
            let value = self.eval_pipeline(dot, Some(&b.pipe))?;
            let truth = value.concrete().is_some_and(Value::truth);
            if truth {
                if with {
                    self.walk_list(&value, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(else_list) = &b.else_list {
                self.walk_list(dot, else_list)
            } else {
                Ok(())
            }
        })();
        self.pop(mark);
        result
    }

    fn walk_range(&mut self, dot: &Ev, r: &'t Branch) -> Step<()> {
        self.at = At::Pipe(&r.pipe);
        let outer = self.mark();
        let result = self.walk_range_inner(dot, r);
        self.pop(outer);
        match result {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Ev, r: &'t Branch) -> Step<()> {
        let value = self.eval_pipeline(dot, Some(&r.pipe))?;
        let mark = self.mark();
        let decls = r.pipe.decl.len();
        let assign = r.pipe.is_assign;
        let one = |state: &mut State<'t>, index: Ev, elem: Ev| -> Step<()> {
            // Current Go: `range $x = ...` assigns the existing variables; `:=` declares.
            if assign {
                let name = |i: usize| {
                    r.pipe
                        .decl
                        .get(i)
                        .and_then(|v| v.ident.first())
                        .map_or("", String::as_str)
                };
                match decls {
                    0 => {}
                    1 => state.set_var(name(0), elem.clone())?,
                    _ => {
                        state.set_var(name(0), index)?;
                        state.set_var(name(1), elem.clone())?;
                    }
                }
            } else {
                if decls > 0 {
                    state.set_top_var(1, elem.clone());
                }
                if decls > 1 {
                    state.set_top_var(2, index);
                }
            }
            state.count_step()?;
            let result = state.walk_list(&elem, &r.list);
            state.pop(mark);
            match result {
                Err(Flow::Continue) => Ok(()),
                other => other,
            }
        };
        let iterated = match value.concrete() {
            None => false,
            Some(Value::List(items)) => {
                let items = items.clone();
                for (i, item) in items.iter().enumerate() {
                    one(
                        self,
                        Ev::Val(Value::int(i as i64), false),
                        Ev::Val(item.clone(), true),
                    )?;
                }
                !items.is_empty()
            }
            Some(Value::Map(map)) => {
                // Go's range sorts a snapshot of the entries (`fmtsort.Sort`): changes the
                // body makes to the map do not change the iteration.
                let entries: Vec<(Value, Value)> = map.read(|m| {
                    m.iter()
                        .map(|(k, v)| (Value::string(k.as_str()), v.clone()))
                        .collect()
                });
                let any = !entries.is_empty();
                for (k, v) in entries {
                    one(self, Ev::Val(k, false), Ev::Val(v, true))?;
                }
                any
            }
            Some(Value::Object(o)) if o.is_map() => {
                let o = o.clone();
                let keys = o.keys();
                for k in &keys {
                    let v = o.field(k).unwrap_or_default();
                    one(
                        self,
                        Ev::Val(Value::string(k.as_str()), false),
                        Ev::Val(v, true),
                    )?;
                }
                !keys.is_empty()
            }
            // Current Go (1.22+) ranges over integers: 0..n.
            Some(Value::Int(n, t)) => {
                if decls > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        gofmt::format_value(&Value::Int(*n, *t))
                    )));
                }
                let (n, t) = (*n, *t);
                for i in 0..n.max(0) {
                    let v = Ev::Val(Value::Int(i, t), false);
                    one(self, v.clone(), v)?;
                }
                n > 0
            }
            Some(other) => {
                return Err(self.errorf(format!(
                    "range can't iterate over {}",
                    gofmt::format_value(other)
                )));
            }
        };
        if !iterated && let Some(else_list) = &r.else_list {
            return self.walk_list(dot, else_list);
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &Ev,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> Step<()> {
        self.at = At::Node(node);
        let Some(tree) = self.tmpl.trees.get(name) else {
            return Err(self.errorf(format!("template {} not defined", strconv::quote(name))));
        };
        if self.depth == MAX_EXEC_DEPTH {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let new_dot = self.eval_pipeline(dot, pipe)?;
        let mut inner = State {
            tmpl: self.tmpl,
            name: tree.name.as_str(),
            source: &tree.source,
            vars: vec![("$", new_dot.clone())],
            depth: self.depth + 1,
            out: std::mem::take(&mut self.out),
            at: At::None,
            steps: self.steps,
        };
        // Deep template recursion must not overflow the native stack.
        let result = stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, || {
            inner.walk_list(&new_dot, &tree.root)
        });
        self.out = std::mem::take(&mut inner.out);
        self.steps = inner.steps;
        result
    }

    fn eval_pipeline(&mut self, dot: &Ev, pipe: Option<&'t Pipe>) -> Step<Ev> {
        let Some(pipe) = pipe else {
            return Ok(Ev::Invalid);
        };
        self.at = At::Pipe(pipe);
        let mut value: Option<Ev> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?.dig());
        }
        let value = value.unwrap_or(Ev::Invalid);
        for var in &pipe.decl {
            let name = var.ident.first().map_or("", String::as_str);
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    fn set_var(&mut self, name: &str, value: Ev) -> Step<()> {
        for (n, v) in self.vars.iter_mut().rev() {
            if *n == name {
                *v = value;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, value: Ev) {
        let len = self.vars.len();
        if let Some(slot) = self.vars.get_mut(len.wrapping_sub(n)) {
            slot.1 = value;
        }
    }

    fn var_value(&self, name: &str) -> Step<Ev> {
        for (n, v) in self.vars.iter().rev() {
            if *n == name {
                return Ok(v.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn not_a_function(&self, args: &[Arg], has_final: bool) -> Step<()> {
        if args.len() > 1 || has_final {
            let first = args.first().map(ToString::to_string).unwrap_or_default();
            return Err(self.errorf(format!("can't give argument to non-function {first}")));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Ev, cmd: &'t Command, fin: Option<Ev>) -> Step<Ev> {
        self.count_step()?;
        let Some(first) = cmd.args.first() else {
            return Err(self.errorf("empty command"));
        };
        match first {
            Arg::Field { ident, .. } => {
                self.at = At::Arg(first);
                self.eval_field_chain(dot, dot.clone(), first, ident, &cmd.args, fin)
            }
            Arg::Chain { .. } => self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier { name, .. } => {
                self.eval_function(dot, first, name, Some(cmd), &cmd.args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, fin.is_some())?;
                self.eval_pipeline(dot, Some(p))
            }
            Arg::Variable(v) => self.eval_variable(dot, first, v, &cmd.args, fin),
            _ => {
                self.at = At::Arg(first);
                self.not_a_function(&cmd.args, fin.is_some())?;
                match first {
                    Arg::Bool { value, .. } => Ok(Ev::Val(Value::Bool(*value), false)),
                    Arg::Dot { .. } => Ok(dot.clone()),
                    Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
                    Arg::Number { number, .. } => self.ideal_constant(first, number),
                    Arg::String { text, .. } => Ok(Ev::Val(Value::String(text.clone()), false)),
                    _ => Err(self.errorf(format!(
                        "can't evaluate command {}",
                        strconv::quote(&first.to_string())
                    ))),
                }
            }
        }
    }

    fn ideal_constant(&mut self, node: &'t Arg, n: &parse::Number) -> Step<Ev> {
        self.at = At::Arg(node);
        let text = &n.text;
        let hex_int = text.len() > 2
            && text.starts_with('0')
            && matches!(text.as_bytes().get(1), Some(b'x' | b'X'))
            && !text.contains(['p', 'P']);
        let rune = text.starts_with('\'');
        if n.float.is_some() && !hex_int && !rune && text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Ev::Val(Value::Float(n.float.unwrap_or_default()), false));
        }
        if let Some(i) = n.int {
            return Ok(Ev::Val(Value::int(i), false));
        }
        if n.uint.is_some() {
            return Err(self.errorf(format!("{text} overflows int")));
        }
        Ok(Ev::Invalid)
    }

    fn eval_chain(
        &mut self,
        dot: &Ev,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> Step<Ev> {
        self.at = At::Arg(node);
        let Arg::Chain {
            node: inner,
            fields,
            ..
        } = node
        else {
            return Err(self.errorf("internal error: not a chain"));
        };
        if let Arg::Nil { .. } = inner.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {node}")));
        }
        let receiver = self.eval_arg(dot, None, inner)?;
        self.eval_field_chain(dot, receiver, node, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Ev,
        node: &'t Arg,
        v: &'t Variable,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> Step<Ev> {
        self.at = At::Var(v);
        let value = self.var_value(v.ident.first().map_or("", String::as_str))?;
        if v.ident.len() == 1 {
            self.not_a_function(args, fin.is_some())?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, node, &v.ident[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Ev,
        mut receiver: Ev,
        node: &'t Arg,
        ident: &'t [String],
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> Step<Ev> {
        let n = ident.len();
        for name in ident.iter().take(n.saturating_sub(1)) {
            receiver = self.eval_field(dot, name, node, &[], None, receiver)?;
        }
        match ident.last() {
            Some(last) => self.eval_field(dot, last, node, args, fin, receiver),
            None => Ok(receiver),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Ev,
        node: &'t Arg,
        name: &str,
        cmd: Option<&'t Command>,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> Step<Ev> {
        self.at = At::Arg(node);
        let callee = match self.tmpl.funcs.get(name) {
            Some(f) => Callee::Func(f.clone()),
            None => match Builtin::lookup(name) {
                Some(b) => Callee::Builtin(b),
                None => {
                    return Err(self.errorf(format!(
                        "{} is not a defined function",
                        strconv::quote(name)
                    )));
                }
            },
        };
        let error_at = match cmd {
            Some(c) => At::Command(c),
            None => At::Arg(node),
        };
        self.eval_call(dot, callee, error_at, name, args, fin)
    }

    fn eval_field(
        &mut self,
        dot: &Ev,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
        receiver: Ev,
    ) -> Step<Ev> {
        let (value, boxed) = match receiver {
            Ev::Invalid => {
                if self.tmpl.missing == MissingKey::Error {
                    return Err(self.errorf(format!(
                        "nil data; no entry for key {}",
                        strconv::quote(name)
                    )));
                }
                return Ok(Ev::Invalid);
            }
            Ev::Val(v, boxed) => (v, boxed),
        };
        // Only error messages need the type name: compute it lazily.
        let typ = || Ev::Val(value.clone(), boxed).type_name();
        let has_args = args.len() > 1 || fin.is_some();
        match &value {
            Value::Nil => Err(self.errorf(format!("nil pointer evaluating {}.{name}", typ()))),
            Value::Object(o) => {
                if let Some(method) = o.method(name) {
                    return self.eval_call(
                        dot,
                        Callee::Func(method),
                        At::Arg(node),
                        name,
                        args,
                        fin,
                    );
                }
                if o.is_nil() {
                    return Err(self.errorf(format!("nil pointer evaluating {}.{name}", typ())));
                }
                if o.is_map() {
                    if has_args {
                        return Err(
                            self.errorf(format!("{name} is not a method but has arguments"))
                        );
                    }
                    return match o.field(name) {
                        Some(v) => Ok(Ev::Val(v, true)),
                        None => self.missing_key(name),
                    };
                }
                match o.field(name) {
                    Some(v) => {
                        if has_args {
                            return Err(self.errorf(format!(
                                "{name} has arguments but cannot be invoked as function"
                            )));
                        }
                        Ok(Ev::Val(v, false))
                    }
                    None => {
                        Err(self.errorf(format!("can't evaluate field {name} in type {}", typ())))
                    }
                }
            }
            Value::Map(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                match m.get(name) {
                    Some(v) => Ok(Ev::Val(v, true)),
                    None => self.missing_key(name),
                }
            }
            _ => Err(self.errorf(format!("can't evaluate field {name} in type {}", typ()))),
        }
    }

    fn missing_key(&self, name: &str) -> Step<Ev> {
        match self.tmpl.missing {
            MissingKey::Default => Ok(Ev::Invalid),
            MissingKey::Zero => Ok(Ev::Val(Value::Nil, true)),
            MissingKey::Error => {
                Err(self.errorf(format!("map has no entry for key {}", strconv::quote(name))))
            }
        }
    }

    fn eval_call(
        &mut self,
        dot: &Ev,
        callee: Callee,
        error_at: At<'t>,
        name: &str,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> Step<Ev> {
        // args[0] is the function itself.
        let args = args.get(1..).unwrap_or_default();
        let (params, variadic) = callee.signature();
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if variadic.is_some() {
            if num_in < params.len() {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    params.len(),
                    args.len()
                )));
            }
            params.len()
        } else {
            if num_in != params.len() {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    params.len()
                )));
            }
            args.len()
        };
        if let Callee::Builtin(b @ (Builtin::And | Builtin::Or)) = callee {
            let mut v = Ev::Invalid;
            for arg in args {
                v = self.eval_arg(dot, Some(ParamType::Reflect), arg)?;
                if funcs::truth(&v) == (b == Builtin::Or) {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = self.validate_type(f, Some(ParamType::Reflect))?;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, params.get(i).copied(), &args[i])?);
            i += 1;
        }
        if let Some(vt) = variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vt), &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = fin {
            let t = if variadic.is_some() && num_in > num_fixed {
                variadic
            } else {
                params.get(num_in - 1).copied()
            };
            argv.push(self.validate_type(f, t)?);
        }
        let result = match callee {
            Callee::Builtin(b) => funcs::call_builtin(b, argv, &self.tmpl.funcs),
            Callee::Func(f) => {
                let values: Vec<Value> = argv.into_iter().map(Ev::into_value).collect();
                f.call_in(self.tmpl, &values).map(|v| {
                    let boxed = matches!(v, Value::Nil);
                    Ev::Val(v, boxed)
                })
            }
        };
        result.map_err(|e| {
            self.at = error_at;
            self.errorf(format!("error calling {name}: {e}"))
        })
    }

    /// Go's `evalArg`: evaluates an operand for a parameter of type `typ` (`None`: untyped).
    fn eval_arg(&mut self, dot: &Ev, typ: Option<ParamType>, n: &'t Arg) -> Step<Ev> {
        self.at = At::Arg(n);
        match n {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), typ),
            Arg::Nil { .. } => {
                return match typ {
                    Some(t) if can_be_nil(t) => Ok(zero(t)),
                    _ => Err(self.errorf(format!(
                        "cannot assign nil to {}",
                        typ.map_or("<nil>", ParamType::name)
                    ))),
                };
            }
            Arg::Field { ident, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    ident,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate_type(v, typ);
            }
            Arg::Variable(v) => {
                let value = self.eval_variable(dot, n, v, &[], None)?;
                return self.validate_type(value, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, Some(p))?;
                return self.validate_type(v, typ);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, n, name, None, &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, &[], None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        let t = match typ {
            None | Some(ParamType::Reflect) | Some(ParamType::Go(Type::Any)) => {
                return self.eval_empty_interface(dot, n);
            }
            Some(ParamType::Go(t)) => t,
        };
        match (t, n) {
            (Type::Bool, Arg::Bool { value, .. }) => Ok(Ev::Val(Value::Bool(*value), false)),
            (Type::Bool, _) => Err(self.errorf(format!("expected bool; found {n}"))),
            (Type::String, Arg::String { text, .. }) => {
                Ok(Ev::Val(Value::String(text.clone()), false))
            }
            (Type::String, _) => Err(self.errorf(format!("expected string; found {n}"))),
            (Type::Int | Type::Int64, Arg::Number { number, .. }) if number.int.is_some() => {
                let it = if t == Type::Int {
                    crate::IntType::Int
                } else {
                    crate::IntType::Int64
                };
                Ok(Ev::Val(
                    Value::Int(number.int.unwrap_or_default(), it),
                    false,
                ))
            }
            (Type::Int | Type::Int64, _) => {
                Err(self.errorf(format!("expected integer; found {n}")))
            }
            (Type::Float64, Arg::Number { number, .. }) if number.float.is_some() => Ok(Ev::Val(
                Value::Float(number.float.unwrap_or_default()),
                false,
            )),
            (Type::Float64, _) => Err(self.errorf(format!("expected float; found {n}"))),
            _ => Err(self.errorf(format!("can't handle {n} for arg of type {}", t.name()))),
        }
    }

    fn eval_empty_interface(&mut self, dot: &Ev, n: &'t Arg) -> Step<Ev> {
        self.at = At::Arg(n);
        match n {
            Arg::Bool { value, .. } => Ok(Ev::Val(Value::Bool(*value), false)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Number { number, .. } => self.ideal_constant(n, number),
            Arg::String { text, .. } => Ok(Ev::Val(Value::String(text.clone()), false)),
            Arg::Nil { .. } => Err(self.errorf("evalEmptyInterface: nil (can't happen)")),
            _ => Err(self.errorf(format!(
                "can't handle assignment of {n} to empty interface argument"
            ))),
        }
    }

    /// Go's `validateType`: checks (and converts) a value for a parameter type.
    fn validate_type(&self, value: Ev, typ: Option<ParamType>) -> Step<Ev> {
        let Some(typ) = typ else {
            return Ok(match value {
                Ev::Invalid => Ev::Invalid,
                v => v,
            });
        };
        if let Ev::Invalid = value {
            if can_be_nil(typ) {
                return Ok(zero(typ));
            }
            return Err(self.errorf(format!("invalid value; expected {}", typ.name())));
        }
        let t = match typ {
            ParamType::Reflect | ParamType::Go(Type::Any) => return Ok(value),
            ParamType::Go(t) => t,
        };
        let ok = |v: &Value| {
            matches!(
                (t, v),
                (Type::String, Value::String(_))
                    | (Type::Bool, Value::Bool(_))
                    | (Type::Int, Value::Int(_, crate::IntType::Int))
                    | (Type::Int64, Value::Int(_, crate::IntType::Int64))
                    | (Type::Float64, Value::Float(_))
                    | (Type::List, Value::List(_))
                    | (Type::Map, Value::Map(_))
            )
        };
        match &value {
            Ev::Val(v, _) if ok(v) => Ok(Ev::Val(v.clone(), false)),
            Ev::Val(Value::Nil, _) => Err(self.errorf(format!(
                "wrong type for value; expected {}; got interface {{}}",
                t.name()
            ))),
            Ev::Val(v, _) => Err(self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                t.name(),
                v.type_name()
            ))),
            Ev::Invalid => Ok(Ev::Invalid),
        }
    }
}

fn can_be_nil(t: ParamType) -> bool {
    matches!(
        t,
        ParamType::Reflect | ParamType::Go(Type::Any | Type::List | Type::Map)
    )
}

/// Go's `reflect.Zero` of a nillable type.
fn zero(t: ParamType) -> Ev {
    match t {
        ParamType::Reflect => Ev::Invalid,
        ParamType::Go(Type::List) => Ev::Val(Value::List(Rc::new(Vec::new())), false),
        ParamType::Go(Type::Map) => Ev::Val(Value::Map(Map::new()), false),
        _ => Ev::Val(Value::Nil, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(text: &str, data: serde_json::Value) -> std::result::Result<String, String> {
        let mut t = Template::new("t");
        t.parse(text).map_err(|e| e.to_string())?;
        t.execute(&Value::from_json(&data))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn no_value_and_nil_differ_as_in_go() {
        assert_eq!(run("{{.a.b}}", json!({})), Ok("<no value>".into()));
        assert_eq!(
            run("{{.a.b}}", json!({"a": null})),
            Err(
                "template: t:1:4: executing \"t\" at <.a.b>: nil pointer evaluating interface {}.b"
                    .into()
            )
        );
        assert!(run("{{len .a}}", json!({"a": null})).is_err());
    }

    #[test]
    fn step_budget_stops_runaway_templates() {
        let mut t = Template::new("t");
        t.max_steps(50);
        let parsed = t.parse("{{range .}}{{range $}}{{.}}{{end}}{{end}}");
        assert!(parsed.is_ok());
        let err = t.execute(&Value::from_json(&json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])));
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("template: t: execution stopped after 50 steps".into())
        );
    }

    #[test]
    fn later_definitions_replace_earlier_ones_unless_empty() {
        let mut t = Template::new("t");
        assert!(
            t.parse(r#"{{define "x"}}one{{end}}{{template "x"}}"#)
                .is_ok()
        );
        assert!(
            t.parse_named("other", r#"{{define "x"}}two{{end}}"#)
                .is_ok()
        );
        assert!(t.parse_named("empty", r#"{{define "x"}} {{end}}"#).is_ok());
        assert_eq!(
            t.execute(&Value::Nil).map_err(|e| e.to_string()),
            Ok("two".into())
        );
        assert_eq!(t.names(), vec!["empty", "other", "t", "x"]);
    }

    #[test]
    fn deep_recursion_reaches_gos_limit_without_overflowing() {
        let out = run(
            r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#,
            json!(1),
        );
        assert!(
            out.as_ref()
                .err()
                .is_some_and(|e| e.ends_with("exceeded maximum template depth (100000)")),
            "{out:?}"
        );
    }
}

#[cfg(test)]
mod function_tests {
    use super::*;
    use crate::value::{Engine, Signature, native};

    /// Helm's `include`, in miniature: a function that executes another template.
    struct Include;

    impl Function for Include {
        fn call(&self, _: &[Value]) -> std::result::Result<Value, String> {
            Err("include needs the engine".into())
        }

        fn call_in(
            &self,
            engine: &dyn Engine,
            args: &[Value],
        ) -> std::result::Result<Value, String> {
            let name = match args.first() {
                Some(Value::String(s)) => s.to_string(),
                _ => return Err("bad name".into()),
            };
            let data = args.get(1).cloned().unwrap_or_default();
            engine
                .execute_template(&name, &data)
                .map(Value::string)
                .map_err(|e| e.to_string())
        }

        fn signature(&self) -> Signature {
            Signature::fixed(&[Type::String, Type::Any])
        }
    }

    #[test]
    fn functions_get_checked_arguments_and_the_engine() {
        let mut funcs = Funcs::new();
        funcs.insert("include".into(), Rc::new(Include));
        funcs.insert(
            "upper".into(),
            native(
                "upper",
                Signature::fixed(&[Type::String]),
                "func(string) string",
                |a| match a.first() {
                    Some(Value::String(s)) => Ok(Value::string(s.to_uppercase())),
                    _ => Err("not a string".into()),
                },
            ),
        );
        let mut t = Template::new("t");
        t.funcs(&funcs);
        let parsed =
            t.parse(r#"{{define "x"}}<{{.}}>{{end}}{{include "x" 3 | upper}} {{upper 3}}"#);
        assert!(parsed.is_ok());
        assert_eq!(
            t.execute(&Value::Nil).map_err(|e| e.to_string()),
            Err("template: t:1:62: executing \"t\" at <3>: expected string; found 3".into())
        );
        let mut t = Template::new("t");
        t.funcs(&funcs);
        assert!(
            t.parse(r#"{{define "x"}}<{{.}}>{{end}}{{include "x" "a" | upper}}"#)
                .is_ok()
        );
        assert_eq!(
            t.execute(&Value::Nil).map_err(|e| e.to_string()),
            Ok("<A>".into())
        );
    }
}
