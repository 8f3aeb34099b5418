//! The incremental state files of the original's extensions, read and written in its format so
//! that a site can switch in either direction in the middle of a week:
//!
//! - `WORKING_DIR/NORMALIZED.svnlast`: the last revision dumped, a pickled `int` (`I5\n.`);
//! - `WORKING_DIR/NORMALIZED.mboxlast`: the start of the last run, a pickled naive `datetime`.
//!
//! Both are written as the original writes them (pickle protocol 0), through a temporary file
//! renamed into place, and handed to the backup user. A file that cannot be read is logged as the
//! original logs it and counts as none, so that the night is still backed up from the beginning
//! ([`load_or_start_over`]); unlike the original, the caller then still fails the item, naming
//! the file.

mod file;
mod stamp;

pub use file::{load_int, load_or_start_over, load_stamp, stamp_pickle, write, StateError};
pub use stamp::Stamp;
