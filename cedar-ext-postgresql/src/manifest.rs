//! `postgresqldump.manifest`: the format, its writer and its checks live in
//! [`cedar_core::manifest`], since the stage action checks staged dumps against it too; this
//! module re-exports them under the extension's name.

pub use cedar_core::manifest::*;
