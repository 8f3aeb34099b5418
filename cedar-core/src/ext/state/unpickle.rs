//! A small unpickler for the values the original keeps in its state files: an `int` (the last
//! revision of a Subversion repository) and a naive `datetime.datetime` (the last run over an
//! mbox). The original writes protocol 0; the binary protocols 2 to 5 and Python 2's form of a
//! datetime (`S'...'`) are read too, so a file rewritten by any Python reads back.
//!
//! Nothing is imported or called: the only callables accepted are `datetime.datetime` on its
//! 10-byte state and `_codecs.encode(TEXT, 'latin1')`, which Python 3 uses to pickle those bytes.

use std::collections::HashMap;

use super::stamp::Stamp;

/// The largest state file read (the original's are under 100 bytes).
pub const MAX_PICKLE: usize = 64 * 1024;

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
    DateTime(Stamp),
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

/// Reads the one value of a pickle; errors say what is wrong, for the state file's message.
pub fn load(data: &[u8]) -> Result<Value, String> {
    if data.len() > MAX_PICKLE {
        return Err(format!(
            "{} bytes is too large for a state file",
            data.len()
        ));
    }
    Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

/// The integer a pickle holds.
pub fn load_int(data: &[u8]) -> Result<i64, String> {
    match load(data)? {
        Value::Int(n) => Ok(n),
        other => Err(format!("it holds {}, not an integer", other.kind())),
    }
}

/// The naive datetime a pickle holds.
pub fn load_stamp(data: &[u8]) -> Result<Stamp, String> {
    match load(data)? {
        Value::DateTime(stamp) => Ok(stamp),
        other => Err(format!("it holds {}, not a datetime", other.kind())),
    }
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u64, Value>,
}

impl<'a> Machine<'a> {
    fn run(mut self) -> Result<Value, String> {
        loop {
            let at = self.pos;
            let op = self.take(1)?[0];
            match op {
                b'.' => {
                    return match self.stack.as_slice() {
                        [value] if *value != Value::Mark => Ok(value.clone()),
                        _ => Err("the pickle does not end with exactly one value".to_string()),
                    };
                }
                0x80 => {
                    self.take(1)?;
                }
                0x95 => {
                    self.take(8)?;
                }
                b'(' => self.stack.push(Value::Mark),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'I' => {
                    let line = self.line()?;
                    let value = match line {
                        b"01" => Value::Bool(true),
                        b"00" => Value::Bool(false),
                        _ => Value::Int(decimal(line)?),
                    };
                    self.stack.push(value);
                }
                b'L' => {
                    let line = self.line()?;
                    let line = line.strip_suffix(b"L").unwrap_or(line);
                    self.stack.push(Value::Int(decimal(line)?));
                }
                b'K' => {
                    let n = self.take(1)?[0];
                    self.stack.push(Value::Int(i64::from(n)));
                }
                b'M' => {
                    let n = u16::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(i64::from(n)));
                }
                b'J' => {
                    let n = i32::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(i64::from(n)));
                }
                0x8a => {
                    let n = usize::from(self.take(1)?[0]);
                    let bytes = self.take(n)?;
                    self.stack.push(Value::Int(little_endian(bytes)?));
                }
                b'V' => {
                    let line = self.line()?;
                    self.stack.push(Value::Text(raw_unicode_escape(line)?));
                }
                b'S' => {
                    let line = self.line()?;
                    self.stack.push(Value::Bytes(python_string(line)?));
                }
                b'U' | b'C' => {
                    let n = usize::from(self.take(1)?[0]);
                    let bytes = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(bytes));
                }
                b'T' | b'B' => {
                    let n = u32::from_le_bytes(self.array()?) as usize;
                    let bytes = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(bytes));
                }
                0x8c => {
                    let n = usize::from(self.take(1)?[0]);
                    let text = utf8(self.take(n)?)?;
                    self.stack.push(text);
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.array()?) as usize;
                    let text = utf8(self.take(n)?)?;
                    self.stack.push(text);
                }
                b'c' => {
                    let module = String::from_utf8_lossy(self.line()?).into_owned();
                    let name = String::from_utf8_lossy(self.line()?).into_owned();
                    self.stack.push(Value::Global(module, name));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Text(m), Value::Text(n)) => {
                            self.stack.push(Value::Global(text_of(&m), text_of(&n)))
                        }
                        _ => return Err(format!("a bad STACK_GLOBAL at offset {at}")),
                    }
                }
                b'p' => {
                    let index = decimal(self.line()?)?;
                    self.put(index as u64)?;
                }
                b'q' => {
                    let index = self.take(1)?[0];
                    self.put(u64::from(index))?;
                }
                b'r' => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.put(u64::from(index))?;
                }
                0x94 => {
                    let index = self.memo.len() as u64;
                    self.put(index)?;
                }
                b'g' => {
                    let index = decimal(self.line()?)?;
                    self.get(index as u64, at)?;
                }
                b'h' => {
                    let index = self.take(1)?[0];
                    self.get(u64::from(index), at)?;
                }
                b'j' => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.get(u64::from(index), at)?;
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_to_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err(format!("a tuple of missing values at offset {at}"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let value = reduce(callable, args)?;
                    self.stack.push(value);
                }
                other => {
                    return Err(format!(
                        "unexpected pickle opcode 0x{other:02x} at offset {at}"
                    ))
                }
            }
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let data: &'a [u8] = self.data;
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= data.len())
            .ok_or_else(|| "the pickle ends too early (truncated)".to_string())?;
        let bytes = &data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn line(&mut self) -> Result<&'a [u8], String> {
        let data: &'a [u8] = self.data;
        let rest = &data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| "the pickle ends too early (truncated)".to_string())?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn pop(&mut self) -> Result<Value, String> {
        match self.stack.pop() {
            Some(Value::Mark) | None => Err("the pickle's stack is short of a value".to_string()),
            Some(value) => Ok(value),
        }
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or_else(|| "the pickle closes a tuple it never opened".to_string())?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn put(&mut self, index: u64) -> Result<(), String> {
        match self.stack.last() {
            Some(Value::Mark) | None => Err("the pickle memoizes a missing value".to_string()),
            Some(value) => {
                self.memo.insert(index, value.clone());
                Ok(())
            }
        }
    }

    fn get(&mut self, index: u64, at: usize) -> Result<(), String> {
        let value = self.memo.get(&index).cloned().ok_or_else(|| {
            format!("the pickle refers to an unknown memo {index} at offset {at}")
        })?;
        self.stack.push(value);
        Ok(())
    }
}

/// The two calls a state file may hold.
fn reduce(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Global(module, name) = callable else {
        return Err(format!("the pickle calls {}", callable.kind()));
    };
    let Value::Tuple(args) = args else {
        return Err(format!("the pickle calls {module}.{name} without a tuple"));
    };
    match (module.as_str(), name.as_str(), args.as_slice()) {
        ("_codecs", "encode", [Value::Text(text), Value::Text(codec)])
            if matches!(text_of(codec).as_str(), "latin1" | "latin-1" | "iso-8859-1") =>
        {
            text.iter()
                .map(|&cp| u8::try_from(cp))
                .collect::<Result<Vec<u8>, _>>()
                .map(Value::Bytes)
                .map_err(|_| "the pickle encodes a character beyond Latin-1".to_string())
        }
        ("datetime", "datetime", [Value::Bytes(state)]) => Stamp::from_state(state)
            .map(Value::DateTime)
            .ok_or_else(|| "the pickled datetime is not a valid date and time".to_string()),
        ("datetime", "datetime", [Value::Bytes(_), _]) => {
            Err("the pickled datetime has a time zone, which the original never writes".to_string())
        }
        _ => Err(format!(
            "the pickle calls {module}.{name}, which a state file never holds"
        )),
    }
}

fn decimal(text: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or_else(|| format!("`{}` is not an integer", String::from_utf8_lossy(text)))
}

fn little_endian(bytes: &[u8]) -> Result<i64, String> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if bytes.len() > 8 {
        return Err("the pickled integer is too large".to_string());
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut buf = if negative { [0xFF; 8] } else { [0; 8] };
    buf[..bytes.len()].copy_from_slice(bytes);
    Ok(i64::from_le_bytes(buf))
}

fn utf8(bytes: &[u8]) -> Result<Value, String> {
    std::str::from_utf8(bytes)
        .map(|s| Value::Text(s.chars().map(u32::from).collect()))
        .map_err(|_| "the pickle holds a string that is not UTF-8".to_string())
}

fn text_of(cps: &[u32]) -> String {
    cps.iter()
        .map(|&cp| char::from_u32(cp).unwrap_or('\u{fffd}'))
        .collect()
}

/// Python's `raw-unicode-escape`: `\uXXXX` and `\UXXXXXXXX`, every other byte one character.
fn raw_unicode_escape(line: &[u8]) -> Result<Vec<u32>, String> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let digits = match (line[i], line.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            (byte, _) => {
                out.push(u32::from(byte));
                i += 1;
                continue;
            }
        };
        let hex = line
            .get(i + 2..i + 2 + digits)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| "the pickle holds a bad \\u escape".to_string())?;
        out.push(hex);
        i += 2 + digits;
    }
    Ok(out)
}

/// A Python 2 `repr` of a byte string: quoted, with `\\`, `\'`, `\n`, `\xNN`, octal escapes.
fn python_string(line: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "the pickle holds a badly quoted string".to_string();
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
        assert_eq!(load_int(b"I5\n."), Ok(5));
        assert_eq!(load_int(b"I-1\n."), Ok(-1));
        assert_eq!(load_int(b"L2147483648L\n."), Ok(2147483648));
        // pickle.dumps(5, 2), (300, 2), (70000, 4), (2**40, 2)
        assert_eq!(load_int(b"\x80\x02K\x05."), Ok(5));
        assert_eq!(load_int(b"\x80\x02M,\x01."), Ok(300));
        assert_eq!(
            load_int(b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00Jp\x11\x01\x00."),
            Ok(70000)
        );
        assert_eq!(
            load_int(b"\x80\x02\x8a\x06\x00\x00\x00\x00\x00\x01."),
            Ok(1 << 40)
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
            let err = load_int(data).unwrap_err();
            assert!(err.contains(what), "{data:?}: {err}");
        }
    }

    #[test]
    fn datetimes_of_python_3_and_2() {
        let expected = Stamp {
            year: 2026,
            month: 12,
            day: 1,
            hour: 21,
            minute: 26,
            second: 7,
            micro: 268932,
        };
        let py3 = b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V\x07\xea\x0c\x01\x15\\u001a\x07\x04\\u001a\x84\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n.";
        assert_eq!(load_stamp(py3), Ok(expected));
        let py2 = b"cdatetime\ndatetime\np0\n(S'\\x07\\xea\\x0c\\x01\\x15\\x1a\\x07\\x04\\x1a\\x84'\np1\ntp2\nRp3\n.";
        assert_eq!(load_stamp(py2), Ok(expected));
        // pickle.dumps(d, 4)
        let py4 = b"\x80\x04\x95*\x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\n\x07\xea\x0c\x01\x15\x1a\x07\x04\x1a\x84\x94\x85\x94R\x94.";
        assert_eq!(load_stamp(py4), Ok(expected));
        // pickle.dumps(d, 2)
        let py2_binary = b"\x80\x02cdatetime\ndatetime\nq\x00c_codecs\nencode\nq\x01X\x0c\x00\x00\x00\x07\xc3\xaa\x0c\x01\x15\x1a\x07\x04\x1a\xc2\x84q\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05\x85q\x06Rq\x07.";
        assert_eq!(load_stamp(py2_binary), Ok(expected));
    }

    #[test]
    fn other_calls_are_refused() {
        let err = load(b"cos\nsystem\n(Vtrue\ntR.").unwrap_err();
        assert!(err.contains("os.system"), "{err}");
        let err = load_stamp(b"I5\n.").unwrap_err();
        assert!(err.contains("not a datetime"), "{err}");
    }
}
