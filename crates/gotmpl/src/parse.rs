//! The parser: items to trees, with Go's grammar, checks and error messages. One call parses
//! one text into its top-level tree and the trees it `define`s or `block`s.

use crate::lex::{Item, Kind, Lexer};
use crate::strconv;
use std::fmt::Write as _;
use std::rc::Rc;

/// Source text and the name errors cite (the name of the template the text was parsed for).
#[derive(Debug)]
pub(crate) struct Source {
    pub text: String,
    pub parse_name: String,
}

/// A parsed template body.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub name: String,
    pub root: Rc<List>,
    pub source: Rc<Source>,
}

/// A list of nodes.
#[derive(Debug, Default)]
pub(crate) struct List {
    pub nodes: Vec<Node>,
}

/// Statement-level nodes.
#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

/// `if`, `range` and `with`.
#[derive(Debug)]
pub(crate) struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Variable>,
    pub cmds: Vec<Command>,
}

/// A command: operands separated by spaces.
#[derive(Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A `$x.f.g` reference.
#[derive(Debug, Clone)]
pub(crate) struct Variable {
    pub pos: usize,
    pub ident: Vec<String>,
}

/// A parsed number literal, with every type it can be.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
}

/// Operands.
#[derive(Debug)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        ident: Vec<String>,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Variable(Variable),
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        number: Number,
    },
    String {
        pos: usize,
        quoted: String,
        text: Rc<str>,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Variable(v) => v.pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

// Go's String() forms, used in error messages.

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Field { ident, .. } => {
                for i in ident {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Identifier { name, .. } => write!(f, "{name}"),
            Arg::Variable(v) => write!(f, "{v}"),
            Arg::Dot { .. } => write!(f, "."),
            Arg::Nil { .. } => write!(f, "nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number { number, .. } => write!(f, "{}", number.text),
            Arg::String { quoted, .. } => write!(f, "{quoted}"),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Variable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.ident.join("."))
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(" := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for n in &self.nodes {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let branch = |f: &mut std::fmt::Formatter<'_>, name: &str, b: &Branch| {
            write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
            if let Some(e) = &b.else_list {
                write!(f, "{{{{else}}}}{e}")?;
            }
            f.write_str("{{end}}")
        };
        match self {
            Node::Text(t) => write!(f, "{}", strconv::quote(t)),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::If(b) => branch(f, "if", b),
            Node::Range(b) => branch(f, "range", b),
            Node::With(b) => branch(f, "with", b),
            Node::Template { name, pipe, .. } => {
                write!(f, "{{{{template {}", strconv::quote(name))?;
                if let Some(p) = pipe {
                    write!(f, " {p}")?;
                }
                f.write_str("}}")
            }
            Node::Break { .. } => f.write_str("{{break}}"),
            Node::Continue { .. } => f.write_str("{{continue}}"),
        }
    }
}

/// Current Go's limit on nested parenthesised expressions.
const MAX_STACK_DEPTH: usize = 10_000;

/// Why parsing stopped: the complete Go-style message.
pub(crate) type ParseError = String;

/// The node types `parse`'s top loop and item lists stop at.
enum Stop {
    End,
    Else,
}

struct Parser<'a, 'f> {
    lex: Lexer<'a>,
    token: [Item<'a>; 3],
    peek_count: usize,
    vars: Vec<String>,
    parse_name: String,
    range_depth: usize,
    stack_depth: usize,
    action_line: usize,
    has_func: &'f dyn Fn(&str) -> bool,
    source: Rc<Source>,
    trees: Vec<Tree>,
}

fn eof_item<'a>() -> Item<'a> {
    Item {
        kind: Kind::Eof,
        pos: 0,
        val: std::borrow::Cow::Borrowed(""),
        line: 0,
    }
}

/// Parses `text` as template `name`. Returns the trees it defines, the top-level tree first;
/// a tree whose name is already among them is merged by Go's rules (an empty definition never
/// replaces a non-empty one; two non-empty ones are an error).
pub(crate) fn parse(
    name: &str,
    text: &str,
    left: &str,
    right: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let source = Rc::new(Source {
        text: text.to_string(),
        parse_name: name.to_string(),
    });
    let mut lex = Lexer::new(text, left, right);
    lex.break_ok = !has_func("break");
    lex.continue_ok = !has_func("continue");
    let mut p = Parser {
        lex,
        token: [eof_item(), eof_item(), eof_item()],
        peek_count: 0,
        vars: vec!["$".to_string()],
        parse_name: name.to_string(),
        range_depth: 0,
        stack_depth: 0,
        action_line: 0,
        has_func,
        source,
        trees: Vec::new(),
    };
    let root = p.parse_top()?;
    p.add(name.to_string(), root)?;
    // The top-level tree goes first so callers can find it.
    let mut trees = p.trees;
    if let Some(i) = trees.iter().position(|t| t.name == name) {
        let top = trees.remove(i);
        trees.insert(0, top);
    }
    Ok(trees)
}

/// Go's `IsEmptyTree`: only space and comments.
pub(crate) fn is_empty_list(list: &List) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim_matches(|c: char| c.is_whitespace()).is_empty(),
        _ => false,
    })
}

impl<'a> Parser<'a, '_> {
    fn errorf(&self, message: impl std::fmt::Display) -> ParseError {
        format!(
            "template: {}:{}: {message}",
            self.parse_name, self.token[0].line
        )
    }

    fn next(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item<'a>) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item<'a>, t1: Item<'a>) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, kind: Kind, context: &str) -> Result<Item<'a>, ParseError> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn unexpected(&self, token: &Item<'_>, context: &str) -> ParseError {
        if token.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn add(&mut self, name: String, root: List) -> Result<(), ParseError> {
        if let Some(existing) = self.trees.iter_mut().find(|t| t.name == name) {
            if is_empty_list(&existing.root) {
                existing.root = Rc::new(root);
                return Ok(());
            }
            if !is_empty_list(&root) {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    strconv::quote(&name)
                )));
            }
            return Ok(());
        }
        self.trees.push(Tree {
            name,
            root: Rc::new(root),
            source: self.source.clone(),
        });
        Ok(())
    }

    fn parse_top(&mut self) -> Result<List, ParseError> {
        let mut root = List::default();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let delim = self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Ok(node) => root.nodes.push(node),
                Err(Stop::End) => return Err(self.errorf("unexpected {{end}}")),
                Err(Stop::Else) => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> Result<(), ParseError> {
        let context = "define clause";
        let name = self.next_non_space();
        if name.kind != Kind::String && name.kind != Kind::RawString {
            return Err(self.unexpected(&name, context));
        }
        let name = strconv::unquote(&name.val).map_err(|e| self.errorf(e))?;
        self.expect(Kind::RightDelim, context)?;
        // A definition has its own variable scope, and is not inside any range.
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let depth = std::mem::take(&mut self.range_depth);
        let result = self.item_list();
        self.vars = vars;
        self.range_depth = depth;
        let (list, stop) = result?;
        match stop {
            Stop::End => {}
            Stop::Else => {
                return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
            }
        }
        self.add(name, list)
    }

    fn item_list(&mut self) -> Result<(List, Stop), ParseError> {
        let mut list = List::default();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Ok(node) => list.nodes.push(node),
                Err(stop) => return Ok((list, stop)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> Result<Result<Node, Stop>, ParseError> {
        let token = self.next_non_space();
        match token.kind {
            Kind::Text => Ok(Ok(Node::Text(token.val.into_owned()))),
            Kind::LeftDelim => {
                self.action_line = token.line;
                let result = self.action();
                self.action_line = 0;
                result
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> Result<Result<Node, Stop>, ParseError> {
        let token = self.next_non_space();
        let node = match token.kind {
            Kind::Block => self.block_control()?,
            Kind::Break => self.break_control(token.pos, "break")?,
            Kind::Continue => self.break_control(token.pos, "continue")?,
            Kind::Else => return self.else_control().map(Err),
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Err(Stop::End));
            }
            Kind::If => Node::If(self.parse_control(true, "if")?),
            Kind::Range => Node::Range(self.parse_control(false, "range")?),
            Kind::Template => self.template_control()?,
            Kind::With => Node::With(self.parse_control(false, "with")?),
            _ => {
                self.backup();
                let token = self.peek();
                let pipe = self.pipeline("command", Kind::RightDelim)?;
                Node::Action {
                    pos: token.pos,
                    pipe,
                }
            }
        };
        Ok(Ok(node))
    }

    fn break_control(&mut self, pos: usize, word: &str) -> Result<Node, ParseError> {
        let token = self.next_non_space();
        if token.kind != Kind::RightDelim {
            return Err(self.unexpected(&token, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(if word == "break" {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        })
    }

    fn else_control(&mut self) -> Result<Stop, ParseError> {
        let peek = self.peek_non_space();
        // "{{else if" and (current Go) "{{else with": the keyword stays pending.
        if peek.kind == Kind::If || peek.kind == Kind::With {
            return Ok(Stop::Else);
        }
        self.expect(Kind::RightDelim, "else")?;
        Ok(Stop::Else)
    }

    fn parse_control(&mut self, allow_else_if: bool, context: &str) -> Result<Branch, ParseError> {
        let vars_len = self.vars.len();
        // Deeply nested control structures must not overflow the native stack.
        let result = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            self.parse_control_inner(allow_else_if, context)
        });
        self.vars.truncate(vars_len);
        result
    }

    fn parse_control_inner(
        &mut self,
        allow_else_if: bool,
        context: &str,
    ) -> Result<Branch, ParseError> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, stop) = listed?;
        let mut else_list = None;
        if let Stop::Else = stop {
            let chained = match self.peek().kind {
                Kind::If if allow_else_if => Some("if"),
                Kind::With if context == "with" => Some("with"),
                _ => None,
            };
            if let Some(kind) = chained {
                // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} with one {{end}}.
                self.next();
                let inner = if kind == "if" {
                    Node::If(self.parse_control(true, "if")?)
                } else {
                    Node::With(self.parse_control(false, "with")?)
                };
                else_list = Some(List { nodes: vec![inner] });
            } else {
                let (list, next) = self.item_list()?;
                if let Stop::Else = next {
                    return Err(self.errorf("expected end; found {{else}}"));
                }
                else_list = Some(list);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self) -> Result<Node, ParseError> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        // Go parses the body with a new tree; the outer tree, which reports an {{else}} in
        // the body, still stands on the block's own line.
        let block_line = self.token[0].line;
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let depth = std::mem::take(&mut self.range_depth);
        let result = self.item_list();
        self.vars = vars;
        self.range_depth = depth;
        let (list, stop) = result?;
        if let Stop::Else = stop {
            return Err(format!(
                "template: {}:{block_line}: unexpected {{{{else}}}} in {context}",
                self.parse_name
            ));
        }
        self.add(name.clone(), list)?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> Result<Node, ParseError> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            Some(self.pipeline(context, Kind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn template_name(&self, token: &Item<'_>, context: &str) -> Result<String, ParseError> {
        match token.kind {
            Kind::String | Kind::RawString => {
                strconv::unquote(&token.val).map_err(|e| self.errorf(e))
            }
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> Result<Pipe, ParseError> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            self.next();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(Variable {
                        pos: v.pos,
                        ident: vec![v.val.to_string()],
                    });
                    self.vars.push(v.val.into_owned());
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(Variable {
                        pos: v.pos,
                        ident: vec![v.val.to_string()],
                    });
                    self.vars.push(v.val.into_owned());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => {
                                continue 'decls;
                            }
                            _ => {
                                return Err(self.errorf("range can only initialize variables"));
                            }
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ if after.kind == Kind::Space => self.backup3(v, after),
                _ => self.backup2(v),
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.kind {
                k if k == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<(), ParseError> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>, ParseError> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let f = self.next();
            fields.push(f.val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field { pos, ident }
            }
            Arg::Variable(mut v) => {
                v.ident.extend(fields);
                v.pos = pos;
                Arg::Variable(v)
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    strconv::quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>, ParseError> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.kind {
            Kind::Identifier => {
                if !(self.has_func)(&token.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        strconv::quote(&token.val)
                    )));
                }
                Arg::Identifier {
                    pos,
                    name: token.val.into_owned(),
                }
            }
            Kind::Dot => Arg::Dot { pos },
            Kind::Nil => Arg::Nil { pos },
            Kind::Variable => {
                let ident: Vec<String> = token.val.split('.').map(String::from).collect();
                if !self.vars.iter().any(|v| Some(v) == ident.first()) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        strconv::quote(ident.first().map_or("", String::as_str))
                    )));
                }
                Arg::Variable(Variable { pos, ident })
            }
            Kind::Field => Arg::Field {
                pos,
                ident: token.val[1..].split('.').map(String::from).collect(),
            },
            Kind::Bool => Arg::Bool {
                pos,
                value: token.val == "true",
            },
            Kind::CharConstant | Kind::Complex | Kind::Number => Arg::Number {
                pos,
                number: self.number(&token)?,
            },
            Kind::LeftParen => {
                // Current Go bounds nesting (parse.maxStackDepth).
                if self.stack_depth >= MAX_STACK_DEPTH {
                    return Err(self.errorf("max expression depth exceeded"));
                }
                self.stack_depth += 1;
                let pipe = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    self.pipeline("parenthesized pipeline", Kind::RightParen)
                });
                self.stack_depth -= 1;
                Arg::Pipe(Box::new(pipe?))
            }
            Kind::String | Kind::RawString => {
                let text = strconv::unquote(&token.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos,
                    quoted: token.val.into_owned(),
                    text: Rc::from(text),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn number(&self, token: &Item<'_>) -> Result<Number, ParseError> {
        let text = token.val.to_string();
        if token.kind == Kind::CharConstant {
            let r = strconv::unquote_rune(&text).map_err(|e| self.errorf(e))?;
            return Ok(Number {
                text,
                int: Some(r),
                uint: Some(r as u64),
                float: Some(r as f64),
            });
        }
        if token.kind == Kind::Complex || text.ends_with('i') {
            // Complex constants are valid Go but no chart uses them; say so plainly.
            return Err(self.errorf(format!(
                "complex number {} is not supported",
                strconv::quote(&text)
            )));
        }
        let uint = parse_uint(&text);
        let int = parse_int(&text);
        let mut n = Number {
            text: text.clone(),
            int,
            uint: if int == Some(0) { Some(0) } else { uint },
            float: None,
        };
        if let Some(i) = n.int {
            n.float = Some(i as f64);
        } else if let Some(u) = n.uint {
            n.float = Some(u as f64);
        } else if let Some(f) = parse_float(&text) {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(self.errorf(format!("integer overflow: {}", strconv::quote(&text))));
            }
            n.float = Some(f);
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
            {
                n.int = Some(f as i64);
            }
            if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                n.uint = Some(f as u64);
            }
        }
        if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
            return Err(self.errorf(format!("illegal number syntax: {}", strconv::quote(&text))));
        }
        Ok(n)
    }
}

/// Go's underscore rule for number literals: only between digits, or between a base prefix
/// and a digit.
fn underscores_ok(s: &str) -> bool {
    if !s.contains('_') {
        return true;
    }
    let b = s.trim_start_matches(['+', '-']).as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'x' | b'b' | b'o') {
        hex = (b[1] | 0x20) == b'x';
        i = 2;
        saw = b'0';
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

/// (negative, radix, digits) of an integer literal in Go's base-0 syntax.
fn int_parts(s: &str) -> Option<(bool, u32, String)> {
    if !underscores_ok(s) {
        return None;
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some((neg, radix, digits))
}

fn parse_uint(s: &str) -> Option<u64> {
    let (neg, radix, digits) = int_parts(s)?;
    if neg || s.starts_with('+') {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok()
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, radix, digits) = int_parts(s)?;
    let magnitude = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for literal syntax: decimal and hexadecimal (`0x1p-2`)
/// floats, with underscores between digits.
fn parse_float(s: &str) -> Option<f64> {
    if !underscores_ok(s) {
        return None;
    }
    let clean = s.replace('_', "");
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let value = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        // Rust accepts "inf"/"nan" words and forms Go's literal syntax does not reach here.
        if !lower
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
        {
            return None;
        }
        lower.parse::<f64>().ok()?
    };
    // Go's ParseFloat reports out-of-range values as errors.
    if value.is_infinite() {
        return None;
    }
    Some(if neg { -value } else { value })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = match s.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => return None, // Go requires the p exponent in hex floats.
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> String {
        let trees = parse("t", text, "", "", &|f| f == "printf").unwrap_or_else(|e| panic!("{e}"));
        trees[0].root.to_string()
    }

    fn parse_err(text: &str) -> String {
        parse("t", text, "", "", &|f| f == "printf")
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn trees_print_like_go() {
        assert_eq!(
            parse_ok("a{{.x.y | printf \"%d\" 1}}"),
            "\"a\"{{.x.y | printf \"%d\" 1}}"
        );
        assert_eq!(
            parse_ok("{{if $x := .a}}1{{else if .b}}2{{end}}"),
            "{{if $x := .a}}\"1\"{{else}}{{if .b}}\"2\"{{end}}{{end}}"
        );
        assert_eq!(parse_ok("{{(.a).b}}"), "{{(.a).b}}");
    }

    #[test]
    fn errors_read_like_go() {
        assert_eq!(parse_err("{{.x"), "template: t:1: unclosed action");
        assert_eq!(
            parse_err("{{foo}}"),
            "template: t:1: function \"foo\" not defined"
        );
        assert_eq!(
            parse_err("{{$x}}"),
            "template: t:1: undefined variable \"$x\""
        );
        assert_eq!(parse_err("{{end}}"), "template: t:1: unexpected {{end}}");
        assert_eq!(parse_err("{{if .x}}"), "template: t:1: unexpected EOF");
        assert_eq!(
            parse_err("{{break}}"),
            "template: t:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            parse_err("{{range $a, $b, $c := .}}{{end}}"),
            "template: t:1: too many declarations in range"
        );
        assert_eq!(
            parse_err("{{.x | 3}}"),
            "template: t:1: non executable command in pipeline stage 2"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("0o17"), Some(15));
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(parse_int("1__0"), None);
        assert_eq!(parse_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_float("1e3"), Some(1000.0));
    }
}
