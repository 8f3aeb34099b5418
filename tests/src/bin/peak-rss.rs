//! `peak-rss REPORT PROGRAM [ARG...]`: runs PROGRAM with the given arguments (standard streams
//! inherited), then writes its peak resident set size in KiB to REPORT and exits with its exit
//! code (128 + the signal when a signal ended it).
//!
//! The tests measure the memory of one `cback` run with it: `getrusage(RUSAGE_CHILDREN)` in
//! this process covers exactly that one child, while in a test process it would also cover
//! every other child the tests ran (cargo among them).

use std::os::unix::process::ExitStatusExt;
use std::process::{exit, Command};

use nix::sys::resource::{getrusage, UsageWho};

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(report), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: peak-rss REPORT PROGRAM [ARG...]");
        exit(2);
    };
    let status = match Command::new(&program).args(args).status() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("peak-rss: cannot run {}: {e}", program.to_string_lossy());
            exit(127);
        }
    };
    let usage = match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(usage) => usage,
        Err(e) => {
            eprintln!("peak-rss: getrusage: {e}");
            exit(126);
        }
    };
    // Linux reports ru_maxrss in KiB.
    if let Err(e) = std::fs::write(&report, format!("{}\n", usage.max_rss())) {
        eprintln!("peak-rss: cannot write {}: {e}", report.to_string_lossy());
        exit(126);
    }
    exit(
        status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(1),
    );
}
