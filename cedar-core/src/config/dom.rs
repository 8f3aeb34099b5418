//! A small XML tree, read with quick-xml and checked for well-formedness the way a strict XML
//! parser (expat, which the original uses) checks it, and written back as text.
//!
//! Only what the reading rules need is kept: elements (with their qualified names and
//! attributes), text nodes, CDATA sections, comments and processing instructions, in document
//! order. Adjacent character data (text and entity references) forms one text node; a comment,
//! CDATA section, processing instruction or element between two runs of text splits them, which
//! is what makes `da<!-- x -->ily` read as `da`.

use std::cell::Cell;
use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::clip::clip;

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    /// Character data with entity and character references replaced, line ends normalized.
    Text(String),
    /// `<![CDATA[...]]>`: not a text node for the reading rules.
    CData(String),
    Comment(String),
    /// A processing instruction, target and data as written.
    Pi(String),
}

/// An element with its children in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    /// The qualified name as written (`options`, `a:options`).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Element {
    pub(crate) fn new(name: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The first text node among the children, if any (whitespace-only text counts).
    pub(crate) fn first_text(&self) -> Option<&str> {
        self.children.iter().find_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// Direct child elements, in order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Direct child elements called `name`, in order.
    pub(crate) fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.name == name)
    }

    pub(crate) fn has_element_children(&self) -> bool {
        self.elements().next().is_some()
    }

    /// Writes the element and its subtree at `indent` levels of three spaces.
    pub(crate) fn write(&self, out: &mut String, indent: usize) {
        push_indent(out, indent);
        self.write_inline(out, indent, false);
        out.push('\n');
    }

    /// Writes the element exactly as it was read: no layout is added, so reading it back
    /// gives the same tree.
    pub(crate) fn write_exact(&self, out: &mut String) {
        self.write_inline(out, 0, true);
    }

    fn write_inline(&self, out: &mut String, indent: usize, exact: bool) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_into(out, v, true);
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        // Elements that hold any character data are written exactly as they are (the first
        // text node is a value, even when it is only blanks); pure containers are indented.
        let mixed = exact
            || self
                .children
                .iter()
                .any(|n| matches!(n, Node::Text(_) | Node::CData(_)))
            || !self.has_element_children();
        if mixed {
            for child in &self.children {
                match child {
                    Node::Element(e) => e.write_inline(out, indent + 1, true),
                    other => write_leaf(out, other),
                }
            }
        } else {
            out.push('\n');
            for child in &self.children {
                match child {
                    Node::Element(e) => e.write(out, indent + 1),
                    Node::Text(_) => {}
                    other => {
                        push_indent(out, indent + 1);
                        write_leaf(out, other);
                        out.push('\n');
                    }
                }
            }
            push_indent(out, indent);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

fn push_indent(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("   ");
    }
}

fn write_leaf(out: &mut String, node: &Node) {
    match node {
        Node::Text(t) => escape_into(out, t, false),
        Node::CData(t) => {
            // `]]>` cannot occur inside one section: split it across two.
            out.push_str("<![CDATA[");
            out.push_str(&t.replace("]]>", "]]]]><![CDATA[>"));
            out.push_str("]]>");
        }
        Node::Comment(t) => {
            out.push_str("<!--");
            out.push_str(t);
            out.push_str("-->");
        }
        Node::Pi(t) => {
            out.push_str("<?");
            out.push_str(t);
            out.push_str("?>");
        }
        Node::Element(_) => unreachable!("elements are written by the caller"),
    }
}

/// Escapes character data so that reading it back gives the same text: markup characters,
/// and carriage returns, which a parser would otherwise turn into line feeds.
pub(crate) fn escape_into(out: &mut String, text: &str, attr: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// A well-formedness error or a limit hit, with a 1-based line and column.
#[derive(Debug)]
pub(crate) struct XmlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// Whether the document broke one of the [`limits`] rather than the rules of XML.
    pub limit: bool,
    pub source: Option<quick_xml::Error>,
}

/// What the parser accepts at most. A real configuration has a few thousand elements nested a
/// few levels deep and uses an entity or two, if any; these bounds are far above that and keep
/// a hostile document (an entity "bomb", millions of elements, deep nesting) within a few
/// tens of MB and a fraction of a second.
pub(crate) mod limits {
    /// How deep elements may nest, the root counting as one.
    pub const MAX_NESTING: usize = 100;
    /// How many elements a document may have.
    pub const MAX_ELEMENTS: usize = 100_000;
    /// How many nodes (elements, runs of text, CDATA sections, comments, processing
    /// instructions and attributes) a document may have.
    pub const MAX_NODES: usize = 300_000;
    /// How many attributes one element may have.
    pub const MAX_ATTRIBUTES: usize = 256;
    /// How many entities a document type declaration may declare.
    pub const MAX_ENTITY_DECLARATIONS: usize = 10_000;
    /// How many bytes of replacement text references to declared entities may produce in all,
    /// in the document and in other entities' values.
    pub const MAX_ENTITY_EXPANSION: usize = 1 << 20;
}

pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if is_name_start(c)) && chars.all(is_name_char)
}

/// A name as namespaces allow it: no colon, or one colon between two non-empty parts.
fn is_qname(s: &str) -> bool {
    if !is_name(s) {
        return false;
    }
    match s.split_once(':') {
        None => true,
        Some((p, l)) => !p.is_empty() && !l.is_empty() && !l.contains(':'),
    }
}

struct Parser<'t> {
    text: &'t str,
    /// Declared general entities: their replacement text, or `None` for an external entity,
    /// which is never read.
    entities: HashMap<String, Option<String>>,
    /// Namespace prefixes in scope, one frame per open element.
    ns_frames: Vec<Vec<String>>,
    /// Bytes produced so far by references to declared entities.
    expanded: Cell<usize>,
    /// Entity declarations read so far.
    declarations: usize,
    elements: usize,
    nodes: usize,
}

impl Parser<'_> {
    fn err_at(&self, offset: usize, message: impl Into<String>) -> XmlError {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        XmlError {
            line,
            column,
            message: message.into(),
            limit: false,
            source: None,
        }
    }

    fn limit_at(&self, offset: usize, message: String) -> XmlError {
        XmlError {
            limit: true,
            ..self.err_at(offset, message)
        }
    }

    /// Counts `count` more nodes at `offset`, of which `elements` are elements.
    fn count(&mut self, offset: usize, elements: usize, count: usize) -> Result<(), XmlError> {
        self.elements += elements;
        self.nodes += count;
        if self.elements > limits::MAX_ELEMENTS {
            return Err(self.limit_at(
                offset,
                format!(
                    "the document has more than {} elements",
                    limits::MAX_ELEMENTS
                ),
            ));
        }
        if self.nodes > limits::MAX_NODES {
            return Err(self.limit_at(
                offset,
                format!(
                    "the document has more than {} nodes (elements, text, comments, attributes)",
                    limits::MAX_NODES
                ),
            ));
        }
        Ok(())
    }

    fn prefix_bound(&self, prefix: &str) -> bool {
        prefix == "xml"
            || self
                .ns_frames
                .iter()
                .rev()
                .any(|f| f.iter().any(|p| p == prefix))
    }

    /// Replaces entity and character references in raw character data. `offset` is where the
    /// data starts in the document, for error positions.
    fn unescape(&self, raw: &str, offset: usize, in_attr: bool) -> Result<String, XmlError> {
        let raw = normalize_newlines(raw);
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw.as_ref();
        let mut pos = offset;
        while let Some(i) = rest.find('&') {
            let seg = &rest[..i];
            if in_attr {
                for c in seg.chars() {
                    out.push(if matches!(c, '\t' | '\n' | '\r') {
                        ' '
                    } else {
                        c
                    });
                }
            } else {
                out.push_str(seg);
            }
            let after = &rest[i + 1..];
            let end = after
                .find(';')
                .filter(|&e| {
                    !after[..e].contains(|c: char| c == '&' || c == '<' || is_xml_space(c))
                })
                .ok_or_else(|| self.err_at(pos + i, "not well-formed (invalid token)"))?;
            let name = &after[..end];
            if let Some(num) = name.strip_prefix('#') {
                let value = if let Some(hex) = num.strip_prefix('x') {
                    (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                } else {
                    (!num.is_empty() && num.chars().all(|c| c.is_ascii_digit()))
                        .then(|| num.parse::<u32>().ok())
                        .flatten()
                };
                let Some(value) = value else {
                    return Err(self.err_at(pos + i, "not well-formed (invalid token)"));
                };
                match char::from_u32(value).filter(|&c| is_xml_char(c)) {
                    Some(c) => out.push(c),
                    None => {
                        return Err(self.err_at(pos + i, "reference to invalid character number"))
                    }
                }
            } else {
                if !is_name(name) {
                    return Err(self.err_at(pos + i, "not well-formed (invalid token)"));
                }
                match name {
                    "amp" => out.push('&'),
                    "lt" => out.push('<'),
                    "gt" => out.push('>'),
                    "quot" => out.push('"'),
                    "apos" => out.push('\''),
                    other => match self.entities.get(other) {
                        Some(None) => {
                            return Err(self.err_at(
                                pos + i,
                                format!(
                                    "`&{};` names an external entity, which cback never reads; write its value into the document instead",
                                    clip(other)
                                ),
                            ))
                        }
                        Some(Some(v)) => {
                            let total = self.expanded.get() + v.len();
                            if total > limits::MAX_ENTITY_EXPANSION {
                                return Err(self.limit_at(
                                    pos + i,
                                    format!(
                                        "entity expansion exceeds {} bytes",
                                        limits::MAX_ENTITY_EXPANSION
                                    ),
                                ));
                            }
                            self.expanded.set(total);
                            out.push_str(v);
                        }
                        None => {
                            return Err(self.err_at(
                                pos + i,
                                format!("undefined entity `&{};`", clip(other)),
                            ))
                        }
                    },
                }
            }
            let consumed = i + 1 + end + 1;
            rest = &rest[consumed..];
            pos += consumed;
        }
        if in_attr {
            for c in rest.chars() {
                out.push(if matches!(c, '\t' | '\n' | '\r') {
                    ' '
                } else {
                    c
                });
            }
        } else {
            out.push_str(rest);
        }
        Ok(out)
    }

    /// Splits the inside of a start tag (after `<`, before `>` or `/>`) into its name and
    /// attributes, checking names, quoting, duplicates and spacing.
    fn parse_tag(&self, inner: &str, offset: usize) -> Result<Element, XmlError> {
        let invalid = |at: usize| self.err_at(offset + at, "not well-formed (invalid token)");
        let name_end = inner.find(is_xml_space).unwrap_or(inner.len());
        let name = &inner[..name_end];
        if !is_name(name) {
            return Err(invalid(0));
        }
        let mut element = Element::new(name);
        let mut i = name_end;
        let bytes = inner.as_bytes();
        loop {
            let ws_start = i;
            while i < inner.len() && is_xml_space(bytes[i] as char) {
                i += 1;
            }
            if i == inner.len() {
                break;
            }
            if i == ws_start {
                return Err(invalid(i));
            }
            let an_start = i;
            while i < inner.len() && !is_xml_space(bytes[i] as char) && bytes[i] != b'=' {
                i += 1;
            }
            let attr_name = &inner[an_start..i];
            if !is_name(attr_name) {
                return Err(invalid(an_start));
            }
            while i < inner.len() && is_xml_space(bytes[i] as char) {
                i += 1;
            }
            if i == inner.len() || bytes[i] != b'=' {
                return Err(invalid(i));
            }
            i += 1;
            while i < inner.len() && is_xml_space(bytes[i] as char) {
                i += 1;
            }
            if i == inner.len() || (bytes[i] != b'"' && bytes[i] != b'\'') {
                return Err(invalid(i));
            }
            let quote = bytes[i] as char;
            let v_start = i + 1;
            let Some(len) = inner[v_start..].find(quote) else {
                return Err(invalid(i));
            };
            let raw = &inner[v_start..v_start + len];
            if let Some(lt) = raw.find('<') {
                return Err(invalid(v_start + lt));
            }
            let value = self.unescape(raw, offset + v_start, true)?;
            if element.attrs.len() == limits::MAX_ATTRIBUTES {
                return Err(self.limit_at(
                    offset + an_start,
                    format!(
                        "an element has more than {} attributes",
                        limits::MAX_ATTRIBUTES
                    ),
                ));
            }
            if element.attrs.iter().any(|(k, _)| k == attr_name) {
                return Err(self.err_at(offset + an_start, "duplicate attribute"));
            }
            element.attrs.push((attr_name.to_string(), value));
            i = v_start + len + 1;
        }
        Ok(element)
    }

    /// Checks the namespace rules for a start tag and opens its namespace frame.
    fn open_namespaces(&mut self, element: &Element, offset: usize) -> Result<(), XmlError> {
        let mut frame = Vec::new();
        for (k, v) in &element.attrs {
            if let Some(p) = k.strip_prefix("xmlns:") {
                if v.is_empty() || p == "xmlns" {
                    return Err(self.err_at(offset, "unbound prefix"));
                }
                frame.push(p.to_string());
            }
        }
        self.ns_frames.push(frame);
        let names = std::iter::once(element.name.as_str()).chain(
            element
                .attrs
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| *k != "xmlns"),
        );
        for name in names {
            if !is_qname(name) {
                return Err(self.err_at(offset, "not well-formed (invalid token)"));
            }
            if let Some((prefix, _)) = name.split_once(':') {
                if prefix != "xmlns" && !self.prefix_bound(prefix) {
                    return Err(self.err_at(offset, "unbound prefix"));
                }
            }
        }
        Ok(())
    }

    /// Checks a document type declaration (the text between `<!DOCTYPE` and the final `>`)
    /// and reads the general entities declared in its internal subset.
    fn read_doctype(&mut self, raw: &str, offset: usize) -> Result<(), XmlError> {
        let err = |p: &Parser<'_>| p.err_at(offset, "syntax error");
        let mut cur = Cursor { s: raw, i: 0 };
        if !cur.space() || !is_name(cur.name()) {
            return Err(err(self));
        }
        let had_space = cur.space();
        if had_space && (cur.keyword("SYSTEM") || cur.keyword("PUBLIC")) {
            let public = raw[..cur.i].ends_with("PUBLIC");
            if !cur.space() || cur.quoted().is_none() {
                return Err(err(self));
            }
            if public && (!cur.space() || cur.quoted().is_none()) {
                return Err(err(self));
            }
            cur.space();
        }
        if cur.eat('[') {
            loop {
                cur.space();
                if cur.eat(']') {
                    break;
                }
                if cur.keyword("<!--") {
                    let Some(end) = cur.rest().find("-->") else {
                        return Err(err(self));
                    };
                    cur.i += end + 3;
                } else if cur.keyword("<?") {
                    let Some(end) = cur.rest().find("?>") else {
                        return Err(err(self));
                    };
                    cur.i += end + 2;
                } else if cur.eat('%') {
                    if !is_name(cur.name()) || !cur.eat(';') {
                        return Err(err(self));
                    }
                } else if cur.keyword("<!ENTITY") {
                    if !cur.space() {
                        return Err(err(self));
                    }
                    let parameter = cur.eat('%');
                    if parameter && !cur.space() {
                        return Err(err(self));
                    }
                    let name = cur.name().to_string();
                    if !is_name(&name) || !cur.space() {
                        return Err(err(self));
                    }
                    self.declarations += 1;
                    if self.declarations > limits::MAX_ENTITY_DECLARATIONS {
                        return Err(self.limit_at(
                            offset,
                            format!(
                                "the document type declares more than {} entities",
                                limits::MAX_ENTITY_DECLARATIONS
                            ),
                        ));
                    }
                    if let Some(value) = cur.quoted() {
                        if value.contains('<') || value.contains('%') {
                            return Err(self.err_at(
                                offset,
                                "entity values with markup are not supported; use plain text",
                            ));
                        }
                        let value = self.unescape(value, offset, false)?;
                        if !parameter {
                            // The first declaration of an entity is binding.
                            self.entities.entry(name).or_insert(Some(value));
                        }
                    } else if cur.keyword("SYSTEM") || cur.keyword("PUBLIC") {
                        // External entities are declared but never read.
                        let public = cur.rest_before().ends_with("PUBLIC");
                        if !cur.space() || cur.quoted().is_none() {
                            return Err(err(self));
                        }
                        if public && (!cur.space() || cur.quoted().is_none()) {
                            return Err(err(self));
                        }
                        if cur.decl_rest().is_none() {
                            return Err(err(self));
                        }
                        if !parameter {
                            self.entities.entry(name).or_insert(None);
                        }
                        continue;
                    } else {
                        return Err(err(self));
                    }
                    cur.space();
                    if !cur.eat('>') {
                        return Err(err(self));
                    }
                } else if cur.keyword("<!ELEMENT")
                    || cur.keyword("<!ATTLIST")
                    || cur.keyword("<!NOTATION")
                {
                    if !cur.space() || cur.decl_rest().is_none() {
                        return Err(err(self));
                    }
                } else {
                    return Err(err(self));
                }
            }
            cur.space();
        }
        if cur.i != raw.len() {
            return Err(err(self));
        }
        Ok(())
    }
}

/// A position in the text of a document type declaration.
struct Cursor<'s> {
    s: &'s str,
    i: usize,
}

impl<'s> Cursor<'s> {
    fn rest(&self) -> &'s str {
        &self.s[self.i..]
    }

    fn rest_before(&self) -> &'s str {
        &self.s[..self.i]
    }

    /// Skips blanks; whether there were any.
    fn space(&mut self) -> bool {
        let start = self.i;
        let rest = self.rest();
        self.i += rest.len() - rest.trim_start_matches(is_xml_space).len();
        self.i > start
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, k: &str) -> bool {
        if self.rest().starts_with(k) {
            self.i += k.len();
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> &'s str {
        let rest = self.rest();
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        self.i += end;
        &rest[..end]
    }

    fn quoted(&mut self) -> Option<&'s str> {
        let rest = self.rest();
        let q = rest.chars().next().filter(|&c| c == '"' || c == '\'')?;
        let len = rest[1..].find(q)?;
        self.i += len + 2;
        Some(&rest[1..1 + len])
    }

    /// Skips to the `>` that ends a declaration, passing over quoted text.
    fn decl_rest(&mut self) -> Option<()> {
        loop {
            let c = self.rest().chars().next()?;
            match c {
                '>' => {
                    self.i += 1;
                    return Some(());
                }
                '"' | '\'' => {
                    self.quoted()?;
                }
                c => self.i += c.len_utf8(),
            }
        }
    }
}

fn normalize_newlines(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.contains('\r') {
        std::borrow::Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(raw)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn append(stack: &mut [Element], node: Node) {
    let parent = stack.last_mut().expect("caller checks the stack");
    match (parent.children.last_mut(), node) {
        (Some(Node::Text(prev)), Node::Text(t)) => prev.push_str(&t),
        (_, node) => parent.children.push(node),
    }
}

/// Parses `text` into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, XmlError> {
    let bom = if text.starts_with('\u{FEFF}') {
        '\u{FEFF}'.len_utf8()
    } else {
        0
    };
    let body = &text[bom..];
    let mut p = Parser {
        text,
        entities: HashMap::new(),
        ns_frames: Vec::new(),
        expanded: Cell::new(0),
        declarations: 0,
        elements: 0,
        nodes: 0,
    };
    if let Some((i, _)) = text
        .char_indices()
        .find(|&(i, c)| !is_xml_char(c) && i >= bom)
    {
        return Err(p.err_at(i, "not well-formed (invalid token)"));
    }

    let mut reader = Reader::from_str(body);
    {
        let cfg = reader.config_mut();
        cfg.trim_text(false);
        cfg.check_comments = true;
        // End tags are matched here, after trimming blanks as XML allows (`</a >`).
        cfg.check_end_names = false;
        cfg.expand_empty_elements = false;
        cfg.trim_markup_names_in_closing_tags = false;
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut seen_markup = false;
    let mut seen_doctype = false;
    loop {
        let start = reader.buffer_position() as usize + bom;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position() as usize + bom;
                let mut err = p.err_at(at, format!("not well-formed ({})", clip(&e.to_string())));
                err.source = Some(e);
                return Err(err);
            }
        };
        let end = reader.buffer_position() as usize + bom;
        let raw = &text[start..end];
        let in_root = !stack.is_empty();
        let after_root = root.is_some();
        match event {
            Event::Start(_) | Event::Empty(_) => {
                if after_root {
                    return Err(p.err_at(start, "junk after document element"));
                }
                let empty = matches!(event, Event::Empty(_));
                let inner = &raw[1..raw.len() - if empty { 2 } else { 1 }];
                if stack.len() >= limits::MAX_NESTING {
                    return Err(p.limit_at(
                        start,
                        format!("elements are nested deeper than {}", limits::MAX_NESTING),
                    ));
                }
                let element = p.parse_tag(inner, start + 1)?;
                p.count(start, 1, 1 + element.attrs.len())?;
                p.open_namespaces(&element, start)?;
                if empty {
                    p.ns_frames.pop();
                    if in_root {
                        append(&mut stack, Node::Element(element));
                    } else {
                        root = Some(element);
                    }
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let name = &raw[2..raw.len() - 1];
                let name = name.trim_end_matches(is_xml_space);
                let Some(element) = stack.pop() else {
                    return Err(p.err_at(start, "junk after document element"));
                };
                if element.name != name {
                    return Err(p.err_at(start, "mismatched tag"));
                }
                p.ns_frames.pop();
                if stack.is_empty() {
                    root = Some(element);
                } else {
                    append(&mut stack, Node::Element(element));
                }
            }
            Event::Text(_) => {
                if !in_root {
                    if let Some(i) = raw.find(|c: char| !is_xml_space(c)) {
                        let msg = if after_root {
                            "junk after document element"
                        } else {
                            "not well-formed (invalid token)"
                        };
                        return Err(p.err_at(start + i, msg));
                    }
                    continue;
                }
                if let Some(i) = raw.find("]]>") {
                    return Err(p.err_at(start + i, "not well-formed (invalid token)"));
                }
                let t = p.unescape(raw, start, false)?;
                p.count(start, 0, 1)?;
                append(&mut stack, Node::Text(t));
            }
            Event::CData(c) => {
                if !in_root {
                    return Err(p.err_at(start, "syntax error"));
                }
                let t = normalize_newlines(&String::from_utf8_lossy(&c)).into_owned();
                p.count(start, 0, 1)?;
                append(&mut stack, Node::CData(t));
            }
            Event::Comment(c) => {
                let body = String::from_utf8_lossy(&c).into_owned();
                if body.ends_with('-') {
                    return Err(p.err_at(start, "not well-formed (invalid token)"));
                }
                if in_root {
                    p.count(start, 0, 1)?;
                    append(&mut stack, Node::Comment(body));
                }
            }
            Event::Decl(_) => {
                if start != bom || seen_markup {
                    return Err(p.err_at(start, "XML or text declaration not at start of entity"));
                }
                check_decl(&raw[5..raw.len() - 2])
                    .map_err(|_| p.err_at(start, "XML declaration not well-formed"))?;
            }
            Event::PI(_) => {
                let body = &raw[2..raw.len() - 2];
                let target_end = body.find(is_xml_space).unwrap_or(body.len());
                let target = &body[..target_end];
                if target.eq_ignore_ascii_case("xml") {
                    return Err(p.err_at(start, "XML or text declaration not at start of entity"));
                }
                if !is_name(target) || target.contains(':') {
                    return Err(p.err_at(start, "not well-formed (invalid token)"));
                }
                if in_root {
                    p.count(start, 0, 1)?;
                    append(&mut stack, Node::Pi(body.to_string()));
                }
            }
            Event::DocType(_) => {
                if in_root || after_root {
                    return Err(p.err_at(
                        start,
                        if after_root {
                            "junk after document element"
                        } else {
                            "syntax error"
                        },
                    ));
                }
                if seen_doctype {
                    return Err(p.err_at(start, "syntax error"));
                }
                seen_doctype = true;
                let inner = &raw["<!DOCTYPE".len()..raw.len() - 1];
                p.read_doctype(inner, start)?;
            }
            Event::Eof => {
                if !stack.is_empty() || root.is_none() {
                    return Err(p.err_at(text.len(), "no element found"));
                }
                break;
            }
        }
        seen_markup = true;
    }
    Ok(root.expect("checked at end of input"))
}

/// Checks the pseudo-attributes of an XML declaration: `version`, then optional `encoding`,
/// then optional `standalone` (`yes` or `no`).
fn check_decl(inner: &str) -> Result<(), ()> {
    let mut rest = inner;
    let mut seen = Vec::new();
    loop {
        let trimmed = rest.trim_start_matches(is_xml_space);
        if trimmed.is_empty() {
            break;
        }
        if trimmed.len() == rest.len() {
            return Err(());
        }
        let eq = trimmed.find('=').ok_or(())?;
        let key = trimmed[..eq].trim_end_matches(is_xml_space);
        let after = trimmed[eq + 1..].trim_start_matches(is_xml_space);
        let q = after
            .chars()
            .next()
            .filter(|&c| c == '"' || c == '\'')
            .ok_or(())?;
        let len = after[1..].find(q).ok_or(())?;
        let value = &after[1..1 + len];
        seen.push((key.to_string(), value.to_string()));
        rest = &after[1 + len + 1..];
    }
    let keys: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    let ok_order = matches!(
        keys.as_slice(),
        ["version"]
            | ["version", "encoding"]
            | ["version", "standalone"]
            | ["version", "encoding", "standalone"]
    );
    if !ok_order {
        return Err(());
    }
    for (k, v) in &seen {
        let good = match k.as_str() {
            "version" => {
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
            }
            "encoding" => {
                v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            }
            _ => v == "yes" || v == "no",
        };
        if !good {
            return Err(());
        }
    }
    Ok(())
}

/// The text of a whole document: an XML declaration, then `root` with its children laid out,
/// then the `exact` elements appended to it as they were read.
pub(crate) fn to_document(root: &Element, exact: &[&Element]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n");
    if exact.is_empty() {
        root.write(&mut out, 0);
        return out;
    }
    let mut open = root.clone();
    open.children.clear();
    let mut head = String::new();
    open.write_inline(&mut head, 0, false);
    // `<cb_config .../>` → `<cb_config ...>`
    head.truncate(head.len() - 2);
    out.push_str(&head);
    out.push_str(">\n");
    for child in root.elements() {
        child.write(&mut out, 1);
    }
    for e in exact {
        push_indent(&mut out, 1);
        e.write_exact(&mut out);
        out.push('\n');
    }
    out.push_str("</");
    out.push_str(&root.name);
    out.push_str(">\n");
    out
}
