//! The collect action: archives of the configured files and directories in collect_dir.
//!
//! Semantics are the original's (see `shared/spec/actions.md`): files first, then directories,
//! each collected today according to its collect_mode; one archive per entry (or per split-off
//! subdirectory with recursion_level), named after the entry's normalized path; incremental
//! entries keep SHA-1 state in working_dir; at the end an empty `cback.collect` indicator.
//!
//! Failure: the indicator of an earlier run is removed first, so that stage never takes a
//! failed run's collect_dir for a good one; archives appear under their final names only when
//! complete; the incremental state is put in place only after the indicator is written, so a
//! failed run does not advance it (issue #4); and an unknown backup user or group stops the
//! run before anything is written.
//!
//! Speed: daily and weekly entries are streamed (the traversal runs on its own thread while
//! the archive is written, so memory does not grow with the tree); compression runs on all
//! cores; incremental digests are computed on all cores, and the incremental bookkeeping
//! (every selected path and digest) lives in temporary files, so memory does not grow with the
//! tree in that mode either (see [`incremental`]).

mod archive;
mod count;
mod digest;
mod error;
mod exclude;
mod incremental;
mod plan;
mod run;
mod sort;
mod thread_panic;
mod walk;

pub(crate) use error::chain_message;
pub(crate) use run::INDICATOR;
use thread_panic::panic_message;
