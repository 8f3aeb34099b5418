//! Reading and writing one state file: the pickle in it, the atomic write, the logged start-over.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::atomic::{AtomicError, AtomicFile, Owner};
use crate::pickle::{self, PickleError};

use super::Stamp;

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state file {} is corrupt: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: PickleError,
    },
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
    file.take(pickle::MAX_PICKLE as u64 + 1)
        .read_to_end(&mut data)
        .map_err(fail)?;
    Ok(Some(data))
}

/// The revision a `.svnlast` file holds; `None` when there is none.
pub fn load_int(path: &Path) -> Result<Option<i64>, StateError> {
    read(path)?
        .map(|data| {
            pickle::load_int(&data).map_err(|source| StateError::Corrupt {
                path: path.to_path_buf(),
                source,
            })
        })
        .transpose()
}

/// The stamp a `.mboxlast` file holds; `None` when there is none.
pub fn load_stamp(path: &Path) -> Result<Option<Stamp>, StateError> {
    read(path)?
        .map(|data| {
            stamp_of(&data).map_err(|source| StateError::Corrupt {
                path: path.to_path_buf(),
                source,
            })
        })
        .transpose()
}

/// What the state file `path` holds, read with `load` as the original reads it: a file that
/// cannot be read is logged as the original's ERROR ("Failed loading revision file [PATH] from
/// disk: REASON") and counts as none, so that the caller starts from the beginning; the problem
/// is handed back for the caller to report once the work is done.
pub fn load_or_start_over<T>(
    path: &Path,
    load: impl FnOnce(&Path) -> Result<Option<T>, StateError>,
) -> (Option<T>, Option<StateError>) {
    match load(path) {
        Ok(value) => (value, None),
        Err(err) => {
            let reason = std::error::Error::source(&err)
                .map_or_else(|| err.to_string(), ToString::to_string);
            tracing::error!(
                "Failed loading revision file [{}] from disk: {reason}",
                path.display()
            );
            (None, Some(err))
        }
    }
}

/// The stamp a pickle holds.
fn stamp_of(data: &[u8]) -> Result<Stamp, PickleError> {
    let state = pickle::load_datetime(data)?;
    Stamp::from_state(&state).ok_or(PickleError::BadDatetime)
}

/// `stamp` as Python 3 pickles a naive datetime with protocol 0 (see
/// [`pickle::datetime_pickle`]).
pub fn stamp_pickle(stamp: &Stamp) -> Vec<u8> {
    pickle::datetime_pickle(&stamp.state())
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
    fn stamps_are_written_as_python_3_writes_them() {
        let stamp = super::super::stamp::SAMPLE;
        let data = stamp_pickle(&stamp);
        // pickle.dumps(datetime.datetime(2026, 12, 1, 21, 26, 7, 268932), 0)
        assert_eq!(
            data,
            b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V\x07\xea\x0c\x01\x15\\u001a\x07\x04\\u001a\x84\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n."
        );
        assert_eq!(data.len(), 86 + 2 * 5);
        assert_eq!(stamp_of(&data).unwrap(), stamp);
    }

    #[test]
    fn files_are_read_back_and_problems_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "srv-svn-a.svnlast",
            &pickle::int_pickle(7),
            None,
        )
        .unwrap();
        assert_eq!(load_int(&path).unwrap(), Some(7));
        assert_eq!(load_int(&dir.path().join("missing")).unwrap(), None);
        std::fs::write(&path, "garbage").unwrap();
        let err = load_int(&path).unwrap_err().to_string();
        assert!(
            err.contains("srv-svn-a.svnlast") && err.contains("corrupt"),
            "{err}"
        );
        assert!(load_stamp(&path).is_err());
        let (value, problem) = load_or_start_over(&path, load_int);
        assert_eq!(value, None);
        assert!(matches!(problem, Some(StateError::Corrupt { .. })));
        let (value, problem) = load_or_start_over(&dir.path().join("missing"), load_int);
        assert_eq!(value, None);
        assert!(problem.is_none());
    }

    #[test]
    fn datetimes_of_python_3_and_2() {
        let expected = super::super::stamp::SAMPLE;
        let py3 = b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V\x07\xea\x0c\x01\x15\\u001a\x07\x04\\u001a\x84\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n.";
        assert_eq!(stamp_of(py3).unwrap(), expected);
        let py2 = b"cdatetime\ndatetime\np0\n(S'\\x07\\xea\\x0c\\x01\\x15\\x1a\\x07\\x04\\x1a\\x84'\np1\ntp2\nRp3\n.";
        assert_eq!(stamp_of(py2).unwrap(), expected);
        // pickle.dumps(d, 4)
        let py4 = b"\x80\x04\x95*\x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\n\x07\xea\x0c\x01\x15\x1a\x07\x04\x1a\x84\x94\x85\x94R\x94.";
        assert_eq!(stamp_of(py4).unwrap(), expected);
        // pickle.dumps(d, 2)
        let py2_binary = b"\x80\x02cdatetime\ndatetime\nq\x00c_codecs\nencode\nq\x01X\x0c\x00\x00\x00\x07\xc3\xaa\x0c\x01\x15\x1a\x07\x04\x1a\xc2\x84q\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05\x85q\x06Rq\x07.";
        assert_eq!(stamp_of(py2_binary).unwrap(), expected);
        let err = stamp_of(b"I5\n.").unwrap_err().to_string();
        assert!(err.contains("not a datetime"), "{err}");
    }
}
