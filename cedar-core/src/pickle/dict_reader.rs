//! Reads the original's digest files: a Python pickle of a `{path: sha1-hex}` dict.
//!
//! [`DictReader`] streams the pairs of such a pickle: the text protocol 0 the original writes
//! and the binary protocols 2 to 5 (a dict of str to str, with memo references). Paths are kept
//! as raw bytes: Python stores undecodable file-name bytes as lone surrogates U+DC80..U+DCFF,
//! which map back to the bytes. [`read_dict`] is the whole-buffer form.
//!
//! Memory stays bounded however many pairs the pickle holds: the input is read opcode by
//! opcode ([`Lexer`]), one string is at most [`MAX_STRING`](super::MAX_STRING) bytes, the
//! unpickling stack (a batch of pairs between MARK and SETITEMS) is capped, and the memo (every
//! string is memoized, almost none is fetched again) is spilled to unnamed temporary files.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::lexer::{Lexer, Op};
use super::opcode::*;
use super::text::{file_name_of_utf8, push_file_name_char, raw_unicode_escape};
use super::PickleError;

/// The most values the unpickling stack may hold (Python batches 1000 pairs).
pub const MAX_STACK_VALUES: usize = 4096;
/// The most string bytes the unpickling stack may hold.
pub const MAX_STACK_BYTES: usize = 64 << 20;
/// The highest memo index accepted.
const MAX_MEMO_INDEX: u64 = u32::MAX as u64;

/// The opcodes of a dict of strings.
const OPCODES: &[&[u8]] = &[
    STRUCTURE,
    MEMO,
    TEXT,
    &[EMPTY_DICT, DICT, SETITEM, SETITEMS],
];

/// A raw-byte key and value.
pub type Pair = (Vec<u8>, Vec<u8>);

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
    lexer: Lexer<R>,
    /// Bounded by [`MAX_STACK_VALUES`] values and [`MAX_STACK_BYTES`] string bytes.
    stack: Vec<Value>,
    stack_bytes: usize,
    /// Pairs of a SETITEMS or DICT not emitted yet; drained before the next opcode is read,
    /// so bounded like the stack.
    pending: VecDeque<Pair>,
    /// Whether the dict was made (a pickle makes exactly one).
    dict_made: bool,
    memo: Memo,
    state: State,
}

impl<R: BufRead> std::fmt::Debug for DictReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictReader")
            .field("offset", &self.lexer.offset())
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
            lexer: Lexer::new(reader, OPCODES),
            stack: Vec::new(),
            stack_bytes: 0,
            pending: VecDeque::new(),
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
        self.lexer.release();
        self.memo.release();
    }

    /// Runs opcodes until a pair is ready or the pickle ends.
    fn step(&mut self) -> Result<Option<Pair>, PickleError> {
        loop {
            if let Some(pair) = self.pending.pop_front() {
                return Ok(Some(pair));
            }
            let (offset, op) = self.lexer.next_op().map_err(|err| match err {
                // A malformed memo index, like any other malformed dict pickle.
                PickleError::MemoIndex { .. } => PickleError::Shape,
                err => err,
            })?;
            match op {
                Op::Proto | Op::Frame => {}
                Op::Mark => self.push(Value::Mark, offset)?,
                Op::EmptyDict => {
                    self.make_dict()?;
                    self.push(Value::Dict, offset)?;
                }
                Op::Dict => {
                    let items = self.pop_to_mark()?;
                    let pairs = pairs(items)?;
                    self.make_dict()?;
                    self.push(Value::Dict, offset)?;
                    self.pending.extend(pairs);
                }
                Op::Unicode(line) => {
                    let mut text = Vec::with_capacity(line.len());
                    raw_unicode_escape(line, |cp| push_file_name_char(&mut text, cp))?;
                    self.push(Value::Str(text), offset)?;
                }
                Op::Utf8(raw) => {
                    let text = file_name_of_utf8(raw);
                    self.push(Value::Str(text), offset)?;
                }
                Op::Put(idx) => self.put(idx)?,
                Op::Memoize => {
                    let idx = self.memo.count();
                    self.put(idx)?;
                }
                Op::Get(idx) => self.get(idx, offset)?,
                Op::SetItem => {
                    let value = self.pop_str()?;
                    let key = self.pop_str()?;
                    return match self.stack.last() {
                        Some(Value::Dict) => Ok(Some((key, value))),
                        _ => Err(PickleError::Shape),
                    };
                }
                Op::SetItems => {
                    let items = self.pop_to_mark()?;
                    let pairs = pairs(items)?;
                    match self.stack.last() {
                        Some(Value::Dict) => self.pending.extend(pairs),
                        _ => return Err(PickleError::Shape),
                    }
                }
                Op::Stop => {
                    return match self.stack.as_slice() {
                        [Value::Dict] => Ok(None),
                        _ => Err(PickleError::Shape),
                    };
                }
                // Not among OPCODES: the lexer refuses them.
                _ => return Err(PickleError::Shape),
            }
        }
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

#[cfg(test)]
mod tests;
