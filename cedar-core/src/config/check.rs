//! Checks an extension registers on its own section, run by [`ConfigFile::load`]: a problem
//! they find is a configuration error like the standard sections' (every run exits 4 before
//! anything runs, `validate` included). For the few section errors that must stop every run,
//! such as a refused retention policy; the kernel knows no extension and runs whatever is
//! registered.

use super::file::{ConfigFile, Problem};

/// One extension's check of its section, submitted with `inventory::submit!`.
#[derive(Debug)]
pub struct SectionCheck {
    /// The section, e.g. `amazons3`.
    pub section: &'static str,
    /// Every problem found (empty when there is none or the section is absent).
    pub check: fn(&ConfigFile) -> Vec<Problem>,
}

inventory::collect!(SectionCheck);

/// The problems of every registered check, in the order of their sections.
pub(crate) fn registered_problems(file: &ConfigFile) -> Vec<Problem> {
    let mut checks: Vec<&SectionCheck> = inventory::iter::<SectionCheck>.into_iter().collect();
    checks.sort_by_key(|c| c.section);
    checks.iter().flat_map(|c| (c.check)(file)).collect()
}
