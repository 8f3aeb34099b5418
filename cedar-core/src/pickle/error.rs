//! Why a pickle could not be read.

use std::io;

/// Why a pickle could not be read: the opcode stream, the dict of strings of a digest file, or
/// the value of a state file.
#[derive(Debug, thiserror::Error)]
pub enum PickleError {
    #[error("the pickle data ends too early (truncated)")]
    Truncated,
    #[error("unsupported pickle opcode 0x{opcode:02x} at offset {offset}")]
    Opcode { opcode: u8, offset: u64 },
    #[error("the pickle data holds a string longer than 1 MiB at offset {offset}")]
    TooLong { offset: u64 },
    #[error("cannot read the pickle data: {0}")]
    Io(#[source] io::Error),
    #[error("the pickle holds a bad memo index at offset {offset}")]
    MemoIndex { offset: u64 },
    #[error("the pickle holds a bad \\u escape")]
    Escape,

    // A dict of strings.
    #[error("the pickle does not hold a dict of strings")]
    Shape,
    #[error(
        "the pickle data holds a batch too large (more than 4096 values or 64 MiB) at offset \
         {offset}"
    )]
    TooLarge { offset: u64 },
    #[error("cannot spill the pickle memo to a temporary file: {0}")]
    Spill(#[source] io::Error),
    #[error("the pickle data was already found unreadable")]
    Failed,
    #[error("the pickle refers back to a memoized value at offset {offset}; read it with a memo")]
    NeedsMemo { offset: u64 },

    // One value.
    #[error("{size} bytes is too large for a state file")]
    TooBig { size: usize },
    #[error("`{}` is not an integer", String::from_utf8_lossy(.text))]
    NotAnInteger { text: Vec<u8> },
    #[error("the pickled integer is too large")]
    IntegerTooLarge,
    #[error("the pickle holds a string that is not UTF-8")]
    NotUtf8,
    #[error("the pickle holds a badly quoted string")]
    BadQuotes,
    #[error("the pickle does not end with exactly one value")]
    NotOneValue,
    #[error("the pickle's stack is short of a value")]
    ShortStack,
    #[error("the pickle closes a tuple it never opened")]
    NoMark,
    #[error("a tuple of missing values at offset {offset}")]
    ShortTuple { offset: u64 },
    #[error("the pickle memoizes a missing value")]
    MemoizesNothing,
    #[error("the pickle refers to an unknown memo {index} at offset {offset}")]
    UnknownMemo { index: u64, offset: u64 },
    #[error("a bad STACK_GLOBAL at offset {offset}")]
    BadStackGlobal { offset: u64 },
    #[error("the pickle calls {what}")]
    NotCallable { what: &'static str },
    #[error("the pickle calls {module}.{name} without a tuple")]
    NoArguments { module: String, name: String },
    #[error("the pickle calls {module}.{name}, which a state file never holds")]
    Call { module: String, name: String },
    #[error("the pickle encodes a character beyond Latin-1")]
    NotLatin1,
    #[error("the pickled datetime has a time zone, which the original never writes")]
    TimeZone,
    #[error("the pickled datetime is not a valid date and time")]
    BadDatetime,
    #[error("it holds {found}, not {wanted}")]
    Holds {
        found: &'static str,
        wanted: &'static str,
    },
}
