//! `cback doctor`: every check the configured sections need, without writing any backup.

mod action;
mod directories;

pub(crate) use directories::MARGIN;
