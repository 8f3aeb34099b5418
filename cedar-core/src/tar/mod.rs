//! Writing GNU tar archives with the member layout of the original (Python's `tarfile` in GNU
//! format): names without the leading `/`, GNU long-name records, owner names, hard links to
//! the first member of the same inode.

mod header;
mod inodes;
mod owners;
pub(crate) mod read;
mod writer;

pub use header::BLOCK;
pub use inodes::InodeMap;
pub use writer::{Appended, TarWriter};
