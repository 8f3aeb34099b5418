//! The incremental state files of the original's extensions, read and written in its format so
//! that a site can switch in either direction in the middle of a week:
//!
//! - `WORKING_DIR/NORMALIZED.svnlast`: the last revision dumped, a pickled `int` (`I5\n.`);
//! - `WORKING_DIR/NORMALIZED.mboxlast`: the start of the last run, a pickled naive `datetime`.
//!
//! Both are written as the original writes them (pickle protocol 0), through a temporary file
//! renamed into place, and handed to the backup user. Unlike the original, a file that cannot be
//! read is an error for the caller to report (the original logs it and silently takes
//! everything again).

pub mod stamp;
pub mod unpickle;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::atomic::{AtomicError, AtomicFile, Owner};

pub use stamp::Stamp;

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state file {} is corrupt: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

/// The bytes of the state file `path`; `None` when there is none.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    let fail = |source| StateError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(fail(err)),
    };
    let mut data = Vec::new();
    file.take(unpickle::MAX_PICKLE as u64 + 1)
        .read_to_end(&mut data)
        .map_err(fail)?;
    Ok(Some(data))
}

/// The revision a `.svnlast` file holds; `None` when there is none.
pub fn load_int(path: &Path) -> Result<Option<i64>, StateError> {
    read(path)?
        .map(|data| {
            unpickle::load_int(&data).map_err(|reason| StateError::Corrupt {
                path: path.to_path_buf(),
                reason,
            })
        })
        .transpose()
}

/// The stamp a `.mboxlast` file holds; `None` when there is none.
pub fn load_stamp(path: &Path) -> Result<Option<Stamp>, StateError> {
    read(path)?
        .map(|data| {
            unpickle::load_stamp(&data).map_err(|reason| StateError::Corrupt {
                path: path.to_path_buf(),
                reason,
            })
        })
        .transpose()
}

/// `n` as Python pickles an int with protocol 0: `I<n>\n.`, or `L<n>L\n.` beyond 32 bits.
pub fn int_pickle(n: i64) -> Vec<u8> {
    if i32::try_from(n).is_ok() {
        format!("I{n}\n.").into_bytes()
    } else {
        format!("L{n}L\n.").into_bytes()
    }
}

/// `stamp` as Python 3 pickles a naive datetime with protocol 0: its 10 state bytes as Latin-1
/// text through `_codecs.encode`, in raw-unicode-escape with pickle's five escapes.
pub fn stamp_pickle(stamp: &Stamp) -> Vec<u8> {
    let mut out = b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V".to_vec();
    for byte in stamp.state() {
        match byte {
            0x00 | 0x0A | 0x0D | 0x1A | 0x5C => {
                out.extend_from_slice(format!("\\u{byte:04x}").as_bytes())
            }
            _ => out.push(byte),
        }
    }
    out.extend_from_slice(b"\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n.");
    out
}

/// Writes `data` to `dir/name` through a temporary file, handed to `owner` when running as
/// root (mode 0640, else 0600).
pub fn write(
    dir: &Path,
    name: &str,
    data: &[u8],
    owner: Option<Owner<'_>>,
) -> Result<PathBuf, AtomicError> {
    use std::io::Write;
    let file = AtomicFile::create(dir, name)?;
    let mut handle = file.file();
    handle
        .write_all(data)
        .map_err(|source| AtomicError::Write {
            path: file.temp_path().to_path_buf(),
            source,
        })?;
    file.commit(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_are_written_as_python_writes_them() {
        assert_eq!(int_pickle(5), b"I5\n.");
        assert_eq!(int_pickle(2147483647), b"I2147483647\n.");
        assert_eq!(int_pickle(2147483648), b"L2147483648L\n.");
        assert_eq!(unpickle::load_int(&int_pickle(1 << 40)), Ok(1 << 40));
    }

    #[test]
    fn stamps_are_written_as_python_3_writes_them() {
        let stamp = Stamp {
            year: 2026,
            month: 12,
            day: 1,
            hour: 21,
            minute: 26,
            second: 7,
            micro: 268932,
        };
        let data = stamp_pickle(&stamp);
        // pickle.dumps(datetime.datetime(2026, 12, 1, 21, 26, 7, 268932), 0)
        assert_eq!(
            data,
            b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V\x07\xea\x0c\x01\x15\\u001a\x07\x04\\u001a\x84\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n."
        );
        assert_eq!(data.len(), 86 + 2 * 5);
        assert_eq!(unpickle::load_stamp(&data), Ok(stamp));
    }

    #[test]
    fn files_are_read_back_and_problems_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "srv-svn-a.svnlast", &int_pickle(7), None).unwrap();
        assert_eq!(load_int(&path).unwrap(), Some(7));
        assert_eq!(load_int(&dir.path().join("missing")).unwrap(), None);
        std::fs::write(&path, "garbage").unwrap();
        let err = load_int(&path).unwrap_err().to_string();
        assert!(
            err.contains("srv-svn-a.svnlast") && err.contains("corrupt"),
            "{err}"
        );
        assert!(load_stamp(&path).is_err());
    }
}
