//! Reads the one value of a small pickle: what the original keeps in the extensions' state
//! files, an `int` (the last revision of a Subversion repository) or a naive
//! `datetime.datetime` (the last run over an mbox). The original writes protocol 0; the binary
//! protocols 2 to 5 and Python 2's form of a datetime (`S'...'`) are read too, so a file
//! rewritten by any Python reads back.
//!
//! Nothing is imported or called: the only callables accepted are `datetime.datetime` on its
//! 10-byte state and `_codecs.encode(TEXT, 'latin1')`, which Python 3 uses to pickle those bytes.

use std::collections::HashMap;

use super::lexer::{Lexer, Op};
use super::opcode::*;
use super::text::raw_unicode_escape;
use super::PickleError;

/// The largest pickle read (the original's state files are under 100 bytes).
pub const MAX_PICKLE: usize = 64 * 1024;

/// The opcodes of an int, a datetime or the pieces Python pickles them with.
const OPCODES: &[&[u8]] = &[
    STRUCTURE,
    MEMO,
    TEXT,
    &[NONE, NEWTRUE, NEWFALSE],
    &[INT, LONG, BININT1, BININT2, BININT, LONG1],
    &[STRING, SHORT_BINSTRING, SHORT_BINBYTES, BINSTRING, BINBYTES],
    &[GLOBAL, STACK_GLOBAL, REDUCE],
    &[EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3],
];

/// A value on the unpickling stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    /// Text, as code points.
    Text(Vec<u32>),
    Bytes(Vec<u8>),
    Global(String, String),
    Tuple(Vec<Value>),
    /// A naive `datetime.datetime`: its state bytes, not yet checked.
    DateTime(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Mark => "a mark",
            Value::None => "None",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Text(_) => "a string",
            Value::Bytes(_) => "bytes",
            Value::Global(..) => "a global",
            Value::Tuple(_) => "a tuple",
            Value::DateTime(_) => "a datetime",
        }
    }
}

/// Reads the one value of a pickle of at most [`MAX_PICKLE`] bytes.
pub fn load(data: &[u8]) -> Result<Value, PickleError> {
    if data.len() > MAX_PICKLE {
        return Err(PickleError::TooBig { size: data.len() });
    }
    Machine {
        lexer: Lexer::new(data, OPCODES),
        stack: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

/// The integer a pickle holds.
pub fn load_int(data: &[u8]) -> Result<i64, PickleError> {
    match load(data)? {
        Value::Int(n) => Ok(n),
        other => Err(PickleError::Holds {
            found: other.kind(),
            wanted: "an integer",
        }),
    }
}

/// The state bytes of the naive datetime a pickle holds (see `ext::state::Stamp`).
pub fn load_datetime(data: &[u8]) -> Result<Vec<u8>, PickleError> {
    match load(data)? {
        Value::DateTime(state) => Ok(state),
        other => Err(PickleError::Holds {
            found: other.kind(),
            wanted: "a datetime",
        }),
    }
}

struct Machine<'a> {
    lexer: Lexer<&'a [u8]>,
    stack: Vec<Value>,
    memo: HashMap<u64, Value>,
}

impl Machine<'_> {
    fn run(mut self) -> Result<Value, PickleError> {
        loop {
            let (at, op) = self.lexer.next_op()?;
            let value = match op {
                Op::Stop => {
                    return match self.stack.as_slice() {
                        [value] if *value != Value::Mark => Ok(value.clone()),
                        _ => Err(PickleError::NotOneValue),
                    };
                }
                Op::Proto | Op::Frame => continue,
                Op::Mark => Value::Mark,
                Op::None => Value::None,
                Op::Bool(b) => Value::Bool(b),
                Op::IntLine(b"01") => Value::Bool(true),
                Op::IntLine(b"00") => Value::Bool(false),
                Op::IntLine(line) => Value::Int(decimal(line)?),
                Op::LongLine(line) => Value::Int(decimal(line.strip_suffix(b"L").unwrap_or(line))?),
                Op::BinInt(n) => Value::Int(n),
                Op::Long1(bytes) => Value::Int(little_endian(bytes)?),
                Op::Unicode(line) => {
                    let mut text = Vec::with_capacity(line.len());
                    raw_unicode_escape(line, |cp| text.push(cp))?;
                    Value::Text(text)
                }
                Op::QuotedString(line) => Value::Bytes(python_string(line)?),
                Op::Bytes(bytes) => Value::Bytes(bytes.to_vec()),
                Op::Utf8(bytes) => utf8(bytes)?,
                Op::Global { module, name } => Value::Global(
                    String::from_utf8_lossy(module).into_owned(),
                    String::from_utf8_lossy(name).into_owned(),
                ),
                Op::StackGlobal => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Text(m), Value::Text(n)) => Value::Global(text_of(&m), text_of(&n)),
                        _ => return Err(PickleError::BadStackGlobal { offset: at }),
                    }
                }
                Op::Put(index) => {
                    self.put(index)?;
                    continue;
                }
                Op::Memoize => {
                    self.put(self.memo.len() as u64)?;
                    continue;
                }
                Op::Get(index) => self
                    .memo
                    .get(&index)
                    .cloned()
                    .ok_or(PickleError::UnknownMemo { index, offset: at })?,
                Op::EmptyTuple => Value::Tuple(Vec::new()),
                Op::Tuple => Value::Tuple(self.pop_to_mark()?),
                Op::TupleOf(n) => {
                    if self.stack.len() < n {
                        return Err(PickleError::ShortTuple { offset: at });
                    }
                    Value::Tuple(self.stack.split_off(self.stack.len() - n))
                }
                Op::Reduce => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    reduce(callable, args)?
                }
                // Not among OPCODES: the lexer refuses them.
                Op::EmptyDict | Op::Dict | Op::SetItem | Op::SetItems => {
                    return Err(PickleError::Opcode {
                        opcode: DICT,
                        offset: at,
                    })
                }
            };
            self.stack.push(value);
        }
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        match self.stack.pop() {
            Some(Value::Mark) | None => Err(PickleError::ShortStack),
            Some(value) => Ok(value),
        }
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or(PickleError::NoMark)?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn put(&mut self, index: u64) -> Result<(), PickleError> {
        match self.stack.last() {
            Some(Value::Mark) | None => Err(PickleError::MemoizesNothing),
            Some(value) => {
                self.memo.insert(index, value.clone());
                Ok(())
            }
        }
    }
}

/// The two calls a state file may hold.
fn reduce(callable: Value, args: Value) -> Result<Value, PickleError> {
    let Value::Global(module, name) = callable else {
        return Err(PickleError::NotCallable {
            what: callable.kind(),
        });
    };
    let Value::Tuple(args) = args else {
        return Err(PickleError::NoArguments { module, name });
    };
    match (module.as_str(), name.as_str(), args.as_slice()) {
        ("_codecs", "encode", [Value::Text(text), Value::Text(codec)])
            if matches!(text_of(codec).as_str(), "latin1" | "latin-1" | "iso-8859-1") =>
        {
            text.iter()
                .map(|&cp| u8::try_from(cp))
                .collect::<Result<Vec<u8>, _>>()
                .map(Value::Bytes)
                .map_err(|_| PickleError::NotLatin1)
        }
        ("datetime", "datetime", [Value::Bytes(state)]) => Ok(Value::DateTime(state.clone())),
        ("datetime", "datetime", [Value::Bytes(_), _]) => Err(PickleError::TimeZone),
        _ => Err(PickleError::Call { module, name }),
    }
}

fn decimal(text: &[u8]) -> Result<i64, PickleError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or_else(|| PickleError::NotAnInteger {
            text: text.to_vec(),
        })
}

fn little_endian(bytes: &[u8]) -> Result<i64, PickleError> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if bytes.len() > 8 {
        return Err(PickleError::IntegerTooLarge);
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut buf = if negative { [0xFF; 8] } else { [0; 8] };
    buf[..bytes.len()].copy_from_slice(bytes);
    Ok(i64::from_le_bytes(buf))
}

fn utf8(bytes: &[u8]) -> Result<Value, PickleError> {
    std::str::from_utf8(bytes)
        .map(|s| Value::Text(s.chars().map(u32::from).collect()))
        .map_err(|_| PickleError::NotUtf8)
}

fn text_of(cps: &[u32]) -> String {
    cps.iter()
        .map(|&cp| char::from_u32(cp).unwrap_or('\u{fffd}'))
        .collect()
}

/// A Python 2 `repr` of a byte string: quoted, with `\\`, `\'`, `\n`, `\xNN`, octal escapes.
fn python_string(line: &[u8]) -> Result<Vec<u8>, PickleError> {
    let bad = || PickleError::BadQuotes;
    let quote = *line.first().ok_or_else(bad)?;
    if !(quote == b'\'' || quote == b'"') || line.len() < 2 || line[line.len() - 1] != quote {
        return Err(bad());
    }
    let inner = &line[1..line.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] != b'\\' {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let next = *inner.get(i + 1).ok_or_else(bad)?;
        i += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' => {
                let hex = inner
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(bad)?;
                out.push(hex);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                let mut taken = 0;
                while taken < 2 && matches!(inner.get(i), Some(b'0'..=b'7')) {
                    value = value * 8 + u32::from(inner[i] - b'0');
                    i += 1;
                    taken += 1;
                }
                out.push(u8::try_from(value).map_err(|_| bad())?);
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_of_every_protocol() {
        assert_eq!(load_int(b"I5\n.").unwrap(), 5);
        assert_eq!(load_int(b"I-1\n.").unwrap(), -1);
        assert_eq!(load_int(b"L2147483648L\n.").unwrap(), 2147483648);
        // pickle.dumps(5, 2), (300, 2), (70000, 4), (2**40, 2)
        assert_eq!(load_int(b"\x80\x02K\x05.").unwrap(), 5);
        assert_eq!(load_int(b"\x80\x02M,\x01.").unwrap(), 300);
        assert_eq!(
            load_int(b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00Jp\x11\x01\x00.").unwrap(),
            70000
        );
        assert_eq!(
            load_int(b"\x80\x02\x8a\x06\x00\x00\x00\x00\x00\x01.").unwrap(),
            1 << 40
        );
    }

    #[test]
    fn bad_integers_say_why() {
        for (data, what) in [
            (&b""[..], "truncated"),
            (b"I5\n", "truncated"),
            (b"Ifive\n.", "not an integer"),
            (b"\xffgarbage", "opcode"),
            (b"garbage", "truncated"),
            (b"Vfive\n.", "not an integer"),
            (b"I1\nI2\n.", "exactly one value"),
        ] {
            let err = load_int(data).unwrap_err().to_string();
            assert!(err.contains(what), "{data:?}: {err}");
        }
    }

    #[test]
    fn other_calls_are_refused() {
        let err = load(b"cos\nsystem\n(Vtrue\ntR.").unwrap_err().to_string();
        assert!(err.contains("os.system"), "{err}");
        let err = load_datetime(b"I5\n.").unwrap_err().to_string();
        assert!(err.contains("not a datetime"), "{err}");
    }
}
