//! Writes the original's digest files: a `{path: sha1-hex}` dict as a protocol 0 pickle, which
//! the original reads back.

use std::io::{self, BufWriter, Write};

use super::text::{for_each_code_point, push_escaped};

/// Protocol 0 `raw-unicode-escape` of a file name, with the characters pickle escapes.
fn encode_text(bytes: &[u8], out: &mut Vec<u8>) {
    for_each_code_point(bytes, |cp| push_escaped(out, cp));
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
