//! The purge action: each `<purge><dir>` loses what it no longer needs. A directory with a
//! retention policy (only the staging directory may have one) keeps the staged days its
//! policy chooses and loses the others, each as a whole ([`policy`]); any other directory loses
//! the files older than its retain_days, as in the original ([`files`]). A remote place with a
//! policy (the amazons3 bucket) loses the days its policy does not keep ([`remote`]).

mod action;
mod days;
mod error;
mod files;
mod policy;
mod remote;
mod remove;

pub(crate) use action::dry_run_lines;
pub(crate) use policy::policy_problems;
