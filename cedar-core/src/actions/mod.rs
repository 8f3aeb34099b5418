//! The built-in actions of Cedar Backup 3, each registered through `inventory` exactly like an
//! extension.

pub mod collect;
pub mod purge;
pub mod stage;
pub mod store;
pub mod validate;
