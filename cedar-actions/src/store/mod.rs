//! The optical-media actions of the original: store (write the day's staging directory to CD
//! or DVD), rebuild (write this week's directories to a new disc) and initialize (label
//! rewritable media), plus the pieces the capacity extension and the span tool share with
//! them. `shared/spec/store.md` describes the original; cback issues the same command lines
//! in the same order (see [`tools`], [`iso`], [`cdwriter`], [`dvdwriter`], [`tray`]).
//!
//! Where cback differs, deliberately:
//! - data that does not fit is refused before anything is written, with the sizes and the
//!   media's capacity in the message ([`capacity::check_fits`]);
//! - check_data compares every file by SHA-256 and names each one that differs
//!   ([`check_data`]); a failed check leaves no `cback.store`;
//! - a blank_behavior mode without a factor, or a store without `<stage>`, fails with a
//!   message saying what to add instead of crashing ([`error::StoreError`]);
//! - the CD writer's open-tray `eject` honours an `<override>` ([`tray`]);
//! - every disc is recorded in the status file and the metrics textfile ([`cedar_core::StoredDisc`]).

mod actions;
mod capacity;
mod cdwriter;
mod check_data;
mod check_error;
mod check_media;
mod disc_run;
mod doctor;
mod dvdwriter;
mod error;
mod indicator;
mod initialize;
mod iso;
pub mod knapsack;
mod media;
mod rebuild;
mod recorder;
mod select;
mod settings;
mod span;
mod store_action;
mod tools;
mod tray;
mod write_progress;
mod writer;

pub use actions::writer_problem;
pub use check_media::check_media;
pub use error::StoreError;
pub use indicator::write_store_indicators;
pub use settings::StoreSettings;
pub use span::{inventory as span_inventory, write_disc, SpanFile};
pub use tools::Tools;
pub use writer::{Capacity, Writer};
