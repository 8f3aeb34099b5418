//! The tests' s3s-fs server as a program, for `scripts/bench-upload.sh`: serves a temporary
//! root on a free loopback port (the same server, version and access key as the checksum
//! tests, `cback_tests::s3fs`), prints `PORT ROOT` on one line, and serves until it is
//! killed; the root is removed when it ends. Built with
//! `cargo build --release --ignore-rust-version -p cback-tests --features s3s-fs --example s3s-fs-server`.

use std::io::Write;

fn main() {
    let server = cback_tests::s3fs::S3sFs::start();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{} {}", server.port, server.root.path().display());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
