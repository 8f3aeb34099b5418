//! `cback-restore`: lists the PostgreSQL dumps cback can find, restores one, and runs restore
//! drills, with the configuration and logging of `cback`. Exit codes as cback's: 0 success,
//! 2 usage, 3 logging, 4 configuration, 5 interrupted, 6 failed.

use std::path::PathBuf;
use std::process::ExitCode;

use cedar_core::{
    init_logging, ConfigFile, LogScreen, LogSettings, Options, Sealing, LOG_FILE_ONLY_TARGET,
};
use cedar_ext_postgresql::restore::{
    all_copies, drill, restore, sources, DumpCopy, From, Kind, Outcome, Request, Server,
};
use clap::{Parser, Subcommand};

const EXIT_LOGGING: u8 = 3;
const EXIT_CONFIG: u8 = 4;
const EXIT_INTERRUPTED: u8 = 5;
const EXIT_FAILED: u8 = 6;

#[derive(Debug, Parser)]
#[command(
    name = "cback-restore",
    version,
    about = "List, restore and drill the PostgreSQL dumps cback wrote"
)]
struct RestoreCli {
    /// Configuration file.
    #[arg(short = 'c', long, global = true, default_value = cedar_core::DEFAULT_CONFIG)]
    config: PathBuf,
    /// Log file.
    #[arg(short = 'l', long, global = true, default_value = cedar_core::DEFAULT_LOGFILE)]
    logfile: PathBuf,
    /// Print log messages on the screen too.
    #[arg(short = 'b', long, global = true)]
    verbose: bool,
    /// Print nothing but results and errors; no progress display.
    #[arg(short = 'q', long, global = true)]
    quiet: bool,
    /// An age identity file, to decrypt `.age` dumps (<postgresql><encrypt><mode>age) and
    /// copies an <amazons3> section encrypted for age recipients (`.gpg` dumps and
    /// gpg-encrypted copies use the keyring of GNUPGHOME).
    #[arg(long, global = true, value_name = "FILE")]
    identity: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every dump cback can find, newest first.
    List {
        /// Only this database (`globals`, `all` for the other kinds).
        #[arg(long)]
        database: Option<String>,
    },
    /// Restore a database from a dump into a freshly created database.
    Restore {
        database: String,
        /// A day (YYYY-MM-DD, UTC) or the path of a dump file; default the newest good copy.
        #[arg(long)]
        from: Option<String>,
        /// The database to create (default: the dumped database's name).
        #[arg(long)]
        into: Option<String>,
        /// Drop an existing target database and restore in its place.
        #[arg(long)]
        clean: bool,
        /// For a <split> dump, restore the roles and tablespaces first.
        #[arg(long)]
        globals: bool,
    },
    /// Restore each configured database into a scratch database and check it.
    Drill,
}

fn main() -> ExitCode {
    cedar_ext_postgresql::link();
    // Its bucket is one more place holding copies (registered through inventory).
    cedar_ext_amazons3::link();
    let cli = match RestoreCli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if let Err(e) = cedar_core::install_interrupt_handler() {
        eprintln!("cback-restore: cannot install signal handlers: {e}");
    }
    let options = Options {
        verbose: cli.verbose,
        quiet: cli.quiet,
        config: cli.config.clone(),
        logfile: cli.logfile.clone(),
        ..Options::default()
    };
    let mut settings = LogSettings::from_options(&options);
    // Errors are printed by this binary itself (once), not also by the screen logger.
    if !cli.verbose {
        settings.screen_level = None;
    }
    settings.screen = LogScreen::Stderr;
    if let Err(e) = init_logging(&settings) {
        eprintln!("cback-restore: {e}");
        return ExitCode::from(EXIT_LOGGING);
    }
    let code = run(&cli);
    tracing::info!("cback-restore completed with status {code}.");
    ExitCode::from(code)
}

fn run(cli: &RestoreCli) -> u8 {
    tracing::info!("cback-restore started: {:?}", cli.command);
    let config = match ConfigFile::load(&cli.config) {
        Ok(config) => config,
        Err(e) => return fail(EXIT_CONFIG, "error reading the configuration", &e),
    };
    let settings = match cedar_ext_postgresql::load_settings(&config) {
        Ok(settings) => settings,
        Err(e) => return fail(EXIT_CONFIG, "error reading the configuration", &e),
    };
    let mut server = Server::new(&config, &settings);
    server.identity = cli.identity.clone();
    let keys = server.keys();
    let places = sources(&config, &keys);
    match &cli.command {
        Command::List { database } => {
            let (copies, warnings) = all_copies(&places);
            for warning in &warnings {
                tracing::warn!("{warning}");
                eprintln!("cback-restore: warning: {warning}");
            }
            let shown: Vec<&DumpCopy> = copies
                .iter()
                .filter(|c| database.as_ref().map_or(true, |d| &c.database == d))
                .collect();
            print!("{}", table(&shown));
            0
        }
        Command::Restore {
            database,
            from,
            into,
            clean,
            globals,
        } => {
            let request = Request {
                database: database.clone(),
                from: From::parse(from.as_deref()),
                into: into.clone(),
                clean: *clean,
                globals: *globals,
                quiet: cli.quiet,
            };
            match restore(&server, &places, &request) {
                Ok(done) => {
                    let text = format!(
                        "Restored database [{}] from {} ({}) into database [{}]{}.",
                        done.copy.database,
                        done.copy.path.display(),
                        done.copy.date,
                        done.target,
                        match &done.globals {
                            Some(g) => format!(", globals from {}", g.path.display()),
                            None => String::new(),
                        }
                    );
                    tracing::info!("{text}");
                    if !cli.quiet {
                        println!("{text}");
                    }
                    // Logged by the choice; said here too, as the listing's warnings are.
                    if let Some(warning) = done.copy.not_good_day() {
                        eprintln!("cback-restore: warning: {warning}");
                    }
                    0
                }
                Err(e) => fail(failure_code(), "restore failed", &e),
            }
        }
        Command::Drill => {
            let outcomes = drill(&server, &settings, &places, cli.quiet);
            let success = !outcomes.is_empty() && outcomes.iter().all(|o| o.success);
            for outcome in &outcomes {
                let line = outcome.line();
                if outcome.success {
                    tracing::info!("{line}");
                } else {
                    tracing::error!("{line}");
                }
                // The drill's report; with --quiet only its failures (cron mails those).
                if !outcome.success || !cli.quiet {
                    println!("{line}");
                }
            }
            if outcomes.is_empty() {
                eprintln!("cback-restore: the configuration names no database to drill");
            }
            record(&config, &outcomes);
            if cedar_core::interrupt_requested() {
                EXIT_INTERRUPTED
            } else if success {
                0
            } else {
                EXIT_FAILED
            }
        }
    }
}

fn failure_code() -> u8 {
    if cedar_core::interrupt_requested() {
        EXIT_INTERRUPTED
    } else {
        EXIT_FAILED
    }
}

/// Records the drill in cback's status file and textfile (keeping the last run's entries); a
/// failure is reported, not fatal.
fn record(config: &ConfigFile, outcomes: &[Outcome]) {
    let Some(dir) = cedar_core::run_lock_dir(config) else {
        return;
    };
    let metrics = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.metrics_file.as_deref());
    let end = cedar_core::now_secs();
    let drills = outcomes.iter().map(|o| o.result(end)).collect();
    let prom = cedar_core::prom_path(dir, metrics);
    if let Err(e) = cedar_core::write_drills(dir, &prom, drills) {
        tracing::warn!("{e}");
        eprintln!("cback-restore: warning: {e}");
    }
}

/// The listing: one line per copy under a header.
fn table(copies: &[&DumpCopy]) -> String {
    let mut rows = vec![[
        "DATE".to_string(),
        "DATABASE".to_string(),
        "FORMAT".to_string(),
        "SIZE".to_string(),
        "STATUS".to_string(),
        "SOURCE".to_string(),
        "PATH".to_string(),
    ]];
    for c in copies {
        let format = match c.kind {
            Kind::Cluster => "pg_dumpall".to_string(),
            Kind::ServerConfig => "server configuration".to_string(),
            _ => c.format.name().to_string(),
        };
        let mut compression = match c.compression.name() {
            "none" => String::new(),
            name => format!("+{name}"),
        };
        if c.sealing != Sealing::None {
            compression.push_str(&format!("+{}", c.sealing.name()));
        }
        // Encrypted by the remote place on the way (the name does not say so).
        match c.remote.as_ref().map(|r| r.place.sealing()) {
            None | Some(Sealing::None) => {}
            Some(sealing) => compression.push_str(&format!("+{}", sealing.name())),
        }
        rows.push([
            c.date.clone(),
            c.database.clone(),
            format!("{format}{compression}"),
            c.size.to_string(),
            c.status_word().to_string(),
            c.source.clone(),
            c.path.display().to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Logs the error, prints it on stderr, returns `code`.
fn fail(code: u8, context: &str, error: &(dyn std::error::Error + 'static)) -> u8 {
    let text = cedar_core::error_chain(error);
    tracing::error!(target: LOG_FILE_ONLY_TARGET, "{context}: {text}");
    eprintln!("cback-restore: {context}: {text}");
    code
}
