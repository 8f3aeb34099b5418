//! The command-line options of a run, independent of how they were parsed.

use std::path::PathBuf;

/// Default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/cback3.conf";
/// Default log file.
pub const DEFAULT_LOGFILE: &str = "/var/log/cback3.log";
/// Default owner of a log file cback creates.
pub const DEFAULT_OWNER: (&str, &str) = ("root", "adm");
/// Default mode of a log file cback creates.
pub const DEFAULT_MODE: u32 = 0o640;

/// The parsed command line, as actions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub verbose: bool,
    pub quiet: bool,
    pub config: PathBuf,
    pub full: bool,
    pub managed: bool,
    pub managed_only: bool,
    pub logfile: PathBuf,
    pub owner: (String, String),
    pub mode: u32,
    pub output: bool,
    pub debug: bool,
    pub stack: bool,
    pub diagnostics: bool,
    pub dry_run: bool,
    /// `--json`: `cback doctor` prints its results as one JSON document.
    pub json: bool,
    /// Action names in command-line order.
    pub actions: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            verbose: false,
            quiet: false,
            config: PathBuf::from(DEFAULT_CONFIG),
            full: false,
            managed: false,
            managed_only: false,
            logfile: PathBuf::from(DEFAULT_LOGFILE),
            owner: (DEFAULT_OWNER.0.to_string(), DEFAULT_OWNER.1.to_string()),
            mode: DEFAULT_MODE,
            output: false,
            debug: false,
            stack: false,
            diagnostics: false,
            dry_run: false,
            json: false,
            actions: Vec::new(),
        }
    }
}

impl Options {
    /// Whether actions run on this machine (everything but `--managed-only`).
    pub fn local(&self) -> bool {
        !self.managed_only
    }
    /// Whether actions also run on managed peers.
    pub fn managed_execution(&self) -> bool {
        self.managed || self.managed_only
    }
    /// Whether external commands' output goes into the log (`--output`, implied by `--debug`).
    pub fn log_output(&self) -> bool {
        self.output || self.debug
    }
}
