//! The one compressor of cback, shared by the collect action and the extensions: plain, gzip
//! and bzip2 on all cores (independent members written in order, see `parallel.rs`), and zstd
//! with its own multithreaded encoder (`compressor.rs`). Every variant reports how many bytes
//! went in and came out. [`Codec`] is the one compress mode type: the extensions'
//! `<compress_mode>` values parse into it.

mod compressor;
mod parallel;

pub use compressor::{bzip2_block, gzip_block, worker_count, Codec, Compressor, Framing, Settings};
pub use parallel::{Member, ParallelWriter, Totals};

#[cfg(test)]
mod tests;
