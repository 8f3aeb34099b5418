//! Exclusion patterns, matched as the original matches them.
//!
//! The original compiles `"^" + PATTERN + "$"` with Python's `re` and calls `match` on each
//! absolute path (checked as a black box). So:
//! - the `^` and `$` are text around the pattern, not a group: in `/a|/b`, the first
//!   alternative only has to match a prefix of the path (`^/a`), and any middle alternative
//!   too; the last one must reach the end (`/b$`);
//! - Python's `$` also matches before one final line feed, so `.*/x` excludes `/d/x\n`;
//! - the syntax is Python's: look-around, back-references, conditionals, atomic groups,
//!   possessive repeats, `{,n}`, a `{` that starts no repeat is a literal, classes hold no
//!   nested classes or set operations, `\Z` is the very end, ...
//!
//! A pattern is checked with Python's grammar ([`super::pyre`]), then translated into the
//! syntax of `fancy-regex` (a backtracking engine for look-around and back-references that
//! hands every pattern without them to the `regex` crate's automata, so ordinary patterns
//! match at full speed), spelling out Python's meaning where the two differ. One difference
//! is deliberate: global flags such as `(?i)` at the start of a pattern, which Python 3.11
//! rejects once `^` is put in front (so the original fails every collect on them), apply to
//! the whole pattern, as they did in earlier Pythons.
//!
//! Known gaps: `\N{NAME}` and surrogate code points are refused (exit 4, see
//! [`PatternError::Unsupported`]); `\w`, `\b` and case folding follow Unicode's definitions,
//! which differ from Python's on a few rare characters; the ASCII flag `(?a)` makes `\d`,
//! `\w`, `\s` and `\b` ASCII-only but case folding stays Unicode-wide.

use super::pyre;
use crate::clip::clip;

/// Why a pattern cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// Python rejects it.
    #[error("`{}` is not a valid regular expression ({reason})", clip(.pattern))]
    Invalid { pattern: String, reason: String },
    /// Python accepts it, but cback has no equivalent.
    #[error("`{}` uses {what}, which cback does not support; {instead}", clip(.pattern))]
    Unsupported {
        pattern: String,
        what: &'static str,
        instead: &'static str,
    },
    /// Python accepts it, but it is too large or too complex to compile here.
    #[error(
        "`{}` is too large or too complex for cback to compile; simplify it",
        clip(.pattern)
    )]
    Compile {
        pattern: String,
        #[source]
        source: Box<fancy_regex::Error>,
    },
}

/// A compiled exclusion pattern.
#[derive(Debug, Clone)]
pub struct ExcludePattern {
    text: String,
    regex: fancy_regex::Regex,
}

impl ExcludePattern {
    /// Compiles `pattern` (the text of an `<exclude><pattern>`).
    pub fn new(pattern: &str) -> Result<ExcludePattern, PatternError> {
        pyre::check(pattern).map_err(|reason| PatternError::Invalid {
            pattern: pattern.to_string(),
            reason,
        })?;
        let translated =
            translate(pattern).map_err(|(what, instead)| PatternError::Unsupported {
                pattern: pattern.to_string(),
                what,
                instead,
            })?;
        let regex =
            fancy_regex::Regex::new(&translated).map_err(|source| PatternError::Compile {
                pattern: pattern.to_string(),
                source: Box::new(source),
            })?;
        Ok(ExcludePattern {
            text: pattern.to_string(),
            regex,
        })
    }

    /// The pattern as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The translated expression (for tests and debugging).
    pub fn translated(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether the original excludes `path`. A match that exceeds the backtracking limit
    /// (where Python would run for a very long time) is logged and counts as no match, so the
    /// path is backed up.
    pub fn is_match(&self, path: &str) -> bool {
        match self.regex.is_match(path) {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(
                    "Pattern [{}] cannot be matched against [{path}] ({err}); the path is not \
                     excluded.",
                    self.text
                );
                false
            }
        }
    }
}

/// What cannot be translated, and what to write instead.
type Unsupported = (&'static str, &'static str);

/// `^PATTERN$` as Python's `re.match` reads it, in fancy-regex syntax. `pattern` has passed
/// [`pyre::check`].
fn translate(pattern: &str) -> Result<String, Unsupported> {
    let mut t = Translator {
        s: pattern.chars().collect(),
        i: 0,
        out: String::new(),
        verbose: false,
        ascii: false,
        multiline: false,
        ignore_case: false,
        groups: 0,
        names: Vec::new(),
    };
    let global = t.global_flags()?;
    if !global.is_empty() {
        t.out.push_str(&format!("(?{global})"));
    }
    // `match` anchors at the start whatever the pattern says.
    t.out.push_str("\\A(?:");
    t.alternatives(true)?;
    if t.i < t.s.len() {
        return Err(INTERNAL);
    }
    t.out.push(')');
    Ok(t.out)
}

/// Returned where the input breaks the grammar [`pyre::check`] already enforced.
const INTERNAL: Unsupported = (
    "a construct that cback's translation does not recognise",
    "please report the pattern as a bug and rewrite it meanwhile",
);

struct Translator {
    s: Vec<char>,
    i: usize,
    out: String,
    verbose: bool,
    ascii: bool,
    multiline: bool,
    ignore_case: bool,
    /// Capture groups opened so far.
    groups: usize,
    names: Vec<(String, usize)>,
}

/// A class member: one code point, or a category such as `\d` (already translated).
enum Member {
    Char(u32),
    Category(String),
}

/// The other case of an ASCII letter.
fn swap_ascii_case(cp: u32) -> Option<u32> {
    let c = char::from_u32(cp).filter(char::is_ascii_alphabetic)?;
    Some(if c.is_ascii_lowercase() {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    } as u32)
}

fn push_char(out: &mut String, cp: u32) {
    match char::from_u32(cp) {
        Some(c) if c.is_ascii_alphanumeric() => out.push(c),
        _ => out.push_str(&format!("\\x{{{cp:X}}}")),
    }
}

const WORD_ASCII: &str = "0-9A-Za-z_";
const SPACE_ASCII: &str = "\\t\\n\\x{B}\\x{C}\\r\\x{20}";
/// Python's `\s` is Unicode White_Space plus the separators U+001C to U+001F.
const SPACE_UNICODE: &str = "\\s\\x{1C}-\\x{1F}";

impl Translator {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.s.get(self.i + off).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Result<char, Unsupported> {
        let c = self.peek().ok_or(INTERNAL)?;
        self.i += 1;
        Ok(c)
    }

    fn expect(&mut self, c: char) -> Result<(), Unsupported> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(INTERNAL)
        }
    }

    /// Index after the verbose-mode blanks and comments at `from`.
    fn after_blanks(&self, mut from: usize) -> usize {
        if !self.verbose {
            return from;
        }
        while let Some(&c) = self.s.get(from) {
            if " \t\n\r\x0b\x0c".contains(c) {
                from += 1;
            } else if c == '#' {
                while let Some(&c) = self.s.get(from) {
                    from += 1;
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        from
    }

    fn skip_blanks(&mut self) {
        self.i = self.after_blanks(self.i);
    }

    /// Index after the blanks and `(?#...)` comments at `from`.
    fn after_ignored(&self, mut from: usize) -> usize {
        loop {
            from = self.after_blanks(from);
            if self.s.get(from..from + 3) == Some(&['(', '?', '#'][..]) {
                match self.s[from..].iter().position(|&c| c == ')') {
                    Some(end) => from += end + 1,
                    None => return self.s.len(),
                }
            } else {
                return from;
            }
        }
    }

    /// The global flags at the start (`(?i)`, `(?x)`, ...), applied here; returns the ones the
    /// output keeps as flags (`i`, `m`, `s`).
    fn global_flags(&mut self) -> Result<String, Unsupported> {
        let mut kept = String::new();
        loop {
            self.i = self.after_ignored(self.i);
            if self.peek() != Some('(') || self.peek_at(1) != Some('?') {
                return Ok(kept);
            }
            let mut j = self.i + 2;
            while self.s.get(j).is_some_and(|c| "aiLmsux".contains(*c)) {
                j += 1;
            }
            if j == self.i + 2 || self.s.get(j) != Some(&')') {
                return Ok(kept);
            }
            for &c in &self.s[self.i + 2..j] {
                match c {
                    'i' if !kept.contains(c) => {
                        self.ignore_case = true;
                        kept.push(c);
                    }
                    's' if !kept.contains(c) => kept.push(c),
                    'm' => {
                        self.multiline = true;
                        if !kept.contains('m') {
                            kept.push('m');
                        }
                    }
                    'x' => self.verbose = true,
                    'a' => self.ascii = true,
                    _ => {}
                }
            }
            self.i = j + 1;
        }
    }

    /// Alternatives up to a `)` (not consumed) or the end. At the top level each alternative
    /// ends the match, and the last one gets the `$` the original appends. Returns whether
    /// they match only the empty string (see [`Translator::repeat`]).
    fn alternatives(&mut self, top: bool) -> Result<bool, Unsupported> {
        let mut zero_width = true;
        loop {
            zero_width &= self.sequence(top)?;
            if self.eat('|') {
                self.out.push('|');
                continue;
            }
            if top {
                self.out.push_str(&self.end_of_match());
            }
            return Ok(zero_width);
        }
    }

    /// Python's `$` where nothing has to match after it: it may take the final line feed.
    fn end_of_match(&self) -> String {
        if self.multiline {
            "(?m:$)".to_string()
        } else {
            "\\n?\\z".to_string()
        }
    }

    /// Items up to `|`, `)` or the end. `tail`: the end of this sequence ends the match.
    /// Returns whether the sequence matches only the empty string.
    fn sequence(&mut self, tail: bool) -> Result<bool, Unsupported> {
        // Where the last repeatable item starts in the output, and whether it is zero-width.
        let mut last: Option<(usize, bool)> = None;
        let mut zero_width = true;
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                return Ok(zero_width);
            };
            if c == '|' || c == ')' {
                return Ok(zero_width);
            }
            self.i += 1;
            let start = self.out.len();
            // The item written: `Some(zero_width)` when it can be repeated.
            let item: Option<bool> = match c {
                '[' => {
                    self.class()?;
                    Some(false)
                }
                '\\' => self.escape()?,
                '.' => {
                    self.out.push('.');
                    Some(false)
                }
                '^' => {
                    self.out.push_str(if self.multiline { "^" } else { "\\A" });
                    None
                }
                '$' => {
                    let end = self.after_ignored(self.i);
                    let ends_sequence = matches!(self.s.get(end), None | Some('|') | Some(')'));
                    if self.multiline {
                        self.out.push('$');
                    } else if tail && ends_sequence {
                        self.out.push_str(&self.end_of_match());
                    } else {
                        self.out.push_str("(?=\\n?\\z)");
                    }
                    None
                }
                '*' | '+' | '?' | '{' => {
                    let bounds = match c {
                        '*' => Some((0, None)),
                        '+' => Some((1, None)),
                        '?' => Some((0, Some(1))),
                        _ => self.braces(),
                    };
                    match bounds {
                        Some((lo, hi)) => {
                            let (at, zero) = last.take().ok_or(INTERNAL)?;
                            self.repeat(at, zero, lo, hi);
                            continue;
                        }
                        None => {
                            self.literal('{' as u32);
                            Some(false)
                        }
                    }
                }
                '(' => match self.group()? {
                    Some(zero) => Some(zero),
                    // A comment: the item before it is still the one a repeat applies to.
                    None => continue,
                },
                c => {
                    self.literal(c as u32);
                    Some(false)
                }
            };
            zero_width &= item.unwrap_or(true);
            last = item.map(|zero| (start, zero));
        }
    }

    /// Applies a repeat to the item written from `start` on, with its lazy `?` or possessive
    /// `+` suffix. fancy-regex refuses to repeat what matches only the empty string (a
    /// look-around, an empty group), which Python accepts: repeated, such an item still
    /// matches once at most, so it is written as optional (`lo` 0) or as it is.
    fn repeat(&mut self, start: usize, zero_width: bool, lo: u64, hi: Option<u64>) {
        let possessive = self.peek() == Some('+');
        let lazy = self.peek() == Some('?');
        if possessive || lazy {
            self.i += 1;
        }
        let open = if possessive { "(?>" } else { "(?:" };
        if zero_width {
            if lo > 0 {
                self.out.insert_str(start, open);
                self.out.push(')');
            } else if lazy {
                self.out.insert_str(start, "(?:|");
                self.out.push(')');
            } else {
                self.out.insert_str(start, open);
                self.out.push_str("|)");
            }
            return;
        }
        self.out
            .insert_str(start, if possessive { "(?>(?:" } else { "(?:" });
        self.out.push(')');
        match hi {
            Some(hi) if hi == lo => self.out.push_str(&format!("{{{lo}}}")),
            Some(hi) => self.out.push_str(&format!("{{{lo},{hi}}}")),
            None => self.out.push_str(&format!("{{{lo},}}")),
        }
        if lazy {
            self.out.push('?');
        }
        if possessive {
            self.out.push(')');
        }
    }

    /// After `{`: a repeat `{m}`, `{m,}`, `{,n}`, `{m,n}`, `{,}`, consumed; `None` (nothing
    /// consumed) when the text has another form, and the `{` is a literal.
    fn braces(&mut self) -> Option<(u64, Option<u64>)> {
        let start = self.i;
        let digits = |t: &mut Translator| {
            let from = t.i;
            while t.peek().is_some_and(|c| c.is_ascii_digit()) {
                t.i += 1;
            }
            t.s[from..t.i].iter().collect::<String>()
        };
        let lo = digits(self);
        let hi = if self.eat(',') {
            Some(digits(self))
        } else {
            None
        };
        if !self.eat('}') || (lo.is_empty() && hi.is_none()) {
            self.i = start;
            return None;
        }
        let lo_n = if lo.is_empty() { 0 } else { lo.parse().ok()? };
        let hi_n = match hi {
            None => Some(lo_n),
            Some(h) if h.is_empty() => None,
            Some(h) => Some(h.parse().ok()?),
        };
        Some((lo_n, hi_n))
    }

    fn hex(&mut self, n: usize) -> Result<u32, Unsupported> {
        let mut v = 0u32;
        for _ in 0..n {
            let d = self.next()?.to_digit(16).ok_or(INTERNAL)?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// After `\x`, `\u`, `\U` or `\N`: the code point.
    fn code_point(&mut self, c: char) -> Result<u32, Unsupported> {
        let v = match c {
            'x' => self.hex(2)?,
            'u' => self.hex(4)?,
            'U' => self.hex(8)?,
            _ => {
                return Err((
                    "a named character (\\N{...})",
                    "write the character itself or its \\uXXXX escape",
                ))
            }
        };
        if char::from_u32(v).is_none() {
            return Err((
                "a surrogate code point",
                "match the character with another construct such as .",
            ));
        }
        Ok(v)
    }

    fn octal(&mut self, first: u32, more: usize) -> u32 {
        let mut v = first;
        for _ in 0..more {
            match self.peek().and_then(|c| c.to_digit(8)) {
                Some(d) => {
                    v = v * 8 + d;
                    self.i += 1;
                }
                None => break,
            }
        }
        v
    }

    /// Case folding is Python's ASCII-only one (flags `a` and `i`), which the output has no
    /// flag for: letters are given in both cases, with the output's case folding off.
    fn ascii_folding(&self) -> bool {
        self.ascii && self.ignore_case
    }

    /// One literal character.
    fn literal(&mut self, cp: u32) {
        if !self.ascii_folding() {
            push_char(&mut self.out, cp);
            return;
        }
        self.out.push_str("(?-i:[");
        push_char(&mut self.out, cp);
        if let Some(other) = swap_ascii_case(cp) {
            push_char(&mut self.out, other);
        }
        self.out.push_str("])");
    }

    fn category(&self, c: char) -> Option<String> {
        let text = match (c, self.ascii) {
            ('d', false) => "\\d".to_string(),
            ('D', false) => "\\D".to_string(),
            ('w', false) => "\\w".to_string(),
            ('W', false) => "\\W".to_string(),
            ('d', true) => "[0-9]".to_string(),
            ('D', true) => "[^0-9]".to_string(),
            ('w', true) => format!("[{WORD_ASCII}]"),
            ('W', true) => format!("[^{WORD_ASCII}]"),
            ('s', false) => format!("[{SPACE_UNICODE}]"),
            ('S', false) => format!("[^{SPACE_UNICODE}]"),
            ('s', true) => format!("[{SPACE_ASCII}]"),
            ('S', true) => format!("[^{SPACE_ASCII}]"),
            _ => return None,
        };
        Some(text)
    }

    /// After `\` outside a class. Returns `Some(zero_width)` for an item that can be
    /// repeated, `None` for an anchor.
    fn escape(&mut self) -> Result<Option<bool>, Unsupported> {
        let c = self.next()?;
        if let Some(category) = self.category(c) {
            self.out.push_str(&category);
            return Ok(Some(false));
        }
        let cp = match c {
            'A' => {
                self.out.push_str("\\A");
                return Ok(None);
            }
            'Z' => {
                self.out.push_str("\\z");
                return Ok(None);
            }
            'b' | 'B' => {
                let text = match (c, self.ascii) {
                    ('b', false) => "\\b".to_string(),
                    ('B', false) => "\\B".to_string(),
                    // The output cannot turn Unicode off: ASCII word boundaries spelled out.
                    ('b', true) => format!(
                        "(?:(?<=[{WORD_ASCII}])(?![{WORD_ASCII}])|(?<![{WORD_ASCII}])(?=[{WORD_ASCII}]))"
                    ),
                    _ => format!(
                        "(?:(?<=[{WORD_ASCII}])(?=[{WORD_ASCII}])|(?<![{WORD_ASCII}])(?![{WORD_ASCII}]))"
                    ),
                };
                self.out.push_str(&text);
                return Ok(None);
            }
            'a' => 7,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            't' => 9,
            'v' => 11,
            'x' | 'u' | 'U' | 'N' => self.code_point(c)?,
            '0' => self.octal(0, 2),
            '1'..='9' => {
                let d = c as u32 - '0' as u32;
                let two = self.peek().filter(char::is_ascii_digit);
                let three = self.peek_at(1).filter(|c| ('0'..='7').contains(c));
                match two {
                    Some(d2) if c <= '7' && d2 <= '7' && three.is_some() => self.octal(d, 2),
                    Some(d2) => {
                        self.i += 1;
                        self.backref(d as usize * 10 + (d2 as usize - '0' as usize));
                        return Ok(Some(false));
                    }
                    None => {
                        self.backref(d as usize);
                        return Ok(Some(false));
                    }
                }
            }
            c if c.is_ascii_alphanumeric() => return Err(INTERNAL),
            c => c as u32,
        };
        self.literal(cp);
        Ok(Some(false))
    }

    fn backref(&mut self, n: usize) {
        self.out.push_str(&format!("(?:\\{n})"));
    }

    /// One class member after its first character `c` was consumed.
    fn member(&mut self, c: char) -> Result<Member, Unsupported> {
        if c != '\\' {
            return Ok(Member::Char(c as u32));
        }
        let e = self.next()?;
        let cp = match e {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                let text = self.category(e).ok_or(INTERNAL)?;
                // A positive category loses its brackets inside a class.
                let text = match text.strip_prefix('[') {
                    Some(inner) if !inner.starts_with('^') => {
                        inner.strip_suffix(']').ok_or(INTERNAL)?.to_string()
                    }
                    _ => text,
                };
                return Ok(Member::Category(text));
            }
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            't' => 9,
            'v' => 11,
            'x' | 'u' | 'U' | 'N' => self.code_point(e)?,
            '0'..='7' => self.octal(e as u32 - '0' as u32, 2),
            e if e.is_ascii_alphanumeric() => return Err(INTERNAL),
            e => e as u32,
        };
        Ok(Member::Char(cp))
    }

    /// After `[`: the class, each character written as an escape so that nothing in it is
    /// read as a nested class or a set operation.
    fn class(&mut self) -> Result<(), Unsupported> {
        let folding = self.ascii_folding();
        if folding {
            self.out.push_str("(?-i:");
        }
        self.out.push('[');
        if self.eat('^') {
            self.out.push('^');
        }
        let mut first = true;
        loop {
            let c = self.next()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = self.member(c)?;
            if self.peek() == Some('-') && self.peek_at(1).is_some() {
                self.i += 1;
                if self.peek() == Some(']') {
                    // `[a-]`: a literal `-`; the `]` closes the class next time round.
                    self.class_member(&lo, folding);
                    self.class_member(&Member::Char('-' as u32), folding);
                    continue;
                }
                let c2 = self.next()?;
                let hi = self.member(c2)?;
                let (Member::Char(a), Member::Char(b)) = (lo, hi) else {
                    return Err(INTERNAL);
                };
                self.class_range(a, b);
                if folding {
                    // The other case of the ASCII letters in the range.
                    for (from, to, shift) in [('A', 'Z', 32i64), ('a', 'z', -32)] {
                        let (x, y) = (a.max(from as u32), b.min(to as u32));
                        if x <= y {
                            let moved = |v: u32| (i64::from(v) + shift) as u32;
                            self.class_range(moved(x), moved(y));
                        }
                    }
                }
                continue;
            }
            self.class_member(&lo, folding);
        }
        self.out.push(']');
        if folding {
            self.out.push(')');
        }
        Ok(())
    }

    fn class_range(&mut self, a: u32, b: u32) {
        push_char(&mut self.out, a);
        self.out.push('-');
        push_char(&mut self.out, b);
    }

    fn class_member(&mut self, m: &Member, folding: bool) {
        match m {
            Member::Char(cp) => {
                push_char(&mut self.out, *cp);
                if folding {
                    if let Some(other) = swap_ascii_case(*cp) {
                        push_char(&mut self.out, other);
                    }
                }
            }
            Member::Category(text) => self.out.push_str(text),
        }
    }

    fn name_until(&mut self, end: char) -> Result<String, Unsupported> {
        let mut name = String::new();
        loop {
            let c = self.next()?;
            if c == end {
                return Ok(name);
            }
            name.push(c);
        }
    }

    fn named_group(&self, name: &str) -> Result<usize, Unsupported> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, g)| *g)
            .ok_or(INTERNAL)
    }

    /// The contents of a group up to its `)`; whether they match only the empty string.
    fn group_body(&mut self) -> Result<bool, Unsupported> {
        let zero_width = self.alternatives(false)?;
        self.expect(')')?;
        self.out.push(')');
        Ok(zero_width)
    }

    /// After `(`. Returns `Some(zero_width)` for the item written, `None` for a comment (no
    /// item). Flags set inside the group end with it.
    fn group(&mut self) -> Result<Option<bool>, Unsupported> {
        let saved = (self.verbose, self.ascii, self.multiline, self.ignore_case);
        let written = self.group_inner();
        (self.verbose, self.ascii, self.multiline, self.ignore_case) = saved;
        written
    }

    fn group_inner(&mut self) -> Result<Option<bool>, Unsupported> {
        if !self.eat('?') {
            self.groups += 1;
            self.out.push('(');
            return self.group_body().map(Some);
        }
        let c = self.next()?;
        match c {
            ':' => self.out.push_str("(?:"),
            '>' => self.out.push_str("(?>"),
            '=' | '!' => {
                self.out.push_str(&format!("(?{c}"));
                self.group_body()?;
                return Ok(Some(true));
            }
            '<' => {
                let kind = self.next()?;
                if kind != '=' && kind != '!' {
                    return Err(INTERNAL);
                }
                self.out.push_str(&format!("(?<{kind}"));
                self.group_body()?;
                return Ok(Some(true));
            }
            '#' => {
                self.name_until(')')?;
                return Ok(None);
            }
            'P' => {
                if self.eat('<') {
                    let name = self.name_until('>')?;
                    self.groups += 1;
                    self.names.push((name, self.groups));
                    self.out.push('(');
                } else if self.eat('=') {
                    let name = self.name_until(')')?;
                    let n = self.named_group(&name)?;
                    self.backref(n);
                    return Ok(Some(false));
                } else {
                    return Err(INTERNAL);
                }
            }
            '(' => {
                let cond = self.name_until(')')?;
                let n = match cond.parse::<usize>() {
                    Ok(n) => n,
                    Err(_) => self.named_group(&cond)?,
                };
                self.out.push_str(&format!("(?({n})"));
                self.sequence(false)?;
                if self.eat('|') {
                    self.out.push('|');
                    self.sequence(false)?;
                }
                self.expect(')')?;
                self.out.push(')');
                return Ok(Some(false));
            }
            _ => {
                self.i -= 1;
                self.scoped_flags()?;
            }
        }
        self.group_body().map(Some)
    }

    /// `(?flags-flags:` after `(?`; writes the group opening with the flags the output keeps.
    fn scoped_flags(&mut self) -> Result<(), Unsupported> {
        let mut on = String::new();
        let mut off = String::new();
        let mut turning_off = false;
        loop {
            let c = self.next()?;
            match c {
                ':' => break,
                '-' => turning_off = true,
                'i' | 's' | 'm' => {
                    if c == 'm' {
                        self.multiline = !turning_off;
                    }
                    if c == 'i' {
                        self.ignore_case = !turning_off;
                    }
                    if turning_off {
                        off.push(c);
                    } else {
                        on.push(c);
                    }
                }
                'x' => self.verbose = !turning_off,
                'a' => self.ascii = true,
                'u' | 'L' => {}
                _ => return Err(INTERNAL),
            }
        }
        self.out.push_str("(?");
        self.out.push_str(&on);
        if !off.is_empty() {
            self.out.push('-');
            self.out.push_str(&off);
        }
        self.out.push(':');
        Ok(())
    }
}

#[cfg(test)]
mod tests;
