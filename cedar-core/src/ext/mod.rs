//! Pieces the original's collect-time extensions share (`mysql`, `sysinfo`, `subversion`,
//! `mbox`), so that each extension crate holds only what is particular to its tool:
//!
//! - [`rules`]: the original's value rules and messages (compress and collect modes, booleans,
//!   absolute paths);
//! - [`site`]: what every run needs from the standard sections (collect_dir, working_dir, the
//!   backup owner, whether the run is full, whether today starts the week);
//! - [`capture`]: a command's output, compressed on all cores, into a file that takes its final
//!   name only when complete;
//! - [`listing`]: the entries of a directory, with the original's `rel_path` and pattern
//!   exclusions;
//! - [`state`]: the incremental state files, pickled as the original pickles them;
//! - [`outcome`]: every item attempted, each recorded for the run status, the failures named
//!   together.

pub mod capture;
pub mod listing;
pub mod outcome;
pub mod rules;
pub mod site;
pub mod state;
