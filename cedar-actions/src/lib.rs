//! The built-in actions of Cedar Backup 3, each registered through `inventory` exactly like an
//! extension, and the `--dry-run` listing that describes what stage would do.
//!
//! The kernel, `cedar-core`, knows none of them: `cedar-cli` links this crate (see [`link`]) so
//! that their registrations are in the binary. Nothing else is public but what other crates use:
//! the dry-run listing for `cback`, and the store pieces that `cback-span` and the capacity
//! extension measure and write discs with.

mod collect;
mod doctor;
mod dry_run;
mod purge;
mod stage;
mod store;
mod validate;

pub use dry_run::render as render_dry_run;
pub use store::{
    check_media, knapsack, span_inventory, write_disc, write_store_indicators, Capacity, SpanFile,
    StoreError, StoreSettings, Tools, Writer,
};

/// Call from the binary so the linker keeps this crate and its registrations.
pub fn link() {}
