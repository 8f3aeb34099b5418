//! Building the execution plan: which steps run, in which order, with which hooks.
//!
//! This follows the original exactly (see `shared/spec/ordering.md`): the command-line names
//! become local and managed steps, each step gets its action's index (from the configuration in
//! index mode, from the depth-first sort in dependency mode), and a stable sort on
//! (index, local-before-managed) gives the order.

mod build;
mod dependency;
mod managed;
mod resolve;

pub use build::{build, Plan, PlanError, Step, StepKind, ALL_ACTIONS};
pub use managed::{managed_peer_configs, managed_peers};
pub use resolve::{dependency_mode, BUILTIN_NAMES};

#[cfg(test)]
mod tests;
