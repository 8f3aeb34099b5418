//! Writing GNU tar archives with the member layout of the original (Python's `tarfile` in GNU
//! format): names without the leading `/`, GNU long-name records, owner names, hard links to
//! the first member of the same inode.

mod header;
pub mod inodes;
mod owners;
mod writer;

pub use header::{encode_member, HeaderFields, BLOCK, RECORD};
pub use owners::Owners;
pub use writer::{Appended, TarWriter};
