//! Writing GNU tar archives with the member layout of the original (Python's `tarfile` in GNU
//! format): names without the leading `/`, GNU long-name records, owner names, hard links to
//! the first member of the same inode.

mod header;
mod inodes;
mod owners;
pub mod read;
mod writer;

pub use header::{encode_member, HeaderFields, BLOCK, RECORD};
pub use inodes::InodeMap;
pub use owners::Owners;
pub use writer::{Appended, TarWriter};
