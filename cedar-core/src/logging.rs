//! Logging in the original's format, through `tracing`.
//!
//! - The log file gets `YYYY-MM-DDTHH:MM:SS TZ --> [LEVEL  ] message` lines: INFO and above,
//!   DEBUG with `--debug`. It is appended to, never truncated. A file cback creates gets the
//!   `--mode` permissions and the `--owner` owner (a failed chown is ignored).
//! - The output of external commands is logged with target [`OUTPUT_TARGET`]; it goes to the
//!   file as bare lines, and only with `--output` or `--debug`.
//! - The screen gets bare messages: ERROR and above normally, INFO with `--verbose`, DEBUG with
//!   `--verbose --debug`, nothing with `--quiet`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::clock;
use crate::options::Options;

/// The tracing target for lines of external commands' output.
pub const OUTPUT_TARGET: &str = "cback::output";

/// The tracing target for messages that go to the log file only (the binary prints them on
/// standard error itself).
pub const FILE_ONLY_TARGET: &str = "cback::file";

/// Errors from setting up logging (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("cannot open log file {}: {source}; fix its directory or permissions, or pick another file with --logfile", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the logger: {0}")]
    Install(String),
}

/// Where screen messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Stdout,
    Stderr,
}

/// What to log where.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// The log file, or `None` for screen only.
    pub file: Option<PathBuf>,
    pub file_level: Level,
    pub log_output: bool,
    /// Most detailed level shown on screen, or `None` for nothing.
    pub screen_level: Option<Level>,
    pub screen: Screen,
    pub owner: (String, String),
    pub mode: u32,
}

impl LogSettings {
    /// The original's rules for a command line.
    pub fn from_options(options: &Options) -> LogSettings {
        let screen_level = if options.quiet {
            None
        } else if options.verbose && options.debug {
            Some(Level::DEBUG)
        } else if options.verbose {
            Some(Level::INFO)
        } else {
            Some(Level::ERROR)
        };
        LogSettings {
            file: Some(options.logfile.clone()),
            file_level: if options.debug {
                Level::DEBUG
            } else {
                Level::INFO
            },
            log_output: options.log_output(),
            screen_level,
            screen: Screen::Stdout,
            owner: options.owner.clone(),
            mode: options.mode,
        }
    }
}

/// Opens (creating with mode and owner if needed) the log file for appending.
pub fn open_log_file(
    path: &Path,
    mode: u32,
    owner: &(String, String),
) -> Result<File, LoggingError> {
    let existed = path.exists();
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)
        .map_err(|source| LoggingError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    if !existed {
        // The umask may have narrowed the mode; set it exactly, as the original does.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        if let Ok((uid, gid)) = crate::ownership::lookup(&owner.0, &owner.1) {
            let _ = nix::unistd::chown(path, Some(uid), Some(gid));
        }
    }
    Ok(file)
}

/// Installs the global subscriber. Call once.
pub fn init(settings: &LogSettings) -> Result<(), LoggingError> {
    let file = match &settings.file {
        Some(path) => Some(open_log_file(path, settings.mode, &settings.owner)?),
        None => None,
    };
    let layer = CedarLayer {
        file: file.map(Mutex::new),
        file_level: settings.file_level,
        log_output: settings.log_output,
        screen_level: settings.screen_level,
        screen: settings.screen,
    };
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| LoggingError::Install(e.to_string()))
}

/// Something drawn on the terminal that screen messages must not garble, such as a progress
/// display: it is given each screen write, to clear itself before and redraw after.
pub type ScreenGuard = std::sync::Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

static SCREEN_GUARD: std::sync::RwLock<Option<ScreenGuard>> = std::sync::RwLock::new(None);

/// Installs (`Some`) or removes (`None`) the [`ScreenGuard`] of screen messages.
pub fn set_screen_guard(guard: Option<ScreenGuard>) {
    *SCREEN_GUARD.write().unwrap_or_else(|e| e.into_inner()) = guard;
}

/// Runs `write` through the installed [`ScreenGuard`], if any.
fn with_screen(write: &mut dyn FnMut()) {
    let guard = SCREEN_GUARD
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    match guard {
        Some(guard) => guard(write),
        None => write(),
    }
}

/// Logs external command output line by line (target [`OUTPUT_TARGET`]).
pub fn log_command_output(text: &str) {
    for line in text.lines() {
        tracing::info!(target: OUTPUT_TARGET, "{line}");
    }
}

/// The original's level names, padded to 7.
pub fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// One log file line.
pub fn format_line(stamp: &str, level: &Level, message: &str) -> String {
    format!("{stamp} --> [{:<7}] {message}", level_name(level))
}

struct CedarLayer {
    file: Option<Mutex<File>>,
    file_level: Level,
    log_output: bool,
    screen_level: Option<Level>,
    screen: Screen,
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: Vec<String>,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields.push(format!("{}={value}", field.name()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields.push(format!("{}={value:?}", field.name()));
        }
    }
}

/// Whether `target` is a library's (the S3 client and its HTTP and TLS stack), whose
/// informational events are not part of the log.
fn is_library(target: &str) -> bool {
    const LIBRARIES: &[&str] = &["aws_", "hyper", "h2", "rustls", "tower", "tokio", "age"];
    LIBRARIES.iter().any(|prefix| target.starts_with(prefix))
}

impl<S: Subscriber> Layer<S> for CedarLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = *meta.level();
        if level == Level::TRACE {
            return;
        }
        // Libraries (the S3 client stack) speak only of warnings and errors.
        if level > Level::WARN && is_library(meta.target()) {
            return;
        }
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let mut message = visitor.message;
        if !visitor.fields.is_empty() {
            message = format!("{message} {}", visitor.fields.join(" "));
        }
        let is_output = meta.target() == OUTPUT_TARGET;
        // The run's status keeps its warnings (`cback status` reports them).
        if level == Level::WARN && !is_output && !is_library(meta.target()) {
            crate::status::record_warning(&message);
        }
        if let Some(file) = &self.file {
            let wanted = if is_output {
                self.log_output
            } else {
                level <= self.file_level
            };
            if wanted {
                let line = if is_output {
                    message.clone()
                } else {
                    format_line(&clock::now().log_stamp(), &level, &message)
                };
                if let Ok(mut f) = file.lock() {
                    let _ = writeln!(f, "{line}");
                }
            }
        }
        if is_output || meta.target() == FILE_ONLY_TARGET {
            return;
        }
        if let Some(max) = self.screen_level {
            if level <= max {
                let screen = self.screen;
                with_screen(&mut || match screen {
                    Screen::Stdout => {
                        let _ = writeln!(std::io::stdout().lock(), "{message}");
                    }
                    Screen::Stderr => {
                        let _ = writeln!(std::io::stderr().lock(), "{message}");
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screen_guard_wraps_each_screen_write() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        set_screen_guard(Some(Arc::new(move |write: &mut dyn FnMut()| {
            counted.fetch_add(1, Ordering::SeqCst);
            write();
        })));
        let mut wrote = false;
        with_screen(&mut || wrote = true);
        set_screen_guard(None);
        with_screen(&mut || {});
        assert!(wrote);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn line_format_matches_the_original() {
        assert_eq!(
            format_line(
                "2026-11-25T14:00:00 UTC",
                &Level::INFO,
                "Cedar Backup run started."
            ),
            "2026-11-25T14:00:00 UTC --> [INFO   ] Cedar Backup run started."
        );
        assert_eq!(format_line("T", &Level::WARN, "w"), "T --> [WARNING] w");
        assert_eq!(format_line("T", &Level::ERROR, "e"), "T --> [ERROR  ] e");
    }

    #[test]
    fn screen_levels_follow_the_switches() {
        let mut o = Options::default();
        assert_eq!(
            LogSettings::from_options(&o).screen_level,
            Some(Level::ERROR)
        );
        o.verbose = true;
        assert_eq!(
            LogSettings::from_options(&o).screen_level,
            Some(Level::INFO)
        );
        o.debug = true;
        assert_eq!(
            LogSettings::from_options(&o).screen_level,
            Some(Level::DEBUG)
        );
        assert_eq!(LogSettings::from_options(&o).file_level, Level::DEBUG);
        assert!(LogSettings::from_options(&o).log_output);
        o.quiet = true;
        assert_eq!(LogSettings::from_options(&o).screen_level, None);
    }

    #[test]
    fn new_log_file_gets_the_mode_and_existing_is_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cback.log");
        let owner = ("root".to_string(), "adm".to_string());
        drop(open_log_file(&path, 0o600, &owner).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(&path, "old\n").unwrap();
        let mut f = open_log_file(&path, 0o644, &owner).unwrap();
        writeln!(f, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\nnew\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn unopenable_log_file_is_an_error() {
        let owner = ("root".to_string(), "adm".to_string());
        let err =
            open_log_file(Path::new("/nonexistent/dir/cback.log"), 0o640, &owner).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/dir/cback.log"));
    }
}
