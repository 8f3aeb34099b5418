//! Pieces the original's extensions share (the collect-time `mysql`, `sysinfo`, `subversion`,
//! `mbox`; [`section`] also the others), so that each extension crate holds only what is
//! particular to its tool:
//!
//! - [`rules`]: the original's value rules and messages (compress and collect modes, booleans,
//!   absolute paths);
//! - [`section`]: how an extension reads its section ([`section::ExtensionSection`]) and the
//!   one error an extension reports about its configuration;
//! - [`site`]: what every run needs from the standard sections (collect_dir, working_dir, the
//!   backup owner, whether the run is full, whether today starts the week);
//! - [`capture`]: a command's output, compressed on all cores, into a file that takes its final
//!   name only when complete;
//! - [`listing`]: the entries of a directory, with the original's `rel_path` and pattern
//!   exclusions;
//! - [`state`]: the incremental state files, pickled as the original pickles them;
//! - [`outcome`]: every item attempted, each recorded for the run status, the failures named
//!   together.

pub(crate) mod capture;
pub(crate) mod listing;
pub(crate) mod outcome;
pub(crate) mod rules;
pub(crate) mod section;
pub(crate) mod site;
pub(crate) mod state;
