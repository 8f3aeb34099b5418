//! The original's digest files: a Python pickle of a `{path: sha1-hex}` dict.
//!
//! [`read_dict`] understands the text protocol 0 the original writes and the binary protocols
//! 2 to 5 (a dict of str to str, with memo references). Paths are kept as raw bytes: Python
//! stores undecodable file-name bytes as lone surrogates U+DC80..U+DCFF, which map back to the
//! bytes. [`write_dict`] writes protocol 0, which the original reads back as well.

use std::collections::HashMap;

/// Why a pickle could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PickleError {
    #[error("unexpected end of the pickle data")]
    Truncated,
    #[error("unsupported pickle opcode 0x{opcode:02x} at offset {offset}")]
    Opcode { opcode: u8, offset: usize },
    #[error("the pickle does not hold a dict of strings")]
    Shape,
}

/// Raw-byte key and value pairs.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Debug, Clone)]
enum Value {
    Mark,
    Str(Vec<u8>),
    Dict(Pairs),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.pos.checked_add(n).ok_or(PickleError::Truncated)?;
        let slice = self.data.get(self.pos..end).ok_or(PickleError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }
    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }
    fn line(&mut self) -> Result<&'a [u8], PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated)?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }
    fn u32_le(&mut self) -> Result<usize, PickleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn u64_le(&mut self) -> Result<usize, PickleError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(a)).map_err(|_| PickleError::Truncated)
    }
}

/// Reads a pickled `{str: str}` dict into raw-byte keys and values.
pub fn read_dict(data: &[u8]) -> Result<HashMap<Vec<u8>, Vec<u8>>, PickleError> {
    let mut r = Reader { data, pos: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: HashMap<usize, Value> = HashMap::new();
    loop {
        let offset = r.pos;
        let op = r.byte()?;
        match op {
            0x80 => {
                r.byte()?; // PROTO n
            }
            0x95 => {
                r.take(8)?; // FRAME length
            }
            b'(' => stack.push(Value::Mark),
            b'}' => stack.push(Value::Dict(Vec::new())),
            b'd' => {
                let items = pop_to_mark(&mut stack)?;
                stack.push(Value::Dict(pairs(items)?));
            }
            b'V' => {
                let line = r.line()?;
                stack.push(Value::Str(decode_raw_unicode_escape(line)?));
            }
            b'X' => {
                let n = r.u32_le()?;
                stack.push(Value::Str(decode_utf8_surrogatepass(r.take(n)?)));
            }
            0x8c => {
                let n = r.byte()? as usize;
                stack.push(Value::Str(decode_utf8_surrogatepass(r.take(n)?)));
            }
            0x8d => {
                let n = r.u64_le()?;
                stack.push(Value::Str(decode_utf8_surrogatepass(r.take(n)?)));
            }
            b'p' => {
                let idx = parse_index(r.line()?)?;
                memo.insert(idx, stack.last().cloned().ok_or(PickleError::Shape)?);
            }
            b'q' => {
                let idx = r.byte()? as usize;
                memo.insert(idx, stack.last().cloned().ok_or(PickleError::Shape)?);
            }
            b'r' => {
                let idx = r.u32_le()?;
                memo.insert(idx, stack.last().cloned().ok_or(PickleError::Shape)?);
            }
            0x94 => {
                let idx = memo.len();
                memo.insert(idx, stack.last().cloned().ok_or(PickleError::Shape)?);
            }
            b'g' => {
                let idx = parse_index(r.line()?)?;
                stack.push(memo.get(&idx).cloned().ok_or(PickleError::Shape)?);
            }
            b'h' => {
                let idx = r.byte()? as usize;
                stack.push(memo.get(&idx).cloned().ok_or(PickleError::Shape)?);
            }
            b'j' => {
                let idx = r.u32_le()?;
                stack.push(memo.get(&idx).cloned().ok_or(PickleError::Shape)?);
            }
            b's' => {
                let value = pop_str(&mut stack)?;
                let key = pop_str(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::Dict(d)) => d.push((key, value)),
                    _ => return Err(PickleError::Shape),
                }
            }
            b'u' => {
                let items = pop_to_mark(&mut stack)?;
                let new = pairs(items)?;
                match stack.last_mut() {
                    Some(Value::Dict(d)) => d.extend(new),
                    _ => return Err(PickleError::Shape),
                }
            }
            b'.' => {
                return match stack.pop() {
                    Some(Value::Dict(d)) => Ok(d.into_iter().collect()),
                    _ => Err(PickleError::Shape),
                };
            }
            opcode => return Err(PickleError::Opcode { opcode, offset }),
        }
    }
}

fn parse_index(line: &[u8]) -> Result<usize, PickleError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or(PickleError::Shape)
}

fn pop_str(stack: &mut Vec<Value>) -> Result<Vec<u8>, PickleError> {
    match stack.pop() {
        Some(Value::Str(s)) => Ok(s),
        _ => Err(PickleError::Shape),
    }
}

fn pop_to_mark(stack: &mut Vec<Value>) -> Result<Vec<Value>, PickleError> {
    let mark = stack
        .iter()
        .rposition(|v| matches!(v, Value::Mark))
        .ok_or(PickleError::Shape)?;
    let items = stack.split_off(mark + 1);
    stack.pop();
    Ok(items)
}

fn pairs(items: Vec<Value>) -> Result<Pairs, PickleError> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let Some(key) = it.next() {
        match (key, it.next()) {
            (Value::Str(k), Some(Value::Str(v))) => out.push((k, v)),
            _ => return Err(PickleError::Shape),
        }
    }
    Ok(out)
}

/// Appends the file-name bytes of code point `cp` (a lone surrogate U+DC80..U+DCFF is the raw
/// byte it escapes).
fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    if (0xDC80..=0xDCFF).contains(&cp) {
        out.push((cp - 0xDC00) as u8);
    } else if let Some(c) = char::from_u32(cp) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    } else {
        out.extend_from_slice("\u{FFFD}".as_bytes());
    }
}

/// Python's `raw-unicode-escape`: bytes are Latin-1 code points, `\uXXXX` and `\UXXXXXXXX`
/// are escapes.
fn decode_raw_unicode_escape(line: &[u8]) -> Result<Vec<u8>, PickleError> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b'\\' && i + 1 < line.len() && (line[i + 1] == b'u' || line[i + 1] == b'U') {
            let digits = if line[i + 1] == b'u' { 4 } else { 8 };
            let hex = line
                .get(i + 2..i + 2 + digits)
                .ok_or(PickleError::Truncated)?;
            let cp = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or(PickleError::Shape)?;
            push_code_point(&mut out, cp);
            i += 2 + digits;
        } else {
            push_code_point(&mut out, u32::from(b));
            i += 1;
        }
    }
    Ok(out)
}

/// UTF-8 with encoded surrogates allowed (Python's `surrogatepass`).
fn decode_utf8_surrogatepass(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        // An encoded surrogate: ED A0..BF xx.
        if data[i] == 0xED && i + 2 < data.len() && (0xA0..=0xBF).contains(&data[i + 1]) {
            let cp = (u32::from(data[i] & 0x0F) << 12)
                | (u32::from(data[i + 1] & 0x3F) << 6)
                | u32::from(data[i + 2] & 0x3F);
            push_code_point(&mut out, cp);
            i += 3;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Python's view of a file-name: UTF-8, with each undecodable byte as a lone surrogate.
fn code_points(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend(s.chars().map(u32::from));
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.extend(
                    std::str::from_utf8(good)
                        .unwrap_or_default()
                        .chars()
                        .map(u32::from),
                );
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                out.extend(bad[..n].iter().map(|&b| 0xDC00 + u32::from(b)));
                rest = &bad[n..];
            }
        }
    }
    out
}

/// Protocol 0 `raw-unicode-escape` of a string, with the characters pickle escapes.
fn encode_text(bytes: &[u8], out: &mut Vec<u8>) {
    for cp in code_points(bytes) {
        match cp {
            0x00 | 0x0A | 0x0D | 0x1A | 0x5C => {
                out.extend_from_slice(format!("\\u{cp:04x}").as_bytes());
            }
            0..=0xFF => out.push(cp as u8),
            0x100..=0xFFFF => out.extend_from_slice(format!("\\u{cp:04x}").as_bytes()),
            _ => out.extend_from_slice(format!("\\U{cp:08x}").as_bytes()),
        }
    }
}

/// Writes `{key: value}` as a protocol 0 pickle, in the order given.
pub fn write_dict<'a>(entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    let mut out = b"(dp0\n".to_vec();
    let mut memo = 1usize;
    for (key, value) in entries {
        for text in [key, value] {
            out.push(b'V');
            encode_text(text, &mut out);
            out.extend_from_slice(format!("\np{memo}\n").as_bytes());
            memo += 1;
        }
        out.push(b's');
    }
    out.push(b'.');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_protocol_0_from_the_original() {
        let data = b"(dp0\nV/tmp/bb/src/excl/f\np1\nV094e\np2\nsV/tmp/new\\u000aline\np3\nV5954\np4\nsV/tmp/\xfcn\np5\ng2\ns.";
        let d = read_dict(data).unwrap();
        assert_eq!(d[&b"/tmp/bb/src/excl/f".to_vec()], b"094e");
        assert_eq!(d[&b"/tmp/new\nline".to_vec()], b"5954");
        assert_eq!(d[&"/tmp/\u{fc}n".as_bytes().to_vec()], b"094e");
    }

    #[test]
    fn reads_binary_protocols() {
        // pickle.dumps({'/a': 'x', '/b': 'x', '/\udcff': 'y'}, protocol=4)
        let data: &[u8] = b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02/a\x94\x8c\x01x\x94\x8c\x02/b\x94h\x02\x8c\x04/\xed\xb3\xbf\x94\x8c\x01y\x94u.";
        let d = read_dict(data).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[&b"/b".to_vec()], b"x");
        assert_eq!(d[&b"/\xff".to_vec()], b"y");
        // protocol 2: {'/a': 'x'}
        let data: &[u8] = b"\x80\x02}q\x00X\x02\x00\x00\x00/aq\x01X\x01\x00\x00\x00xq\x02s.";
        assert_eq!(read_dict(data).unwrap()[&b"/a".to_vec()], b"x");
    }

    #[test]
    fn round_trips_odd_names() {
        let names: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"/plain".to_vec(), b"aa".to_vec()),
            (b"/new\nline\\back\r".to_vec(), b"bb".to_vec()),
            ("/ünï€𝄞".as_bytes().to_vec(), b"cc".to_vec()),
            (b"/bad\xff\xfe".to_vec(), b"dd".to_vec()),
        ];
        let data = write_dict(names.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        let back = read_dict(&data).unwrap();
        assert_eq!(back.len(), names.len());
        for (k, v) in &names {
            assert_eq!(&back[k], v);
        }
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(read_dict(b"").is_err());
        assert!(read_dict(b"(lp0\n.").is_err());
        assert!(read_dict(b"\x80\x04K\x01.").is_err());
    }
}
