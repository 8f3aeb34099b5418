//! placeholder
/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}
