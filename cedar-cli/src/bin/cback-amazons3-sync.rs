//! `cback-amazons3-sync`: mirrors one directory into an S3 bucket, outside the backup cycle
//! (the original's `cback3-amazons3-sync`), natively: no `aws` program is needed. The
//! invoking user's AWS configuration and credentials are used (`AWS_*` variables,
//! `~/.aws/config` and `~/.aws/credentials`, the metadata services); `AWS_ENDPOINT_URL`
//! points it at any S3-compatible store.
//!
//! Exit status: 0 success (also for --help, --version, --diagnostics), 2 usage error, 3 log
//! file error, 5 interrupted, 6 any other error.

use std::path::PathBuf;
use std::process::ExitCode;

use cedar_cli::{diagnostic_lines, report, LogSwitches};
use cedar_core::{init_logging, LogSettings, Progress, DEFAULT_LOGFILE_MODE, LOG_FILE_ONLY_TARGET};
use cedar_ext_amazons3::{
    sync_directory, ConnectOptions, SyncRequest, DEFAULT_PART, DEFAULT_UPLOAD_JOBS,
};
use clap::Parser;

const EXIT_USAGE: u8 = 2;
const EXIT_LOGGING: u8 = 3;
const EXIT_INTERRUPTED: u8 = 5;
const EXIT_FAILED: u8 = 6;

const AFTER_HELP: &str = "\
Every file below SOURCE_DIR is uploaded to S3_URL (s3://BUCKET[/PREFIX]) unless an object of
the same size and a newer date is already there; objects whose file is gone are removed
(unless --uploadOnly). Then the bucket is listed, and every file must be there with its size.

Example: cback-amazons3-sync /home/myuser s3://example.com-backup/myuser

Exit status: 0 success, 2 usage error, 3 log file error, 5 interrupted, 6 failed.";

/// cback-amazons3-sync: synchronize a local directory up to an S3 bucket, then verify it.
#[derive(Debug, Parser)]
#[command(
    name = "cback-amazons3-sync",
    version,
    about,
    after_help = AFTER_HELP,
    disable_version_flag = true,
    disable_help_flag = true
)]
struct SyncCli {
    /// Display this usage and exit.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Display the version and exit.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    #[command(flatten)]
    log: LogSwitches,
    /// Print runtime diagnostics and exit.
    #[arg(short = 'D', long)]
    diagnostics: bool,
    /// Only verify the bucket's contents; change nothing.
    #[arg(short = 'v', long = "verifyOnly")]
    verify_only: bool,
    /// Only upload; never remove objects from the bucket.
    #[arg(short = 'u', long = "uploadOnly")]
    upload_only: bool,
    /// Leave out files whose names cannot be S3 keys instead of failing.
    #[arg(short = 'w', long = "ignoreWarnings")]
    ignore_warnings: bool,
    /// How many files are uploaded at once, 1 to 64 (cback only).
    #[arg(long = "jobs", value_name = "N", default_value_t = DEFAULT_UPLOAD_JOBS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    jobs: usize,
    /// The local directory (must exist).
    #[arg(value_name = "SOURCE_DIR")]
    source: Option<PathBuf>,
    /// The target, s3://BUCKET[/PREFIX].
    #[arg(value_name = "S3_URL")]
    url: Option<String>,
}

fn main() -> ExitCode {
    let cli = match SyncCli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(EXIT_USAGE),
            };
        }
    };
    if cli.diagnostics {
        for line in diagnostic_lines() {
            println!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    let (Some(source), Some(url)) = (cli.source.clone(), cli.url.clone()) else {
        eprintln!("cback-amazons3-sync: error: the source directory and the S3 bucket URL are both required\n\nUsage: cback-amazons3-sync [OPTIONS] SOURCE_DIR S3_URL\n\nFor more information, try '--help'.");
        return ExitCode::from(EXIT_USAGE);
    };
    let mut options = cli.log.clone().into_options();
    if options.mode == 0 {
        options.mode = DEFAULT_LOGFILE_MODE;
    }
    if let Err(e) = cedar_core::install_interrupt_handler() {
        eprintln!("cback-amazons3-sync: cannot install signal handlers: {e}");
    }
    if let Err(e) = init_logging(&LogSettings::from_options(&options)) {
        eprintln!("cback-amazons3-sync: {e}");
        return ExitCode::from(EXIT_LOGGING);
    }
    tracing::info!("Cedar Backup Amazon S3 sync run started.");
    for line in diagnostic_lines() {
        tracing::info!("{line}");
    }
    let request = SyncRequest {
        source,
        url,
        verify_only: cli.verify_only,
        upload_only: cli.upload_only,
        ignore_warnings: cli.ignore_warnings,
        part_size: DEFAULT_PART,
        jobs: cli.jobs,
    };
    let connect = ConnectOptions {
        endpoint: None,
        region: None,
        home: home(),
    };
    // On a terminal: the objects and bytes sent, as the amazons3 action draws them.
    let progress = Progress::for_run(&options);
    let code = match sync_directory(&request, &connect, &progress) {
        Ok(totals) => {
            tracing::info!(
                "Uploaded {} file(s), {} bytes; removed {} object(s).",
                totals.uploaded,
                totals.bytes,
                totals.removed
            );
            0
        }
        Err(e) => {
            let code = if cedar_core::interrupt_requested() {
                EXIT_INTERRUPTED
            } else {
                EXIT_FAILED
            };
            let text = report(&e, options.stack);
            tracing::error!(target: LOG_FILE_ONLY_TARGET, "Error executing backup: {text}");
            if !options.quiet {
                eprintln!("Error executing backup: {text}");
            }
            code
        }
    };
    tracing::info!("Cedar Backup Amazon S3 sync run completed with status {code}.");
    ExitCode::from(code)
}

/// The invoking user's home: `HOME`, else the password database.
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::Uid::effective())
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
}
