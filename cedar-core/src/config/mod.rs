//! Reading, validating and writing the Cedar Backup 3 configuration document.
//!
//! A document is read in three steps, each with the original's rules (see
//! `shared/spec/config.md`):
//! 1. the XML is parsed into a small tree (`dom`), with the well-formedness checks of a strict
//!    XML parser;
//! 2. the standard sections are deserialized from the first `<cb_config>` through serde (`de`),
//!    which applies the reading rules (direct children only, first value wins, values not
//!    trimmed, Y/N booleans, ...), and each value is checked on its own (`validate`);
//! 3. [`ConfigFile::load`] then applies the whole-document rules and reports every problem.
//!
//! Extensions read their own section with [`ConfigFile::section`], through the same
//! deserializer.
//!
//! Where the original (checked as a black box, see `compat_cases.rs`) is more precise than or
//! differs from `shared/spec/config.md`, this module follows the original:
//! - a single value comes from the first matching child *that has a text node*
//!   (`<user/><user>bob</user>` reads `bob`); a CDATA section is not a text node;
//! - under `<file>` and `<dir>`, `<mode>` wins over `<collect_mode>` whenever it has a value;
//! - `<override>` and hook entries may leave out either of their two values;
//! - `<blank_behavior>` is rejected only when both its mode and factor are missing;
//! - `<function>` is a single identifier (no dots); names and identifiers tolerate one final
//!   line feed; peer names have no character rule;
//! - `<drive_speed>` must be at least 1, and `<target_scsi_id>` must look like
//!   `[PREFIX:]bus,target,lun`;
//! - local peers read only name, type, collect_dir and ignore_failures; peers of any other
//!   type read nothing; `<rel_path>` exclusions are read only under `<dir>`;
//! - integers follow Python's `int()` (blanks around, `_` separators, any Unicode digit);
//!   values beyond 64 bits saturate;
//! - exclusion patterns are checked with Python's `re` syntax (`pyre`);
//! - element names with a namespace prefix never match, and an unbound prefix is malformed.

mod check;
mod de;
mod dom;
mod file;
mod model;
mod pattern;
mod pyre;
mod schema;
mod ser;
mod validate;
pub(crate) mod values;

#[cfg(test)]
mod compat_cases;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod tests;

pub use check::SectionCheck;
pub use file::{ConfigError, ConfigFile, Problem, RawDocument};
pub use model::*;
pub use pattern::{ExcludePattern, PatternError};
pub use schema::element_paths;
