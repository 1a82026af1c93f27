//! go-yaml v2's parser (libyaml's `parser.c`): tokens to events, with the same states and the
//! same error messages and marks.

use super::scanner::{ErrorKind, Mark, Result, ScalarStyle, Scanner, SyntaxError, TokenKind};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventKind {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias {
        anchor: String,
    },
    Scalar {
        anchor: Option<String>,
        tag: Vec<u8>,
        value: String,
        /// libyaml's `plain_implicit`.
        implicit: bool,
    },
    SequenceStart {
        anchor: Option<String>,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<String>,
    },
    MappingEnd,
}

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub kind: EventKind,
    /// Where the event starts (go-yaml keeps it on nodes; kept for debugging).
    #[allow(dead_code)]
    pub start_mark: Mark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StreamStart,
    ImplicitDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    BlockNode,
    BlockSequenceFirstEntry,
    BlockSequenceEntry,
    IndentlessSequenceEntry,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingValue,
    FlowSequenceFirstEntry,
    FlowSequenceEntry,
    FlowSequenceEntryMappingKey,
    FlowSequenceEntryMappingValue,
    FlowSequenceEntryMappingEnd,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingValue,
    FlowMappingEmptyValue,
    End,
}

/// The event parser.
#[derive(Debug)]
pub(crate) struct Parser {
    scanner: Scanner,
    state: State,
    states: Vec<State>,
    marks: Vec<Mark>,
    tag_directives: Vec<(Vec<u8>, Vec<u8>)>,
}

fn parser_error(problem: &str, problem_mark: Mark) -> SyntaxError {
    SyntaxError {
        kind: ErrorKind::Parser,
        problem: problem.to_string(),
        problem_mark,
        context_mark: Mark::default(),
    }
}

fn parser_error_context(context_mark: Mark, problem: &str, problem_mark: Mark) -> SyntaxError {
    SyntaxError {
        kind: ErrorKind::Parser,
        problem: problem.to_string(),
        problem_mark,
        context_mark,
    }
}

/// A token's kind without its payload, for the parser's decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    StreamStart,
    StreamEnd,
    VersionDirective,
    TagDirective,
    DocumentStart,
    DocumentEnd,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    FlowSequenceStart,
    FlowSequenceEnd,
    FlowMappingStart,
    FlowMappingEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Alias,
    Anchor,
    Tag,
    Scalar,
}

fn kind_of(k: &TokenKind) -> T {
    match k {
        TokenKind::StreamStart => T::StreamStart,
        TokenKind::StreamEnd => T::StreamEnd,
        TokenKind::VersionDirective { .. } => T::VersionDirective,
        TokenKind::TagDirective { .. } => T::TagDirective,
        TokenKind::DocumentStart => T::DocumentStart,
        TokenKind::DocumentEnd => T::DocumentEnd,
        TokenKind::BlockSequenceStart => T::BlockSequenceStart,
        TokenKind::BlockMappingStart => T::BlockMappingStart,
        TokenKind::BlockEnd => T::BlockEnd,
        TokenKind::FlowSequenceStart => T::FlowSequenceStart,
        TokenKind::FlowSequenceEnd => T::FlowSequenceEnd,
        TokenKind::FlowMappingStart => T::FlowMappingStart,
        TokenKind::FlowMappingEnd => T::FlowMappingEnd,
        TokenKind::BlockEntry => T::BlockEntry,
        TokenKind::FlowEntry => T::FlowEntry,
        TokenKind::Key => T::Key,
        TokenKind::Value => T::Value,
        TokenKind::Alias(_) => T::Alias,
        TokenKind::Anchor(_) => T::Anchor,
        TokenKind::Tag { .. } => T::Tag,
        TokenKind::Scalar { .. } => T::Scalar,
    }
}

impl Parser {
    /// A parser over `input`.
    pub fn new(input: &str) -> Parser {
        Parser {
            scanner: Scanner::new(input),
            state: State::StreamStart,
            states: Vec::new(),
            marks: Vec::new(),
            tag_directives: Vec::new(),
        }
    }

    /// Peeks the next token: its kind and marks.
    fn peek(&mut self) -> Result<(T, Mark, Mark)> {
        let t = self.scanner.peek()?;
        Ok((kind_of(&t.kind), t.start_mark, t.end_mark))
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    fn pop_mark(&mut self) -> Mark {
        self.marks.pop().unwrap_or_default()
    }

    /// The next event, or `None` once the stream has ended.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        if self.scanner.stream_end_produced() || self.state == State::End {
            return Ok(None);
        }
        self.state_machine().map(Some)
    }

    fn state_machine(&mut self) -> Result<Event> {
        match self.state {
            State::StreamStart => self.parse_stream_start(),
            State::ImplicitDocumentStart => self.parse_document_start(true),
            State::DocumentStart => self.parse_document_start(false),
            State::DocumentContent => self.parse_document_content(),
            State::DocumentEnd => self.parse_document_end(),
            State::BlockNode => self.parse_node(true, false),
            State::BlockSequenceFirstEntry => self.parse_block_sequence_entry(true),
            State::BlockSequenceEntry => self.parse_block_sequence_entry(false),
            State::IndentlessSequenceEntry => self.parse_indentless_sequence_entry(),
            State::BlockMappingFirstKey => self.parse_block_mapping_key(true),
            State::BlockMappingKey => self.parse_block_mapping_key(false),
            State::BlockMappingValue => self.parse_block_mapping_value(),
            State::FlowSequenceFirstEntry => self.parse_flow_sequence_entry(true),
            State::FlowSequenceEntry => self.parse_flow_sequence_entry(false),
            State::FlowSequenceEntryMappingKey => self.parse_flow_sequence_entry_mapping_key(),
            State::FlowSequenceEntryMappingValue => self.parse_flow_sequence_entry_mapping_value(),
            State::FlowSequenceEntryMappingEnd => self.parse_flow_sequence_entry_mapping_end(),
            State::FlowMappingFirstKey => self.parse_flow_mapping_key(true),
            State::FlowMappingKey => self.parse_flow_mapping_key(false),
            State::FlowMappingValue => self.parse_flow_mapping_value(false),
            State::FlowMappingEmptyValue => self.parse_flow_mapping_value(true),
            State::End => Err(parser_error("no more events", Mark::default())),
        }
    }

    fn event(kind: EventKind, start_mark: Mark) -> Event {
        Event { kind, start_mark }
    }

    fn empty_scalar(mark: Mark) -> Event {
        Self::event(
            EventKind::Scalar {
                anchor: None,
                tag: Vec::new(),
                value: String::new(),
                implicit: true,
            },
            mark,
        )
    }

    fn parse_stream_start(&mut self) -> Result<Event> {
        let (t, start, _) = self.peek()?;
        if t != T::StreamStart {
            return Err(parser_error("did not find expected <stream-start>", start));
        }
        self.state = State::ImplicitDocumentStart;
        self.scanner.skip_token();
        Ok(Self::event(EventKind::StreamStart, start))
    }

    fn parse_document_start(&mut self, implicit: bool) -> Result<Event> {
        let (mut t, mut start, _) = self.peek()?;
        if !implicit {
            while t == T::DocumentEnd {
                self.scanner.skip_token();
                (t, start, _) = self.peek()?;
            }
        }
        if implicit
            && t != T::VersionDirective
            && t != T::TagDirective
            && t != T::DocumentStart
            && t != T::StreamEnd
        {
            self.process_directives()?;
            self.states.push(State::DocumentEnd);
            self.state = State::BlockNode;
            Ok(Self::event(EventKind::DocumentStart, start))
        } else if t != T::StreamEnd {
            self.process_directives()?;
            let (t, tstart, _) = self.peek()?;
            if t != T::DocumentStart {
                return Err(parser_error(
                    "did not find expected <document start>",
                    tstart,
                ));
            }
            self.states.push(State::DocumentEnd);
            self.state = State::DocumentContent;
            self.scanner.skip_token();
            Ok(Self::event(EventKind::DocumentStart, start))
        } else {
            self.state = State::End;
            self.scanner.skip_token();
            Ok(Self::event(EventKind::StreamEnd, start))
        }
    }

    fn parse_document_content(&mut self) -> Result<Event> {
        let (t, start, _) = self.peek()?;
        if matches!(
            t,
            T::VersionDirective
                | T::TagDirective
                | T::DocumentStart
                | T::DocumentEnd
                | T::StreamEnd
        ) {
            self.pop_state();
            return Ok(Self::empty_scalar(start));
        }
        self.parse_node(true, false)
    }

    fn parse_document_end(&mut self) -> Result<Event> {
        let (t, start, _) = self.peek()?;
        if t == T::DocumentEnd {
            self.scanner.skip_token();
        }
        self.tag_directives.clear();
        self.state = State::DocumentStart;
        Ok(Self::event(EventKind::DocumentEnd, start))
    }

    fn parse_node(&mut self, block: bool, indentless_sequence: bool) -> Result<Event> {
        let (t, start, _) = self.peek()?;
        if t == T::Alias {
            self.pop_state();
            let anchor = match &self.scanner.peek()?.kind {
                TokenKind::Alias(a) => a.clone(),
                _ => String::new(),
            };
            self.scanner.skip_token();
            return Ok(Self::event(EventKind::Alias { anchor }, start));
        }
        let mut anchor: Option<String> = None;
        let mut tag_token: Option<(Vec<u8>, Vec<u8>)> = None;
        let mut tag_mark = Mark::default();
        let mut t = t;
        if t == T::Anchor {
            anchor = self.take_anchor()?;
            (t, _, _) = self.peek()?;
            if t == T::Tag {
                let (_, m, _) = self.peek()?;
                tag_mark = m;
                tag_token = self.take_tag()?;
                (t, _, _) = self.peek()?;
            }
        } else if t == T::Tag {
            tag_mark = start;
            tag_token = self.take_tag()?;
            (t, _, _) = self.peek()?;
            if t == T::Anchor {
                anchor = self.take_anchor()?;
                (t, _, _) = self.peek()?;
            }
        }
        let mut tag: Vec<u8> = Vec::new();
        if let Some((handle, suffix)) = tag_token {
            if handle.is_empty() {
                tag = suffix;
            } else {
                if let Some((_, prefix)) = self.tag_directives.iter().find(|(h, _)| *h == handle) {
                    tag = prefix.clone();
                    tag.extend_from_slice(&suffix);
                }
                if tag.is_empty() {
                    return Err(parser_error_context(
                        start,
                        "found undefined tag handle",
                        tag_mark,
                    ));
                }
            }
        }
        let (_, token_start, _) = self.peek()?;
        if indentless_sequence && t == T::BlockEntry {
            self.state = State::IndentlessSequenceEntry;
            return Ok(Self::event(EventKind::SequenceStart { anchor }, start));
        }
        if t == T::Scalar {
            let (value, style) = match &self.scanner.peek()?.kind {
                TokenKind::Scalar { value, style } => (value.clone(), *style),
                _ => (String::new(), ScalarStyle::Plain),
            };
            let plain_implicit =
                (tag.is_empty() && style == ScalarStyle::Plain) || tag.as_slice() == b"!";
            self.pop_state();
            self.scanner.skip_token();
            return Ok(Self::event(
                EventKind::Scalar {
                    anchor,
                    tag,
                    value,
                    implicit: plain_implicit,
                },
                start,
            ));
        }
        if t == T::FlowSequenceStart {
            self.state = State::FlowSequenceFirstEntry;
            return Ok(Self::event(EventKind::SequenceStart { anchor }, start));
        }
        if t == T::FlowMappingStart {
            self.state = State::FlowMappingFirstKey;
            return Ok(Self::event(EventKind::MappingStart { anchor }, start));
        }
        if block && t == T::BlockSequenceStart {
            self.state = State::BlockSequenceFirstEntry;
            return Ok(Self::event(EventKind::SequenceStart { anchor }, start));
        }
        if block && t == T::BlockMappingStart {
            self.state = State::BlockMappingFirstKey;
            return Ok(Self::event(EventKind::MappingStart { anchor }, start));
        }
        if anchor.is_some() || !tag.is_empty() {
            self.pop_state();
            let implicit = tag.is_empty();
            return Ok(Self::event(
                EventKind::Scalar {
                    anchor,
                    tag,
                    value: String::new(),
                    implicit,
                },
                start,
            ));
        }
        Err(parser_error_context(
            start,
            "did not find expected node content",
            token_start,
        ))
    }

    fn take_anchor(&mut self) -> Result<Option<String>> {
        let a = match &self.scanner.peek()?.kind {
            TokenKind::Anchor(a) => Some(a.clone()),
            _ => None,
        };
        self.scanner.skip_token();
        Ok(a)
    }

    fn take_tag(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let t = match &self.scanner.peek()?.kind {
            TokenKind::Tag { handle, suffix } => Some((handle.clone(), suffix.clone())),
            _ => None,
        };
        self.scanner.skip_token();
        Ok(t)
    }

    fn parse_block_sequence_entry(&mut self, first: bool) -> Result<Event> {
        if first {
            let (_, m, _) = self.peek()?;
            self.marks.push(m);
            self.scanner.skip_token();
        }
        let (t, start, end) = self.peek()?;
        if t == T::BlockEntry {
            self.scanner.skip_token();
            let (t, _, _) = self.peek()?;
            if t != T::BlockEntry && t != T::BlockEnd {
                self.states.push(State::BlockSequenceEntry);
                return self.parse_node(true, false);
            }
            self.state = State::BlockSequenceEntry;
            return Ok(Self::empty_scalar(end));
        }
        if t == T::BlockEnd {
            self.pop_state();
            self.pop_mark();
            self.scanner.skip_token();
            return Ok(Self::event(EventKind::SequenceEnd, start));
        }
        let context = self.pop_mark();
        Err(parser_error_context(
            context,
            "did not find expected '-' indicator",
            start,
        ))
    }

    fn parse_indentless_sequence_entry(&mut self) -> Result<Event> {
        let (t, start, end) = self.peek()?;
        if t == T::BlockEntry {
            self.scanner.skip_token();
            let (t, _, _) = self.peek()?;
            if t != T::BlockEntry && t != T::Key && t != T::Value && t != T::BlockEnd {
                self.states.push(State::IndentlessSequenceEntry);
                return self.parse_node(true, false);
            }
            self.state = State::IndentlessSequenceEntry;
            return Ok(Self::empty_scalar(end));
        }
        self.pop_state();
        Ok(Self::event(EventKind::SequenceEnd, start))
    }

    fn parse_block_mapping_key(&mut self, first: bool) -> Result<Event> {
        if first {
            let (_, m, _) = self.peek()?;
            self.marks.push(m);
            self.scanner.skip_token();
        }
        let (t, start, end) = self.peek()?;
        if t == T::Key {
            self.scanner.skip_token();
            let (t, _, _) = self.peek()?;
            if t != T::Key && t != T::Value && t != T::BlockEnd {
                self.states.push(State::BlockMappingValue);
                return self.parse_node(true, true);
            }
            self.state = State::BlockMappingValue;
            return Ok(Self::empty_scalar(end));
        }
        if t == T::BlockEnd {
            self.pop_state();
            self.pop_mark();
            self.scanner.skip_token();
            return Ok(Self::event(EventKind::MappingEnd, start));
        }
        let context = self.pop_mark();
        Err(parser_error_context(
            context,
            "did not find expected key",
            start,
        ))
    }

    fn parse_block_mapping_value(&mut self) -> Result<Event> {
        let (t, start, end) = self.peek()?;
        if t == T::Value {
            self.scanner.skip_token();
            let (t, _, _) = self.peek()?;
            if t != T::Key && t != T::Value && t != T::BlockEnd {
                self.states.push(State::BlockMappingKey);
                return self.parse_node(true, true);
            }
            self.state = State::BlockMappingKey;
            return Ok(Self::empty_scalar(end));
        }
        self.state = State::BlockMappingKey;
        Ok(Self::empty_scalar(start))
    }

    fn parse_flow_sequence_entry(&mut self, first: bool) -> Result<Event> {
        if first {
            let (_, m, _) = self.peek()?;
            self.marks.push(m);
            self.scanner.skip_token();
        }
        let (mut t, mut start, _) = self.peek()?;
        if t != T::FlowSequenceEnd {
            if !first {
                if t == T::FlowEntry {
                    self.scanner.skip_token();
                    (t, start, _) = self.peek()?;
                } else {
                    let context = self.pop_mark();
                    return Err(parser_error_context(
                        context,
                        "did not find expected ',' or ']'",
                        start,
                    ));
                }
            }
            if t == T::Key {
                self.state = State::FlowSequenceEntryMappingKey;
                self.scanner.skip_token();
                return Ok(Self::event(EventKind::MappingStart { anchor: None }, start));
            } else if t != T::FlowSequenceEnd {
                self.states.push(State::FlowSequenceEntry);
                return self.parse_node(false, false);
            }
        }
        self.pop_state();
        self.pop_mark();
        self.scanner.skip_token();
        Ok(Self::event(EventKind::SequenceEnd, start))
    }

    fn parse_flow_sequence_entry_mapping_key(&mut self) -> Result<Event> {
        let (t, _, end) = self.peek()?;
        if t != T::Value && t != T::FlowEntry && t != T::FlowSequenceEnd {
            self.states.push(State::FlowSequenceEntryMappingValue);
            return self.parse_node(false, false);
        }
        self.scanner.skip_token();
        self.state = State::FlowSequenceEntryMappingValue;
        Ok(Self::empty_scalar(end))
    }

    fn parse_flow_sequence_entry_mapping_value(&mut self) -> Result<Event> {
        let (t, start, _) = self.peek()?;
        if t == T::Value {
            self.scanner.skip_token();
            let (t, _, _) = self.peek()?;
            if t != T::FlowEntry && t != T::FlowSequenceEnd {
                self.states.push(State::FlowSequenceEntryMappingEnd);
                return self.parse_node(false, false);
            }
        }
        self.state = State::FlowSequenceEntryMappingEnd;
        Ok(Self::empty_scalar(start))
    }

    fn parse_flow_sequence_entry_mapping_end(&mut self) -> Result<Event> {
        let (_, start, _) = self.peek()?;
        self.state = State::FlowSequenceEntry;
        Ok(Self::event(EventKind::MappingEnd, start))
    }

    fn parse_flow_mapping_key(&mut self, first: bool) -> Result<Event> {
        if first {
            let (_, m, _) = self.peek()?;
            self.marks.push(m);
            self.scanner.skip_token();
        }
        let (mut t, mut start, _) = self.peek()?;
        if t != T::FlowMappingEnd {
            if !first {
                if t == T::FlowEntry {
                    self.scanner.skip_token();
                    (t, start, _) = self.peek()?;
                } else {
                    let context = self.pop_mark();
                    return Err(parser_error_context(
                        context,
                        "did not find expected ',' or '}'",
                        start,
                    ));
                }
            }
            if t == T::Key {
                self.scanner.skip_token();
                let (t, start, _) = self.peek()?;
                if t != T::Value && t != T::FlowEntry && t != T::FlowMappingEnd {
                    self.states.push(State::FlowMappingValue);
                    return self.parse_node(false, false);
                }
                self.state = State::FlowMappingValue;
                return Ok(Self::empty_scalar(start));
            } else if t != T::FlowMappingEnd {
                self.states.push(State::FlowMappingEmptyValue);
                return self.parse_node(false, false);
            }
        }
        self.pop_state();
        self.pop_mark();
        self.scanner.skip_token();
        Ok(Self::event(EventKind::MappingEnd, start))
    }

    fn parse_flow_mapping_value(&mut self, empty: bool) -> Result<Event> {
        let (t, start, _) = self.peek()?;
        if empty {
            self.state = State::FlowMappingKey;
            return Ok(Self::empty_scalar(start));
        }
        if t == T::Value {
            self.scanner.skip_token();
            let (t, start, _) = self.peek()?;
            if t != T::FlowEntry && t != T::FlowMappingEnd {
                self.states.push(State::FlowMappingKey);
                return self.parse_node(false, false);
            }
            self.state = State::FlowMappingKey;
            return Ok(Self::empty_scalar(start));
        }
        self.state = State::FlowMappingKey;
        Ok(Self::empty_scalar(start))
    }

    fn process_directives(&mut self) -> Result<()> {
        let mut version_seen = false;
        loop {
            let token = self.scanner.peek()?;
            let start = token.start_mark;
            match &token.kind {
                TokenKind::VersionDirective { major, minor } => {
                    if version_seen {
                        return Err(parser_error("found duplicate %YAML directive", start));
                    }
                    if *major != 1 || *minor != 1 {
                        return Err(parser_error("found incompatible YAML document", start));
                    }
                    version_seen = true;
                }
                TokenKind::TagDirective { handle, prefix } => {
                    let (handle, prefix) = (handle.clone(), prefix.clone());
                    if self.tag_directives.iter().any(|(h, _)| *h == handle) {
                        return Err(parser_error("found duplicate %TAG directive", start));
                    }
                    self.tag_directives.push((handle, prefix));
                }
                _ => break,
            }
            self.scanner.skip_token();
        }
        for (handle, prefix) in [
            (b"!".to_vec(), b"!".to_vec()),
            (b"!!".to_vec(), b"tag:yaml.org,2002:".to_vec()),
        ] {
            if !self.tag_directives.iter().any(|(h, _)| *h == handle) {
                self.tag_directives.push((handle, prefix));
            }
        }
        Ok(())
    }
}
