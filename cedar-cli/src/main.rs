//! `cback`: the command-line front end. Parses the switches, sets up logging, loads the
//! configuration, builds the plan and runs it, with the original's exit codes:
//! 0 success, 2 usage, 3 logging, 4 configuration, 5 interrupted, 6 action failed.

use std::process::ExitCode;

use cedar_cli::{diagnostic_lines, report, Cli};
use cedar_core::{
    build_plan, clip_text, dependency_mode, execute_plan, init_logging, needs_lock, prom_path,
    run_lock_dir, write_run, ConfigFile, LogScreen, LogSettings, Options, Plan, RunLock,
    LOG_FILE_ONLY_TARGET,
};
use clap::Parser;

const EXIT_USAGE: u8 = 2;
const EXIT_LOGGING: u8 = 3;
const EXIT_CONFIG: u8 = 4;
const EXIT_FAILED: u8 = 6;

fn main() -> ExitCode {
    // The extension crates register through `inventory`; referencing them keeps them linked.
    cedar_cli::link_registrations();

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                _ => {
                    let _ = e.print();
                    ExitCode::from(EXIT_USAGE)
                }
            };
        }
    };
    let options = match cli.into_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("cback: error: {message}\n\nUsage: cback [OPTIONS] ACTION...\n\nFor more information, try '--help'.");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if options.diagnostics {
        for line in diagnostic_lines() {
            println!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    if let Err(e) = cedar_core::install_interrupt_handler() {
        eprintln!("cback: cannot install signal handlers: {e}");
    }

    let mut settings = LogSettings::from_options(&options);
    if options.dry_run {
        // A dry run changes nothing: no log file, and stdout holds only the plan.
        settings.file = None;
        settings.screen = LogScreen::Stderr;
    }
    if let Err(e) = init_logging(&settings) {
        eprintln!("cback: {}", report(&e, options.stack));
        return ExitCode::from(EXIT_LOGGING);
    }

    let code = run(&options);
    if !options.dry_run {
        tracing::info!("Cedar Backup run completed with status {code}.");
    }
    ExitCode::from(code)
}

/// Loads the configuration, builds the plan and runs it; returns the exit status.
fn run(options: &Options) -> u8 {
    if !options.dry_run {
        tracing::info!("Cedar Backup run started.");
        tracing::info!("Options were [{}]", describe(options));
        tracing::info!("Logfile is [{}]", options.logfile.display());
        for line in diagnostic_lines() {
            tracing::info!("{line}");
        }
        tracing::info!("Configuration path is [{}]", options.config.display());
    }

    let config = match ConfigFile::load(&options.config) {
        Ok(config) => config,
        Err(e) => {
            return fail(
                EXIT_CONFIG,
                "error reading or handling configuration",
                &e,
                options,
            )
        }
    };
    let plan = match build_plan(&config.config, options) {
        Ok(plan) => plan,
        Err(e) => {
            return fail(
                EXIT_CONFIG,
                "error reading or handling configuration",
                &e,
                options,
            )
        }
    };
    if options.dry_run {
        print!("{}", cedar_actions::render_dry_run(&plan, &config, options));
        return 0;
    }
    let mode = if dependency_mode(&config.config) {
        "dependency"
    } else {
        "index"
    };
    tracing::info!("Action ordering will use '{mode}' order mode.");
    let order: Vec<String> = plan
        .steps
        .iter()
        .map(|s| format!("'{}'", clip_text(&s.action)))
        .collect();
    tracing::info!("Action order will be: [{}]", order.join(", "));

    let start = cedar_core::now_secs();
    match execute(&plan, &config, options) {
        Ok(code) => {
            if needs_lock(&plan) {
                write_status(&config, options, start, code);
            }
            code
        }
        // Refused by the lock: the running holder owns the status files.
        Err(code) => code,
    }
}

/// Takes the lock and runs the plan; returns the exit status, or `Err` with it when the lock
/// could not be taken.
fn execute(plan: &Plan, config: &ConfigFile, options: &Options) -> Result<u8, u8> {
    let _lock = if needs_lock(plan) {
        match run_lock_dir(config).map(RunLock::acquire) {
            Some(Ok(lock)) => Some(lock),
            Some(Err(e)) => return Err(fail(EXIT_FAILED, "cannot start the run", &e, options)),
            None => None,
        }
    } else {
        None
    };

    Ok(match execute_plan(plan, config, options) {
        Ok(()) => 0,
        Err(e) => {
            let code = u8::try_from(e.exit_code()).unwrap_or(EXIT_FAILED);
            fail(code, "error executing backup", &e, options)
        }
    })
}

/// Writes `cback-status.json` and the metrics textfile; a failure is logged, not fatal.
fn write_status(config: &ConfigFile, options: &Options, start: i64, code: u8) {
    let Some(dir) = run_lock_dir(config) else {
        return;
    };
    if !dir.is_dir() {
        return;
    }
    let metrics = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.metrics_file.as_deref());
    let prom = prom_path(dir, metrics);
    if let Err(e) = write_run(
        dir,
        &prom,
        start,
        cedar_core::now_secs(),
        &options.actions,
        i32::from(code),
    ) {
        tracing::warn!("{e}");
    }
}

/// Logs an error to the log file, prints it on stderr (unless --quiet), returns `code`.
fn fail(
    code: u8,
    context: &str,
    error: &(dyn std::error::Error + 'static),
    options: &Options,
) -> u8 {
    let text = report(error, options.stack);
    tracing::error!(target: LOG_FILE_ONLY_TARGET, "{context}: {text}");
    if !options.quiet || options.dry_run {
        eprintln!("cback: {context}: {text}");
    }
    code
}

/// The switches in the original's "Options were [...]" layout.
fn describe(options: &Options) -> String {
    let mut parts = Vec::new();
    let flags = [
        (options.verbose, "--verbose"),
        (options.quiet, "--quiet"),
        (options.full, "--full"),
        (options.managed, "--managed"),
        (options.managed_only, "--managed-only"),
        (options.output, "--output"),
        (options.debug, "--debug"),
        (options.stack, "--stack"),
    ];
    for (set, flag) in flags {
        if set {
            parts.push(flag.to_string());
        }
    }
    parts.push(format!("--config \"{}\"", options.config.display()));
    parts.push(format!("--logfile \"{}\"", options.logfile.display()));
    parts.push(format!(
        "--owner \"{}:{}\"",
        options.owner.0, options.owner.1
    ));
    parts.push(format!("--mode \"{:o}\"", options.mode));
    parts.extend(
        options
            .actions
            .iter()
            .map(|a| format!("\"{}\"", clip_text(a))),
    );
    parts.join(" ")
}
