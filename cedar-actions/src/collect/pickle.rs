//! The original's digest files: a Python pickle of a `{path: sha1-hex}` dict.
//!
//! [`DictReader`] streams the pairs of such a pickle: the text protocol 0 the original writes
//! and the binary protocols 2 to 5 (a dict of str to str, with memo references). Paths are kept
//! as raw bytes: Python stores undecodable file-name bytes as lone surrogates U+DC80..U+DCFF,
//! which map back to the bytes. [`DictWriter`] streams pairs out as protocol 0, which the
//! original reads back as well. [`read_dict`] and [`write_dict`] are the whole-buffer forms.
//!
//! Memory stays bounded however many pairs the pickle holds: the input is read opcode by
//! opcode, one string is at most [`MAX_STRING`] bytes, the unpickling stack (a batch of pairs
//! between MARK and SETITEMS) is capped, and the memo (every string is memoized, almost none is
//! fetched again) is spilled to unnamed temporary files.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The longest string (and protocol 0 line) accepted, in bytes of the pickle data.
pub const MAX_STRING: usize = 1 << 20;
/// The most values the unpickling stack may hold (Python batches 1000 pairs).
pub const MAX_STACK_VALUES: usize = 4096;
/// The most string bytes the unpickling stack may hold.
pub const MAX_STACK_BYTES: usize = 64 << 20;
/// The highest memo index accepted.
const MAX_MEMO_INDEX: u64 = u32::MAX as u64;

/// A raw-byte key and value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Why a pickle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PickleError {
    #[error("unexpected end of the pickle data")]
    Truncated,
    #[error("unsupported pickle opcode 0x{opcode:02x} at offset {offset}")]
    Opcode { opcode: u8, offset: u64 },
    #[error("the pickle does not hold a dict of strings")]
    Shape,
    #[error("the pickle data holds a string longer than 1 MiB at offset {offset}")]
    TooLong { offset: u64 },
    #[error(
        "the pickle data holds a batch too large (more than 4096 values or 64 MiB) at offset \
         {offset}"
    )]
    TooLarge { offset: u64 },
    #[error("cannot read the pickle data: {0}")]
    Io(#[source] io::Error),
    #[error("cannot spill the pickle memo to a temporary file: {0}")]
    Spill(#[source] io::Error),
    #[error("the pickle data was already found unreadable")]
    Failed,
    #[error("the pickle refers back to a memoized value at offset {offset}; read it with a memo")]
    NeedsMemo { offset: u64 },
}

/// A value on the unpickling stack. The dict is only a marker: its pairs are emitted as they
/// are set.
#[derive(Debug, Clone)]
enum Value {
    Mark,
    Str(Vec<u8>),
    Dict,
}

/// Where the reader stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed,
}

/// Streams the (key, value) pairs of a pickled `{str: str}` dict, in file order (a key may
/// repeat; the caller applies "last wins").
///
/// Pairs are emitted before the end of the pickle is seen, so a caller must take an `Err` at
/// any point as "the whole pickle is unusable" and discard the pairs it got. Only `Ok(None)`
/// (after STOP, with exactly the one dict on the stack) means the pairs were all of it.
pub struct DictReader<R: BufRead> {
    reader: R,
    /// Bytes consumed so far, for error messages.
    offset: u64,
    /// Bounded by [`MAX_STACK_VALUES`] values and [`MAX_STACK_BYTES`] string bytes.
    stack: Vec<Value>,
    stack_bytes: usize,
    /// Pairs of a SETITEMS or DICT not emitted yet; drained before the next opcode is read,
    /// so bounded like the stack.
    pending: VecDeque<Pair>,
    /// The last protocol 0 line read (at most [`MAX_STRING`] + 1 bytes).
    line: Vec<u8>,
    /// Whether the dict was made (a pickle makes exactly one).
    dict_made: bool,
    memo: Memo,
    state: State,
}

impl<R: BufRead> std::fmt::Debug for DictReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictReader")
            .field("offset", &self.offset)
            .field("stack_len", &self.stack.len())
            .field("pending", &self.pending.len())
            .field("memo", &self.memo)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> DictReader<R> {
    /// A reader of `reader`; the memo is spilled to unnamed temporary files in `spill_dir`,
    /// created when the first value is memoized.
    pub fn new(reader: R, spill_dir: &Path) -> Self {
        Self::with_memo(
            reader,
            Memo::Spill(Spill {
                dir: spill_dir.to_path_buf(),
                files: None,
                count: 0,
            }),
        )
    }

    /// A reader that keeps no memo at all: neither memory nor disk. A pickle that refers back
    /// to a memoized value (which neither the original nor [`DictWriter`] writes, since every
    /// string is a new object) fails with [`PickleError::NeedsMemo`]; read it again with
    /// [`DictReader::new`] then.
    pub fn without_memo(reader: R) -> Self {
        Self::with_memo(reader, Memo::Skip { count: 0 })
    }

    /// A reader keeping the memo in memory (for [`read_dict`], which holds everything anyway).
    fn in_memory(reader: R) -> Self {
        Self::with_memo(reader, Memo::Memory(HashMap::new()))
    }

    fn with_memo(reader: R, memo: Memo) -> Self {
        DictReader {
            reader,
            offset: 0,
            stack: Vec::new(),
            stack_bytes: 0,
            pending: VecDeque::new(),
            line: Vec::new(),
            dict_made: false,
            memo,
            state: State::Reading,
        }
    }

    /// The next pair; `Ok(None)` after the STOP of a well-formed dict pickle (and on every call
    /// after that). Malformed input or an I/O error is an `Err`, and every later call is
    /// [`PickleError::Failed`]. Data after STOP is not read.
    pub fn next_pair(&mut self) -> Result<Option<Pair>, PickleError> {
        match self.state {
            State::Reading => {}
            State::Done => return Ok(None),
            State::Failed => return Err(PickleError::Failed),
        }
        match self.step() {
            Ok(Some(pair)) => Ok(Some(pair)),
            Ok(None) => {
                self.state = State::Done;
                self.release();
                Ok(None)
            }
            Err(err) => {
                self.state = State::Failed;
                self.release();
                Err(err)
            }
        }
    }

    /// Frees what the reading held once it is over.
    fn release(&mut self) {
        self.stack = Vec::new();
        self.stack_bytes = 0;
        self.pending = VecDeque::new();
        self.line = Vec::new();
        self.memo.release();
    }

    /// Runs opcodes until a pair is ready or the pickle ends.
    fn step(&mut self) -> Result<Option<Pair>, PickleError> {
        loop {
            if let Some(pair) = self.pending.pop_front() {
                return Ok(Some(pair));
            }
            let offset = self.offset;
            let op = self.byte()?;
            match op {
                // PROTO n
                0x80 => {
                    self.byte()?;
                }
                // FRAME length: the frame's opcodes follow inline.
                0x95 => {
                    self.array::<8>()?;
                }
                b'(' => self.push(Value::Mark, offset)?,
                b'}' => {
                    self.make_dict()?;
                    self.push(Value::Dict, offset)?;
                }
                b'd' => {
                    let items = self.pop_to_mark()?;
                    let pairs = pairs(items)?;
                    self.make_dict()?;
                    self.push(Value::Dict, offset)?;
                    self.pending.extend(pairs);
                }
                b'V' => {
                    self.read_line(offset)?;
                    let text = decode_raw_unicode_escape(&self.line)?;
                    self.push(Value::Str(text), offset)?;
                }
                b'X' => {
                    let n = u64::from(u32::from_le_bytes(self.array()?));
                    self.push_utf8(n, offset)?;
                }
                0x8c => {
                    let n = u64::from(self.byte()?);
                    self.push_utf8(n, offset)?;
                }
                0x8d => {
                    let n = u64::from_le_bytes(self.array()?);
                    self.push_utf8(n, offset)?;
                }
                b'p' => {
                    self.read_line(offset)?;
                    let idx = parse_index(&self.line)?;
                    self.put(idx)?;
                }
                b'q' => {
                    let idx = u64::from(self.byte()?);
                    self.put(idx)?;
                }
                b'r' => {
                    let idx = u64::from(u32::from_le_bytes(self.array()?));
                    self.put(idx)?;
                }
                0x94 => {
                    let idx = self.memo.count();
                    self.put(idx)?;
                }
                b'g' => {
                    self.read_line(offset)?;
                    let idx = parse_index(&self.line)?;
                    self.get(idx, offset)?;
                }
                b'h' => {
                    let idx = u64::from(self.byte()?);
                    self.get(idx, offset)?;
                }
                b'j' => {
                    let idx = u64::from(u32::from_le_bytes(self.array()?));
                    self.get(idx, offset)?;
                }
                b's' => {
                    let value = self.pop_str()?;
                    let key = self.pop_str()?;
                    return match self.stack.last() {
                        Some(Value::Dict) => Ok(Some((key, value))),
                        _ => Err(PickleError::Shape),
                    };
                }
                b'u' => {
                    let items = self.pop_to_mark()?;
                    let pairs = pairs(items)?;
                    match self.stack.last() {
                        Some(Value::Dict) => self.pending.extend(pairs),
                        _ => return Err(PickleError::Shape),
                    }
                }
                b'.' => {
                    return match self.stack.as_slice() {
                        [Value::Dict] => Ok(None),
                        _ => Err(PickleError::Shape),
                    };
                }
                opcode => return Err(PickleError::Opcode { opcode, offset }),
            }
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut buf = [0u8; N];
        self.exact(&mut buf)?;
        Ok(buf)
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.array::<1>()?[0])
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), PickleError> {
        self.reader.read_exact(buf).map_err(read_error)?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// Reads a line (without its newline) into `self.line`.
    fn read_line(&mut self, offset: u64) -> Result<(), PickleError> {
        self.line.clear();
        let n = (&mut self.reader)
            .take(MAX_STRING as u64 + 1)
            .read_until(b'\n', &mut self.line)
            .map_err(read_error)?;
        self.offset += n as u64;
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
            Ok(())
        } else if self.line.len() > MAX_STRING {
            Err(PickleError::TooLong { offset })
        } else {
            Err(PickleError::Truncated)
        }
    }

    /// Reads a counted UTF-8 string of `n` bytes and pushes it.
    fn push_utf8(&mut self, n: u64, offset: u64) -> Result<(), PickleError> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_STRING)
            .ok_or(PickleError::TooLong { offset })?;
        let mut raw = vec![0u8; n];
        self.exact(&mut raw)?;
        self.push(Value::Str(decode_utf8_surrogatepass(&raw)), offset)
    }

    fn push(&mut self, value: Value, offset: u64) -> Result<(), PickleError> {
        let len = match &value {
            Value::Str(s) => s.len(),
            _ => 0,
        };
        if self.stack.len() >= MAX_STACK_VALUES || self.stack_bytes + len > MAX_STACK_BYTES {
            return Err(PickleError::TooLarge { offset });
        }
        self.stack_bytes += len;
        self.stack.push(value);
        Ok(())
    }

    fn pop_str(&mut self) -> Result<Vec<u8>, PickleError> {
        match self.stack.pop() {
            Some(Value::Str(s)) => {
                self.stack_bytes -= s.len();
                Ok(s)
            }
            _ => Err(PickleError::Shape),
        }
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or(PickleError::Shape)?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        for item in &items {
            if let Value::Str(s) = item {
                self.stack_bytes -= s.len();
            }
        }
        Ok(items)
    }

    /// Notes that the dict is made; a second dict is not the pickle of a dict of strings.
    fn make_dict(&mut self) -> Result<(), PickleError> {
        if std::mem::replace(&mut self.dict_made, true) {
            return Err(PickleError::Shape);
        }
        Ok(())
    }

    /// Memoizes the top of the stack at `idx`.
    fn put(&mut self, idx: u64) -> Result<(), PickleError> {
        if idx > MAX_MEMO_INDEX {
            return Err(PickleError::Shape);
        }
        match self.stack.last() {
            Some(value @ (Value::Str(_) | Value::Dict)) => self.memo.put(idx, value),
            _ => Err(PickleError::Shape),
        }
    }

    /// Pushes the value memoized at `idx`. The dict's pairs were emitted already: a get of it
    /// only pushes the dict marker (the original never does this).
    fn get(&mut self, idx: u64, offset: u64) -> Result<(), PickleError> {
        if idx > MAX_MEMO_INDEX {
            return Err(PickleError::Shape);
        }
        let value = self.memo.get(idx, offset)?;
        self.push(value, offset)
    }
}

fn read_error(err: io::Error) -> PickleError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        PickleError::Truncated
    } else {
        PickleError::Io(err)
    }
}

fn spill_error(err: io::Error) -> PickleError {
    PickleError::Spill(err)
}

/// The memo: memoized values by index.
#[derive(Debug)]
enum Memo {
    /// On disk, for [`DictReader::new`].
    Spill(Spill),
    /// In memory, for [`read_dict`].
    Memory(HashMap<u64, Value>),
    /// Not kept, for [`DictReader::without_memo`]: a get fails.
    Skip { count: u64 },
}

impl Memo {
    /// How many indices hold a value (the index MEMOIZE uses).
    fn count(&self) -> u64 {
        match self {
            Memo::Spill(spill) => spill.count,
            Memo::Memory(map) => map.len() as u64,
            Memo::Skip { count } => *count,
        }
    }

    fn put(&mut self, idx: u64, value: &Value) -> Result<(), PickleError> {
        match self {
            Memo::Spill(spill) => spill.put(idx, value).map_err(spill_error),
            Memo::Memory(map) => {
                map.insert(idx, value.clone());
                Ok(())
            }
            Memo::Skip { count } => {
                *count = count.saturating_add(1);
                Ok(())
            }
        }
    }

    /// The value memoized at `idx`, fetched by the opcode at `offset`.
    fn get(&mut self, idx: u64, offset: u64) -> Result<Value, PickleError> {
        match self {
            Memo::Spill(spill) => spill.get(idx),
            Memo::Memory(map) => map.get(&idx).cloned().ok_or(PickleError::Shape),
            Memo::Skip { .. } => Err(PickleError::NeedsMemo { offset }),
        }
    }

    fn release(&mut self) {
        match self {
            Memo::Spill(spill) => spill.files = None,
            Memo::Memory(map) => *map = HashMap::new(),
            Memo::Skip { .. } => {}
        }
    }
}

/// The size of an index record: the value's offset in the data file (u64 LE), then its tag
/// (u32 LE).
const RECORD: u64 = 12;
/// The tag of an index never put (a hole of the sparse index file reads as zeros).
const TAG_ABSENT: u32 = 0;
/// The tag of the dict itself; a string of `n` bytes has the tag `n + 1`.
const TAG_DICT: u32 = u32::MAX;

/// The memo spilled to two unnamed temporary files: the string bytes, appended, and an index
/// of fixed-size records at `idx * RECORD`.
#[derive(Debug)]
struct Spill {
    dir: PathBuf,
    /// Created at the first put.
    files: Option<SpillFiles>,
    /// How many indices hold a value.
    count: u64,
}

#[derive(Debug)]
struct SpillFiles {
    data: BufWriter<File>,
    /// The data file's length, buffered bytes included.
    data_len: u64,
    index: BufWriter<File>,
    /// The index file's length in records, buffered records included; the index writer's
    /// position is at its end.
    records: u64,
}

impl Spill {
    fn put(&mut self, idx: u64, value: &Value) -> io::Result<()> {
        let files = match &mut self.files {
            Some(files) => files,
            None => self.files.insert(SpillFiles {
                data: BufWriter::new(tempfile::tempfile_in(&self.dir)?),
                data_len: 0,
                index: BufWriter::new(tempfile::tempfile_in(&self.dir)?),
                records: 0,
            }),
        };
        let (offset, tag, bytes) = match value {
            // Strings are at most 4 * MAX_STRING bytes once decoded, so the tag fits.
            Value::Str(s) => (files.data_len, s.len() as u32 + 1, s.as_slice()),
            _ => (0, TAG_DICT, &[][..]),
        };
        let mut record = [0u8; RECORD as usize];
        record[..8].copy_from_slice(&offset.to_le_bytes());
        record[8..].copy_from_slice(&tag.to_le_bytes());
        if idx >= files.records {
            if idx > files.records {
                // Leaves a hole (zeros: TAG_ABSENT) for the indices skipped.
                files.index.seek(SeekFrom::Start(idx * RECORD))?;
            }
            files.index.write_all(&record)?;
            files.records = idx + 1;
            self.count += 1;
        } else {
            files.index.flush()?;
            let mut old = [0u8; RECORD as usize];
            files
                .index
                .get_ref()
                .read_exact_at(&mut old, idx * RECORD)?;
            if record_tag(&old) == TAG_ABSENT {
                self.count += 1;
            }
            files.index.get_ref().write_all_at(&record, idx * RECORD)?;
        }
        files.data.write_all(bytes)?;
        files.data_len += bytes.len() as u64;
        Ok(())
    }

    fn get(&mut self, idx: u64) -> Result<Value, PickleError> {
        let files = match &mut self.files {
            Some(files) if idx < files.records => files,
            _ => return Err(PickleError::Shape),
        };
        files.index.flush().map_err(spill_error)?;
        files.data.flush().map_err(spill_error)?;
        let mut record = [0u8; RECORD as usize];
        files
            .index
            .get_ref()
            .read_exact_at(&mut record, idx * RECORD)
            .map_err(spill_error)?;
        match record_tag(&record) {
            TAG_ABSENT => Err(PickleError::Shape),
            TAG_DICT => Ok(Value::Dict),
            tag => {
                let mut offset = [0u8; 8];
                offset.copy_from_slice(&record[..8]);
                let mut s = vec![0u8; (tag - 1) as usize];
                files
                    .data
                    .get_ref()
                    .read_exact_at(&mut s, u64::from_le_bytes(offset))
                    .map_err(spill_error)?;
                Ok(Value::Str(s))
            }
        }
    }
}

fn record_tag(record: &[u8; RECORD as usize]) -> u32 {
    u32::from_le_bytes([record[8], record[9], record[10], record[11]])
}

/// Reads a pickled `{str: str}` dict into raw-byte keys and values (the last of a repeated key
/// wins).
pub fn read_dict(data: &[u8]) -> Result<HashMap<Vec<u8>, Vec<u8>>, PickleError> {
    let mut reader = DictReader::in_memory(data);
    let mut map = HashMap::new();
    while let Some((key, value)) = reader.next_pair()? {
        map.insert(key, value);
    }
    Ok(map)
}

fn parse_index(line: &[u8]) -> Result<u64, PickleError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or(PickleError::Shape)
}

/// The items above a mark as key-value pairs.
fn pairs(items: Vec<Value>) -> Result<Vec<Pair>, PickleError> {
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
fn for_each_code_point(bytes: &[u8], mut f: impl FnMut(u32)) {
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                s.chars().for_each(|c| f(u32::from(c)));
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                std::str::from_utf8(good)
                    .unwrap_or_default()
                    .chars()
                    .for_each(|c| f(u32::from(c)));
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                bad[..n].iter().for_each(|&b| f(0xDC00 + u32::from(b)));
                rest = &bad[n..];
            }
        }
    }
}

/// Appends `\uXXXX` (`digits` 4) or `\UXXXXXXXX` (`digits` 8), lowercase as Python writes.
fn push_escape(out: &mut Vec<u8>, cp: u32, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'\\');
    out.push(if digits == 4 { b'u' } else { b'U' });
    for i in (0..digits).rev() {
        out.push(HEX[((cp >> (4 * i)) & 0xF) as usize]);
    }
}

/// Protocol 0 `raw-unicode-escape` of a string, with the characters pickle escapes.
fn encode_text(bytes: &[u8], out: &mut Vec<u8>) {
    for_each_code_point(bytes, |cp| match cp {
        0x00 | 0x0A | 0x0D | 0x1A | 0x5C => push_escape(out, cp, 4),
        0..=0xFF => out.push(cp as u8),
        0x100..=0xFFFF => push_escape(out, cp, 4),
        _ => push_escape(out, cp, 8),
    });
}

/// Writes pairs as a protocol 0 pickle of a dict as they come (`(dp0\n`, then per pair
/// `V<key>\np<n>\nV<value>\np<n+1>\ns`, then `.`), which the original reads back. Output is
/// buffered; dropped without [`DictWriter::finish`], the pickle lacks its STOP and does not
/// read back.
pub struct DictWriter<W: Write> {
    out: BufWriter<W>,
    /// The next memo index.
    memo: u64,
    /// The encoding of one pair.
    buf: Vec<u8>,
}

impl<W: Write> std::fmt::Debug for DictWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictWriter")
            .field("memo", &self.memo)
            .finish_non_exhaustive()
    }
}

impl<W: Write> DictWriter<W> {
    /// A writer to `out`; writes the header.
    pub fn new(out: W) -> io::Result<Self> {
        let mut out = BufWriter::new(out);
        out.write_all(b"(dp0\n")?;
        Ok(DictWriter {
            out,
            memo: 1,
            buf: Vec::new(),
        })
    }

    /// Writes the pair `key: value`.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.buf.clear();
        for text in [key, value] {
            self.buf.push(b'V');
            encode_text(text, &mut self.buf);
            write!(self.buf, "\np{}\n", self.memo)?;
            self.memo += 1;
        }
        self.buf.push(b's');
        self.out.write_all(&self.buf)
    }

    /// Writes STOP, flushes, and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.out;
        out.write_all(b".")?;
        let mut inner = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        inner.flush()?;
        Ok(inner)
    }
}

/// Writes `{key: value}` as a protocol 0 pickle, in the order given.
pub fn write_dict<'a>(entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    let write = || -> io::Result<Vec<u8>> {
        let mut writer = DictWriter::new(Vec::new())?;
        for (key, value) in entries {
            writer.push(key, value)?;
        }
        writer.finish()
    };
    // Writing to a Vec cannot fail.
    write().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;
    use std::process::{Command, Stdio};

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    const PROTO0_SAMPLE: &[u8] = b"(dp0\nV/tmp/bb/src/excl/f\np1\nV094e\np2\nsV/tmp/new\\u000aline\np3\nV5954\np4\nsV/tmp/\xfcn\np5\ng2\ns.";
    // pickle.dumps({'/a': 'x', '/b': 'x', '/\udcff': 'y'}, protocol=4)
    const PROTO4_SAMPLE: &[u8] = b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02/a\x94\x8c\x01x\x94\x8c\x02/b\x94h\x02\x8c\x04/\xed\xb3\xbf\x94\x8c\x01y\x94u.";
    // pickle.dumps({'/a': 'x'}, protocol=2)
    const PROTO2_SAMPLE: &[u8] = b"\x80\x02}q\x00X\x02\x00\x00\x00/aq\x01X\x01\x00\x00\x00xq\x02s.";

    fn pair(k: &[u8], v: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (k.to_vec(), v.to_vec())
    }

    /// All pairs of `data` through a spilling reader.
    fn stream(data: &[u8]) -> Result<Pairs, PickleError> {
        let dir = tempfile::tempdir().unwrap();
        stream_in(data, dir.path())
    }

    fn stream_in(data: &[u8], dir: &Path) -> Result<Pairs, PickleError> {
        let mut reader = DictReader::new(data, dir);
        let mut out = Vec::new();
        while let Some(p) = reader.next_pair()? {
            out.push(p);
        }
        // Finished readers stay finished.
        assert!(reader.next_pair().unwrap().is_none());
        Ok(out)
    }

    /// The pairs read before the reader ended, and how it ended.
    fn stream_partial(data: &[u8], dir: &Path) -> (Pairs, Result<(), PickleError>) {
        let mut reader = DictReader::new(data, dir);
        let mut out = Vec::new();
        loop {
            match reader.next_pair() {
                Ok(Some(p)) => out.push(p),
                Ok(None) => return (out, Ok(())),
                Err(err) => {
                    assert!(matches!(reader.next_pair(), Err(PickleError::Failed)));
                    return (out, Err(err));
                }
            }
        }
    }

    fn write_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut writer = DictWriter::new(Vec::new()).unwrap();
        for (k, v) in pairs {
            writer.push(k, v).unwrap();
        }
        writer.finish().unwrap()
    }

    /// The writer as it was before streaming, to check the bytes did not change.
    fn old_write_dict(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        fn code_points(bytes: &[u8]) -> Vec<u32> {
            let mut out = Vec::new();
            for_each_code_point(bytes, |cp| out.push(cp));
            out
        }
        let mut out = b"(dp0\n".to_vec();
        let mut memo = 1usize;
        for (key, value) in entries {
            for text in [key, value] {
                out.push(b'V');
                for cp in code_points(text) {
                    match cp {
                        0x00 | 0x0A | 0x0D | 0x1A | 0x5C => {
                            out.extend_from_slice(format!("\\u{cp:04x}").as_bytes());
                        }
                        0..=0xFF => out.push(cp as u8),
                        0x100..=0xFFFF => out.extend_from_slice(format!("\\u{cp:04x}").as_bytes()),
                        _ => out.extend_from_slice(format!("\\U{cp:08x}").as_bytes()),
                    }
                }
                out.extend_from_slice(format!("\np{memo}\n").as_bytes());
                memo += 1;
            }
            out.push(b's');
        }
        out.push(b'.');
        out
    }

    fn odd_names() -> Pairs {
        vec![
            pair(b"/plain", b"aa"),
            pair(b"/new\nline\\back\r", b"bb"),
            pair(b"/nul\0sub\x1a", b"cc"),
            pair("/ünï€𝄞".as_bytes(), b"dd"),
            pair(b"/bad\xff\xfe", b"ee"),
            pair(b"/latin\xe9\xc3", b""),
            pair(b"", b"\\u0041"),
            pair(b"/plain", b"last"),
        ]
    }

    fn generated(n: usize) -> Pairs {
        (0..n)
            .map(|i| {
                let mut k = format!("/gen/{}/{}", i % 97, i).into_bytes();
                k.push(0x80 + (i % 128) as u8);
                k.extend_from_slice(if i % 3 == 0 { "é" } else { "𝄞\n\\" }.as_bytes());
                (k, format!("{:040x}", i as u64 * 2_654_435_761).into_bytes())
            })
            .collect()
    }

    /// A protocol 4 pickle as Python writes it: frames, MEMOIZE, SETITEMS batches of 1000.
    fn protocol4(pairs: &[(Vec<u8>, Vec<u8>)], batch: usize) -> Vec<u8> {
        fn string(out: &mut Vec<u8>, s: &[u8]) {
            let mut enc = Vec::new();
            for_each_code_point(s, |cp| {
                // Surrogates are encoded like other code points (surrogatepass).
                let c = char::from_u32(cp);
                match c {
                    Some(c) => enc.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                    None => enc.extend_from_slice(&[
                        0xE0 | (cp >> 12) as u8,
                        0x80 | ((cp >> 6) & 0x3F) as u8,
                        0x80 | (cp & 0x3F) as u8,
                    ]),
                }
            });
            if enc.len() < 256 {
                out.push(0x8c);
                out.push(enc.len() as u8);
            } else {
                out.push(b'X');
                out.extend_from_slice(&(enc.len() as u32).to_le_bytes());
            }
            out.extend_from_slice(&enc);
            out.push(0x94);
        }
        let mut out = b"\x80\x04".to_vec();
        let mut frame = b"}\x94".to_vec();
        for chunk in pairs.chunks(batch) {
            frame.push(b'(');
            for (k, v) in chunk {
                string(&mut frame, k);
                string(&mut frame, v);
            }
            frame.push(b'u');
            out.push(0x95);
            out.extend_from_slice(&(frame.len() as u64).to_le_bytes());
            out.append(&mut frame);
        }
        out.push(b'.');
        out
    }

    #[test]
    fn reads_protocol_0_from_the_original() {
        let data = PROTO0_SAMPLE;
        let d = read_dict(data).unwrap();
        assert_eq!(d[&b"/tmp/bb/src/excl/f".to_vec()], b"094e");
        assert_eq!(d[&b"/tmp/new\nline".to_vec()], b"5954");
        assert_eq!(d[&"/tmp/\u{fc}n".as_bytes().to_vec()], b"094e");
    }

    #[test]
    fn reads_binary_protocols() {
        let data = PROTO4_SAMPLE;
        let d = read_dict(data).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[&b"/b".to_vec()], b"x");
        assert_eq!(d[&b"/\xff".to_vec()], b"y");
        assert_eq!(read_dict(PROTO2_SAMPLE).unwrap()[&b"/a".to_vec()], b"x");
    }

    #[test]
    fn round_trips_odd_names() {
        let names = odd_names();
        let data = write_dict(names.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        let back = read_dict(&data).unwrap();
        assert_eq!(back.len(), names.len() - 1);
        assert_eq!(back[&b"/plain".to_vec()], b"last");
        for (k, v) in &names[1..] {
            assert_eq!(&back[k], v);
        }
    }

    #[test]
    fn without_a_memo_puts_are_skipped_and_a_get_asks_for_one() {
        let plain = write_dict([(&b"/a"[..], &b"1"[..]), (&b"/b"[..], &b"2"[..])]);
        let mut reader = DictReader::without_memo(&plain[..]);
        assert_eq!(
            reader.next_pair().unwrap(),
            Some((b"/a".to_vec(), b"1".to_vec()))
        );
        assert_eq!(
            reader.next_pair().unwrap(),
            Some((b"/b".to_vec(), b"2".to_vec()))
        );
        assert!(reader.next_pair().unwrap().is_none());
        let with_get: &[u8] = b"(dp0\nV/a\np1\nV094e\np2\nsV/b\np3\ng2\ns.";
        let mut reader = DictReader::without_memo(with_get);
        assert!(reader.next_pair().unwrap().is_some());
        let err = reader.next_pair().unwrap_err();
        assert!(
            matches!(err, PickleError::NeedsMemo { offset } if offset > 0),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(read_dict(b"").is_err());
        assert!(read_dict(b"(lp0\n.").is_err());
        assert!(read_dict(b"\x80\x04K\x01.").is_err());
        for data in [
            &b""[..],
            b"(lp0\n.",
            b"\x80\x04K\x01.",
            b"}}.",
            b"}(Va\nd.",
            b"V\n.",
        ] {
            assert!(stream(data).is_err(), "{data:?}");
        }
        // STOP needs exactly the dict on the stack.
        assert!(matches!(stream(b"Va\n}."), Err(PickleError::Shape)));
        assert!(matches!(stream(b"}Va\n."), Err(PickleError::Shape)));
        // A get of the dict pushes it again, which is not a dict pickle.
        assert!(matches!(stream(b"}q\x00h\x00."), Err(PickleError::Shape)));
        // A pair set into something else than the dict.
        assert!(matches!(
            stream(b"}Va\nVb\nVc\ns."),
            Err(PickleError::Shape)
        ));
        assert!(matches!(stream(b"}(Va\n."), Err(PickleError::Shape)));
        assert!(matches!(
            stream(b"}K"),
            Err(PickleError::Opcode {
                opcode: b'K',
                offset: 1
            })
        ));
    }

    #[test]
    fn streams_round_trip_of_odd_names() {
        let names = odd_names();
        let data = write_pairs(&names);
        assert_eq!(data, old_write_dict(&names));
        assert_eq!(
            data,
            write_dict(names.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
        );
        assert_eq!(stream(&data).unwrap(), names);
    }

    #[test]
    fn streams_round_trip_of_many_pairs() {
        let pairs = generated(100_000);
        let data = write_pairs(&pairs);
        assert_eq!(data, old_write_dict(&pairs));
        assert_eq!(stream(&data).unwrap(), pairs);
        // Through a buffered file reader too.
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&data).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut reader = DictReader::new(BufReader::new(file), dir.path());
        let mut n = 0;
        while let Some((k, v)) = reader.next_pair().unwrap() {
            assert_eq!((&k, &v), (&pairs[n].0, &pairs[n].1));
            n += 1;
        }
        assert_eq!(n, pairs.len());
    }

    #[test]
    fn streams_the_samples_with_the_memo_spilled() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            stream_in(PROTO0_SAMPLE, dir.path()).unwrap(),
            vec![
                pair(b"/tmp/bb/src/excl/f", b"094e"),
                pair(b"/tmp/new\nline", b"5954"),
                pair("/tmp/\u{fc}n".as_bytes(), b"094e"),
            ]
        );
        assert_eq!(
            stream_in(PROTO4_SAMPLE, dir.path()).unwrap(),
            vec![pair(b"/a", b"x"), pair(b"/b", b"x"), pair(b"/\xff", b"y")]
        );
        assert_eq!(
            stream_in(PROTO2_SAMPLE, dir.path()).unwrap(),
            vec![pair(b"/a", b"x")]
        );
        // The spill files are unnamed: nothing is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn memo_puts_out_of_order_and_overwritten() {
        // `a` at 0 (MEMOIZE), `b` at 1 (BINPUT), `c` at 5 (BINPUT, leaving a hole), `d` at 3
        // (MEMOIZE: three indices held), `b2` overwrites 1, `e` at 4 (MEMOIZE: four held).
        let data: &[u8] = b"\x80\x04}(\x8c\x01a\x94\x8c\x01bq\x01\x8c\x01cq\x05\x8c\x01d\x94\x8c\x02b2q\x01\x8c\x01e\x94h\x00h\x01h\x05h\x03h\x04\x8c\x01fu.";
        let want = vec![
            pair(b"a", b"b"),
            pair(b"c", b"d"),
            pair(b"b2", b"e"),
            pair(b"a", b"b2"),
            pair(b"c", b"d"),
            pair(b"e", b"f"),
        ];
        assert_eq!(stream(data).unwrap(), want);
        let from_memory: HashMap<_, _> = want.into_iter().collect();
        assert_eq!(read_dict(data).unwrap(), from_memory);
        // Gets of an index never put: in a hole, past the end, or with no memo at all.
        let hole = data.iter().rposition(|&b| b == b'h').unwrap() + 1;
        let mut bad = data.to_vec();
        bad[hole] = 2;
        assert!(matches!(stream(&bad), Err(PickleError::Shape)));
        assert!(matches!(read_dict(&bad), Err(PickleError::Shape)));
        assert!(matches!(
            stream(b"}(Va\nq\x05h\x03Vb\nu."),
            Err(PickleError::Shape)
        ));
        assert!(matches!(
            stream(b"}(Va\nq\x05h\x06Vb\nu."),
            Err(PickleError::Shape)
        ));
        assert!(matches!(stream(b"}(h\x00Vb\nu."), Err(PickleError::Shape)));
        assert!(matches!(stream(b"}(g7\nVb\nu."), Err(PickleError::Shape)));
        // Indices past 2^32 - 1 are malformed.
        assert!(matches!(
            stream(b"}p4294967296\n."),
            Err(PickleError::Shape)
        ));
        assert!(matches!(
            stream(b"}Va\ng4294967296\n."),
            Err(PickleError::Shape)
        ));
        assert!(matches!(stream(b"}px\n."), Err(PickleError::Shape)));
        // A put with nothing (or a mark) on top.
        assert!(matches!(stream(b"p0\n}."), Err(PickleError::Shape)));
        assert!(matches!(stream(b"}(p0\nu."), Err(PickleError::Shape)));
    }

    #[test]
    fn spill_files_are_made_only_when_needed() {
        let missing = Path::new("/nonexistent/cback-pickle-spill");
        assert_eq!(
            stream_in(b"(Va\nVb\nd.", missing).unwrap(),
            vec![pair(b"a", b"b")]
        );
        assert_eq!(
            stream_in(b"(dVa\nVb\nsVc\nVd\ns.", missing).unwrap(),
            vec![pair(b"a", b"b"), pair(b"c", b"d")]
        );
        assert!(matches!(
            stream_in(PROTO0_SAMPLE, missing),
            Err(PickleError::Spill(_))
        ));
    }

    #[test]
    fn reads_old_protocol_0_dict_form() {
        // `(` key value key value `d`: the pairs above the mark.
        let data = b"(Va\nVb\nVc\nVd\ndp0\nVe\nVf\ns.";
        assert_eq!(
            stream(data).unwrap(),
            vec![pair(b"a", b"b"), pair(b"c", b"d"), pair(b"e", b"f")]
        );
        assert!(matches!(stream(b"(Va\nd."), Err(PickleError::Shape)));
    }

    #[test]
    fn batches_are_bounded() {
        // Python batches 1000 pairs; a batch of 1500 is fine.
        let pairs = generated(1500);
        let data = protocol4(&pairs, 1500);
        assert_eq!(stream(&data).unwrap(), pairs);
        // 2048 pairs are 4096 values, plus the dict and the mark: too many.
        let pairs = generated(2048);
        let data = protocol4(&pairs, 2048);
        assert!(matches!(stream(&data), Err(PickleError::TooLarge { .. })));
        let mut data = b"}(".to_vec();
        for _ in 0..5000 {
            data.extend_from_slice(b"\x8c\x01a");
        }
        data.extend_from_slice(b"u.");
        assert!(matches!(stream(&data), Err(PickleError::TooLarge { .. })));
        // Too many bytes: 65 strings of 1 MiB.
        let mut data = b"}(".to_vec();
        for _ in 0..65 {
            data.push(b'X');
            data.extend_from_slice(&(MAX_STRING as u32).to_le_bytes());
            data.resize(data.len() + MAX_STRING, b'a');
        }
        data.extend_from_slice(b"u.");
        assert!(matches!(stream(&data), Err(PickleError::TooLarge { .. })));
    }

    #[test]
    fn long_strings_are_rejected_before_reading_them() {
        // Length fields far beyond the data: an error at once, not an allocation.
        assert!(matches!(
            stream(b"\x80\x04}(X\xff\xff\xff\xff"),
            Err(PickleError::TooLong { offset: 4 })
        ));
        assert!(matches!(
            stream(b"\x80\x04}(\x8d\xff\xff\xff\xff\xff\xff\xff\xff"),
            Err(PickleError::TooLong { offset: 4 })
        ));
        let mut data = b"}(X".to_vec();
        data.extend_from_slice(&(MAX_STRING as u32 + 1).to_le_bytes());
        assert!(matches!(
            stream(&data),
            Err(PickleError::TooLong { offset: 2 })
        ));
        // A string of exactly the limit is fine.
        let mut data = b"}X".to_vec();
        data.extend_from_slice(&(MAX_STRING as u32).to_le_bytes());
        data.resize(data.len() + MAX_STRING, b'k');
        data.extend_from_slice(b"\x8c\x01vs.");
        let got = stream(&data).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.len(), MAX_STRING);
        // Lines: one longer than the limit, with or without its newline.
        for newline in [false, true] {
            let mut data = b"(dV".to_vec();
            data.resize(data.len() + MAX_STRING + 1, b'a');
            if newline {
                data.push(b'\n');
            }
            assert!(matches!(
                stream(&data),
                Err(PickleError::TooLong { offset: 2 })
            ));
        }
        let mut data = b"(dV".to_vec();
        data.resize(data.len() + MAX_STRING, b'a');
        data.extend_from_slice(b"\nVv\ns.");
        assert_eq!(stream(&data).unwrap()[0].0.len(), MAX_STRING);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_pairs(&odd_names());
        let python = protocol4(&generated(30), 7);
        for data in [
            PROTO0_SAMPLE,
            PROTO2_SAMPLE,
            PROTO4_SAMPLE,
            &written,
            &python,
        ] {
            let (all, end) = stream_partial(data, dir.path());
            end.unwrap();
            for len in 0..data.len() {
                let (got, end) = stream_partial(&data[..len], dir.path());
                assert!(end.is_err(), "prefix of {len} bytes ended cleanly");
                assert_eq!(got, all[..got.len()], "prefix of {len} bytes");
            }
        }
        // Data after STOP is not read.
        let mut data = PROTO2_SAMPLE.to_vec();
        data.extend_from_slice(b"garbage");
        assert_eq!(stream(&data).unwrap(), vec![pair(b"/a", b"x")]);
    }

    #[test]
    fn io_errors_surface() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        for len in [0, 10, 30, PROTO0_SAMPLE.len() - 1] {
            let input = BufReader::new(PROTO0_SAMPLE[..len].chain(Failing));
            let mut reader = DictReader::new(input, dir.path());
            let err = loop {
                match reader.next_pair() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("ended cleanly"),
                    Err(err) => break err,
                }
            };
            assert!(matches!(err, PickleError::Io(_)), "{err:?}");
            assert_eq!(err.to_string(), "cannot read the pickle data: boom");
        }
    }

    #[test]
    fn reads_a_large_protocol_4_pickle_with_bounded_state() {
        let pairs = generated(200_000);
        let data = protocol4(&pairs, 1000);
        let dir = tempfile::tempdir().unwrap();
        let mut reader = DictReader::new(&data[..], dir.path());
        let mut n = 0;
        let mut most_pending = 0;
        while let Some((k, v)) = reader.next_pair().unwrap() {
            assert_eq!((&k, &v), (&pairs[n].0, &pairs[n].1));
            n += 1;
            most_pending = most_pending.max(reader.pending.len());
            // The state the reader holds does not grow with the number of pairs.
            assert!(reader.stack.capacity() <= MAX_STACK_VALUES);
            assert!(reader.pending.capacity() <= MAX_STACK_VALUES);
            assert!(reader.line.capacity() <= MAX_STRING + 1);
            if let Memo::Spill(spill) = &reader.memo {
                if let Some(files) = &spill.files {
                    assert!(files.data.capacity() <= 8 * 1024);
                    assert!(files.index.capacity() <= 8 * 1024);
                }
            } else {
                panic!("the memo is not spilled");
            }
        }
        assert_eq!(n, pairs.len());
        assert_eq!(most_pending, 999);
        assert!(format!("{reader:?}").starts_with("DictReader"));
    }

    fn python3() -> bool {
        let ok = Command::new("python3")
            .args(["-c", "import pickle"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: python3 with pickle is not available");
        }
        ok
    }

    /// Names with surrogate-escaped bytes, newlines, backslashes and non-BMP characters, and a
    /// shared value object (so the pickler emits memo gets).
    const PY_DICT: &str = r#"
import pickle, sys
names = [b'/plain', b'/new\nline', b'/back\\slash', b'/cr\r', b'/nul\x00', b'/sub\x1a',
         '/\u00fcn\u00ef\u20ac\U0001d11e'.encode(), b'/bad\xff\xfe', b'/latin\xe9', b'/mix\xc3\xa9\xff', b'']
for i in range(2500):
    names.append(b'/gen/%d/' % i + bytes([0x80 + i % 128]) + ('\u00e9' if i % 3 else '\U0001d11e').encode())
shared = 'shared-value'
d = {}
for i, n in enumerate(names):
    d[n.decode('utf-8', 'surrogateescape')] = shared if i % 7 == 0 else '%040x' % (i * 2654435761)
"#;

    const PY_PRINT: &str = r#"
for k, v in d.items():
    print(k.encode('utf-8', 'surrogateescape').hex(), v.encode('utf-8', 'surrogateescape').hex())
"#;

    fn parse_hex_lines(out: &[u8]) -> Pairs {
        fn unhex(s: &str) -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        }
        std::str::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| {
                let (k, v) = line.split_once(' ').unwrap();
                (unhex(k), unhex(v))
            })
            .collect()
    }

    fn python(script: &str, input: Vec<u8>) -> Vec<u8> {
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success(), "python3 failed");
        out.stdout
    }

    #[test]
    fn reads_what_python_writes() {
        if !python3() {
            return;
        }
        let want = parse_hex_lines(&python(&format!("{PY_DICT}{PY_PRINT}"), Vec::new()));
        assert_eq!(want.len(), 2511);
        assert!(want.contains(&pair(b"/bad\xff\xfe", b"shared-value")));
        let dir = tempfile::tempdir().unwrap();
        for proto in [0, 2, 4, 5] {
            let data = python(
                &format!("{PY_DICT}\nsys.stdout.buffer.write(pickle.dumps(d, protocol={proto}))"),
                Vec::new(),
            );
            assert_eq!(
                stream_in(&data, dir.path()).unwrap(),
                want,
                "protocol {proto}"
            );
            let map: HashMap<_, _> = want.iter().cloned().collect();
            assert_eq!(read_dict(&data).unwrap(), map, "protocol {proto}");
        }
    }

    #[test]
    fn python_reads_what_we_write() {
        if !python3() {
            return;
        }
        let mut pairs = odd_names();
        pairs.pop(); // Python keeps the first position of a repeated key.
        pairs.extend(generated(3000));
        let out = python(
            &format!("import pickle, sys\nd = pickle.load(sys.stdin.buffer)\n{PY_PRINT}"),
            write_pairs(&pairs),
        );
        assert_eq!(parse_hex_lines(&out), pairs);
    }
}
