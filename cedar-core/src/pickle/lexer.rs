//! The one reader of pickle opcodes: each opcode with its argument read and checked (lines,
//! counted strings, integers, memo indices), for the readers of a dict of strings
//! ([`super::DictReader`]) and of one value ([`super::load`]) to interpret.
//!
//! Memory stays bounded: a line or a counted string is at most [`MAX_STRING`] bytes, checked
//! before it is read, and is kept in one buffer the next opcode reuses.

use std::io::{self, BufRead, Read};
use std::ops::Range;

use super::opcode::*;
use super::PickleError;

/// The longest string (and protocol 0 line) accepted, in bytes of the pickle data.
pub const MAX_STRING: usize = 1 << 20;

/// One opcode with its argument. Strings borrow the lexer's buffer until the next opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// PROTO; the version is not checked.
    Proto,
    /// FRAME; the frame's opcodes follow inline.
    Frame,
    Stop,
    Mark,
    EmptyDict,
    Dict,
    SetItem,
    SetItems,
    EmptyTuple,
    Tuple,
    /// TUPLE1, TUPLE2, TUPLE3: that many values.
    TupleOf(usize),
    None,
    Bool(bool),
    /// INT: the decimal line (Python 2 writes `01` and `00` for booleans).
    IntLine(&'a [u8]),
    /// LONG: the decimal line, with its `L`.
    LongLine(&'a [u8]),
    /// BININT, BININT1, BININT2.
    BinInt(i64),
    /// LONG1: two's complement, little-endian.
    Long1(&'a [u8]),
    /// STRING: Python 2's quoted `repr` of a byte string.
    QuotedString(&'a [u8]),
    /// SHORT_BINSTRING, BINSTRING, SHORT_BINBYTES, BINBYTES.
    Bytes(&'a [u8]),
    /// UNICODE: a line in `raw-unicode-escape` (see [`super::text::raw_unicode_escape`]).
    Unicode(&'a [u8]),
    /// SHORT_BINUNICODE, BINUNICODE, BINUNICODE8: UTF-8, surrogates possibly encoded.
    Utf8(&'a [u8]),
    Global {
        module: &'a [u8],
        name: &'a [u8],
    },
    StackGlobal,
    Reduce,
    /// PUT, BINPUT, LONG_BINPUT: the memo index.
    Put(u64),
    Memoize,
    /// GET, BINGET, LONG_BINGET: the memo index.
    Get(u64),
}

/// Reads opcodes from `reader`. Opcodes outside the reader's `accepted` groups are refused
/// before their argument is read.
pub struct Lexer<R> {
    reader: R,
    /// Bytes consumed so far.
    offset: u64,
    accepted: &'static [&'static [u8]],
    /// The lines or counted string of the last opcode (at most [`MAX_STRING`] + 1 bytes each).
    buf: Vec<u8>,
}

impl<R> std::fmt::Debug for Lexer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexer")
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> Lexer<R> {
    pub fn new(reader: R, accepted: &'static [&'static [u8]]) -> Self {
        Lexer {
            reader,
            offset: 0,
            accepted,
            buf: Vec::new(),
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The buffer's capacity, for the tests of bounded memory.
    #[cfg(test)]
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Frees the buffer once the reading is over.
    pub fn release(&mut self) {
        self.buf = Vec::new();
    }

    /// The next opcode and the offset it starts at.
    pub fn next_op(&mut self) -> Result<(u64, Op<'_>), PickleError> {
        let at = self.offset;
        let code = self.byte()?;
        if !self.accepted.iter().any(|group| group.contains(&code)) {
            return Err(PickleError::Opcode {
                opcode: code,
                offset: at,
            });
        }
        self.buf.clear();
        let op = match code {
            PROTO => {
                self.byte()?;
                Op::Proto
            }
            FRAME => {
                self.array::<8>()?;
                Op::Frame
            }
            STOP => Op::Stop,
            MARK => Op::Mark,
            EMPTY_DICT => Op::EmptyDict,
            DICT => Op::Dict,
            SETITEM => Op::SetItem,
            SETITEMS => Op::SetItems,
            EMPTY_TUPLE => Op::EmptyTuple,
            TUPLE => Op::Tuple,
            TUPLE1 | TUPLE2 | TUPLE3 => Op::TupleOf(usize::from(code - TUPLE1) + 1),
            NONE => Op::None,
            NEWTRUE => Op::Bool(true),
            NEWFALSE => Op::Bool(false),
            INT | LONG | STRING | UNICODE => {
                let range = self.line(at)?;
                let line = &self.buf[range];
                match code {
                    INT => Op::IntLine(line),
                    LONG => Op::LongLine(line),
                    STRING => Op::QuotedString(line),
                    _ => Op::Unicode(line),
                }
            }
            BININT1 => Op::BinInt(i64::from(self.byte()?)),
            BININT2 => Op::BinInt(i64::from(u16::from_le_bytes(self.array()?))),
            BININT => Op::BinInt(i64::from(i32::from_le_bytes(self.array()?))),
            LONG1 | SHORT_BINSTRING | SHORT_BINBYTES | SHORT_BINUNICODE | BINSTRING | BINBYTES
            | BINUNICODE | BINUNICODE8 => {
                let n = match code {
                    BINSTRING | BINBYTES | BINUNICODE => {
                        u64::from(u32::from_le_bytes(self.array()?))
                    }
                    BINUNICODE8 => u64::from_le_bytes(self.array()?),
                    _ => u64::from(self.byte()?),
                };
                let range = self.counted(n, at)?;
                let bytes = &self.buf[range];
                match code {
                    LONG1 => Op::Long1(bytes),
                    SHORT_BINUNICODE | BINUNICODE | BINUNICODE8 => Op::Utf8(bytes),
                    _ => Op::Bytes(bytes),
                }
            }
            GLOBAL => {
                let module = self.line(at)?;
                let name = self.line(at)?;
                Op::Global {
                    module: &self.buf[module],
                    name: &self.buf[name],
                }
            }
            STACK_GLOBAL => Op::StackGlobal,
            REDUCE => Op::Reduce,
            PUT => Op::Put(self.index_line(at)?),
            BINPUT => Op::Put(u64::from(self.byte()?)),
            LONG_BINPUT => Op::Put(u64::from(u32::from_le_bytes(self.array()?))),
            MEMOIZE => Op::Memoize,
            GET => Op::Get(self.index_line(at)?),
            BINGET => Op::Get(u64::from(self.byte()?)),
            LONG_BINGET => Op::Get(u64::from(u32::from_le_bytes(self.array()?))),
            opcode => return Err(PickleError::Opcode { opcode, offset: at }),
        };
        Ok((at, op))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut buf = [0u8; N];
        self.reader.read_exact(&mut buf).map_err(read_error)?;
        self.offset += N as u64;
        Ok(buf)
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.array::<1>()?[0])
    }

    /// Appends a line (without its newline) of the opcode at `at` to the buffer.
    fn line(&mut self, at: u64) -> Result<Range<usize>, PickleError> {
        let start = self.buf.len();
        let n = (&mut self.reader)
            .take(MAX_STRING as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(read_error)?;
        self.offset += n as u64;
        if n > 0 && self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            Ok(start..self.buf.len())
        } else if n > MAX_STRING {
            Err(PickleError::TooLong { offset: at })
        } else {
            Err(PickleError::Truncated)
        }
    }

    /// Appends `n` bytes of the opcode at `at` to the buffer; more than [`MAX_STRING`] is
    /// refused before anything is read.
    fn counted(&mut self, n: u64, at: u64) -> Result<Range<usize>, PickleError> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_STRING)
            .ok_or(PickleError::TooLong { offset: at })?;
        let start = self.buf.len();
        self.buf.resize(start + n, 0);
        self.reader
            .read_exact(&mut self.buf[start..])
            .map_err(read_error)?;
        self.offset += n as u64;
        Ok(start..start + n)
    }

    /// A memo index written as a decimal line.
    fn index_line(&mut self, at: u64) -> Result<u64, PickleError> {
        let line = self.line(at)?;
        std::str::from_utf8(&self.buf[line])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(PickleError::MemoIndex { offset: at })
    }
}

fn read_error(err: io::Error) -> PickleError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        PickleError::Truncated
    } else {
        PickleError::Io(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&[u8]] = &[STRUCTURE, MEMO, TEXT, &[INT, LONG, GLOBAL]];

    fn ops(data: &[u8]) -> Vec<String> {
        let mut lexer = Lexer::new(data, ALL);
        let mut out = Vec::new();
        loop {
            match lexer.next_op() {
                Ok((_, Op::Stop)) => return out,
                Ok((at, op)) => out.push(format!("{at}:{op:?}")),
                Err(err) => {
                    out.push(err.to_string());
                    return out;
                }
            }
        }
    }

    #[test]
    fn arguments_are_read_with_their_opcode() {
        assert_eq!(
            ops(b"\x80\x02I5\nLx7L\ncdatetime\ndatetime\np12\nq\x03g 4\nX\x01\x00\x00\x00a."),
            vec![
                "0:Proto",
                "2:IntLine([53])",
                "5:LongLine([120, 55, 76])",
                "10:Global { module: [100, 97, 116, 101, 116, 105, 109, 101], name: [100, 97, 116, 101, 116, 105, 109, 101] }",
                "29:Put(12)",
                "33:Put(3)",
                "35:Get(4)",
                "39:Utf8([97])",
            ]
        );
    }

    #[test]
    fn problems_are_named_with_their_offset() {
        assert_eq!(
            ops(b"(K"),
            vec!["0:Mark", "unsupported pickle opcode 0x4b at offset 1"]
        );
        assert_eq!(
            ops(b"(px\n"),
            vec!["0:Mark", "the pickle holds a bad memo index at offset 1"]
        );
        assert_eq!(
            ops(b"(Vab"),
            vec!["0:Mark", "the pickle data ends too early (truncated)"]
        );
        assert_eq!(
            ops(b"X\xff\xff\xff\xff"),
            vec!["the pickle data holds a string longer than 1 MiB at offset 0"]
        );
    }
}
