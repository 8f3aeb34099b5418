//! `cback-span`: the original's `cback3-span`, which splits staged data that does not fit on
//! one disc over several discs, asking its questions on the terminal. Exit codes are cback's:
//! 0 success (or stopped by an answer), 2 usage, 3 log file, 4 configuration, 5 interrupted,
//! 6 failed.

mod args;
mod ask;
mod session;

use std::io::{self, BufReader};
use std::path::Path;
use std::process::ExitCode;

use cedar_core::{
    init_logging, prom_path, write_run, ConfigFile, LogSettings, RunLock, LOG_FILE_ONLY_TARGET,
};
use clap::Parser;

fn main() -> ExitCode {
    // Linked for their registrations: the status textfile this writes carries every action's
    // own metric families, as cback's does.
    cedar_cli::link_registrations();
    let args = match args::SpanArgs::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(2),
            };
        }
    };
    let options = args.into_options();
    if let Err(e) = cedar_core::install_interrupt_handler() {
        eprintln!("cback-span: cannot install signal handlers: {e}");
    }
    if let Err(e) = init_logging(&LogSettings::from_options(&options)) {
        eprintln!("cback-span: {e}");
        return ExitCode::from(3);
    }
    tracing::info!("Cedar Backup 'span' utility run started.");
    tracing::info!("Configuration path is [{}]", options.config.display());
    let code = run(&options);
    tracing::info!("Cedar Backup 'span' utility run completed with status {code}.");
    ExitCode::from(code)
}

fn run(options: &cedar_core::Options) -> u8 {
    let config = match ConfigFile::load(&options.config) {
        Ok(config) => config,
        Err(e) => return fail(4, &e),
    };
    let working_dir = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.working_dir.as_deref())
        .map(Path::new);
    // The same lock as cback's runs: a store cannot write the drive while span does.
    let _lock = match working_dir.map(RunLock::acquire) {
        Some(Ok(lock)) => Some(lock),
        Some(Err(e)) => return fail(6, &e),
        None => None,
    };
    let start = cedar_core::now_secs();
    let stdin = io::stdin();
    let mut asker = ask::Asker::new(BufReader::new(stdin.lock()), io::stdout());
    let code = match session::run(&config.config, &mut asker) {
        Ok(_) => 0,
        Err(session::SpanError::Store(cedar_actions::StoreError::Interrupted)) => 5,
        Err(e) if cedar_core::interrupt_requested() => {
            tracing::error!("{e}");
            5
        }
        Err(e) => fail(6, &e),
    };
    if let Some(dir) = working_dir.filter(|d| d.is_dir()) {
        write_status(&config, dir, start, code);
    }
    code
}

/// `cback-status.json` and the metrics textfile, as cback writes them, for the discs span
/// wrote; a failure is logged, not fatal.
fn write_status(config: &ConfigFile, dir: &Path, start: i64, code: u8) {
    let metrics = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.metrics_file.as_deref());
    let prom = prom_path(dir, metrics);
    let end = cedar_core::now_secs();
    if let Err(e) = write_run(
        dir,
        &prom,
        start,
        end,
        &["span".to_string()],
        i32::from(code),
    ) {
        tracing::warn!("{e}");
    }
}

fn fail(code: u8, error: &(dyn std::error::Error + 'static)) -> u8 {
    let text = cedar_core::error_chain(error);
    tracing::error!(target: LOG_FILE_ONLY_TARGET, "{text}");
    eprintln!("cback-span: {text}");
    code
}
