//! The original's rules: per-value checks (applied while reading) and whole-document rules.

use super::{Config, Problem};

/// Checks each value on its own, as the original does while reading.
pub(crate) fn field_problems(_config: &Config) -> Vec<Problem> {
    Vec::new()
}

/// The whole-document rules.
pub(crate) fn document_problems(_config: &Config) -> Vec<Problem> {
    Vec::new()
}
