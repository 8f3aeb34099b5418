//! The command line: the original's switches (plus `--dry-run`), parsed with clap.

use std::path::PathBuf;

use cedar_core::{Options, DEFAULT_CONFIG};
use clap::Parser;

use crate::log_switches::LogSwitches;
use crate::status_check::StatusSwitches;

const AFTER_HELP: &str = "\
Actions:
  all          collect, stage, store and purge, in that order
  collect      collect files and directories into the collect directory
  stage        copy collected files from the peers into the staging directory
  store        write staged files to CD or DVD
  purge        remove old files from the configured directories
  rebuild      rebuild this week's disc from the staging directories
  validate     check the configuration and the machine, then report every problem
  doctor       check that tonight's run can succeed (servers, peers, directories, disc), one
               PASS/WARN/FAIL line per check, without writing any backup; --json for tools
  initialize   prepare media for use
  status       report the last run as a monitoring check (exit 0 OK, 1 WARNING,
               2 CRITICAL, 3 UNKNOWN); with --max-age, --warn-age, --json, --status-file
  EXTENSION    any extended action in <extensions>, or a built-in extension (postgresql, capacity)

rebuild, validate, doctor, initialize, status and all must be given alone.

Exit status: 0 success, 2 usage error, 3 log file error, 4 configuration error,
5 interrupted, 6 an action failed.";

/// cback: Cedar Backup 3, in Rust. Runs the actions of an existing /etc/cback3.conf.
#[derive(Debug, Parser)]
#[command(
    name = "cback",
    version,
    about,
    after_help = AFTER_HELP,
    disable_version_flag = true,
    disable_help_flag = true
)]
pub struct Cli {
    /// Display this usage and exit.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Display the version and exit.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    #[command(flatten)]
    log: LogSwitches,
    #[command(flatten)]
    run: RunSwitches,
    #[command(flatten)]
    status: StatusSwitches,
}

/// What a run does: the switches of cback besides the logging ones, shared with cback-span
/// (which accepts them and ignores most).
#[derive(Debug, Clone, clap::Args)]
pub struct RunSwitches {
    /// Configuration file.
    #[arg(short = 'c', long, value_name = "PATH", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Full backup regardless of configuration: reset incremental state, collect weekly items.
    #[arg(short = 'f', long)]
    pub full: bool,
    /// Also run actions on managed peers.
    #[arg(short = 'M', long)]
    pub managed: bool,
    /// Run actions only on managed peers.
    #[arg(short = 'N', long = "managed-only")]
    pub managed_only: bool,
    /// Print runtime diagnostics and exit.
    #[arg(short = 'D', long)]
    pub diagnostics: bool,
    /// Load and validate the configuration, print the plan and exit without running anything.
    #[arg(short = 'n', long = "dry-run")]
    pub dry_run: bool,
    /// doctor and status: print the results as JSON instead of lines (doctor: a list of status,
    /// check, subject, detail; status: the check as one object).
    #[arg(long)]
    pub json: bool,
    /// Actions to run.
    #[arg(value_name = "ACTION", value_parser = ActionName, hide_possible_values = true)]
    pub actions: Vec<String>,
}

impl RunSwitches {
    /// The options of a run: these switches on top of `log`'s.
    pub fn into_options(self, log: LogSwitches) -> Options {
        Options {
            config: self.config,
            full: self.full,
            managed: self.managed,
            managed_only: self.managed_only,
            diagnostics: self.diagnostics,
            dry_run: self.dry_run,
            json: self.json,
            actions: self.actions,
            ..log.into_options()
        }
    }
}

/// An action name: any word is accepted (extensions are named in the configuration, which is
/// read later), but the built-in actions and the registered extensions are offered to shell
/// completion.
#[derive(Debug, Clone, Copy)]
struct ActionName;

impl clap::builder::TypedValueParser for ActionName {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            action_names()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// The built-in actions in the original's order, then every registered extension.
pub fn action_names() -> Vec<&'static str> {
    let mut names = vec!["all"];
    names.extend(cedar_core::BUILTIN_ACTION_NAMES);
    names.push(STATUS_ACTION);
    let mut extensions: Vec<&'static str> = cedar_core::action_registrations()
        .filter(|r| matches!(r.kind, cedar_core::ActionKind::Extension { .. }))
        .map(|r| r.name)
        .collect();
    extensions.sort_unstable();
    extensions.dedup();
    names.extend(extensions);
    names
}

/// The clap definition of `cback`, for the man page and the completions.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// The action `cback` answers itself, without logging, locking or running a plan.
pub const STATUS_ACTION: &str = "status";

impl Cli {
    /// The switches of `cback status`.
    pub fn status(&self) -> &StatusSwitches {
        &self.status
    }

    /// Whether the command line is `cback status` (the only action, checked by
    /// [`Cli::into_options`]).
    pub fn is_status(&self) -> bool {
        self.run.actions.iter().any(|a| a == STATUS_ACTION)
    }

    /// The switches' cross-checks that clap does not do; each failure is a usage error.
    pub fn into_options(self) -> Result<Options, String> {
        if self.run.managed && self.run.managed_only {
            return Err("the --managed and --managed-only options may not be combined".into());
        }
        if self.is_status() && self.run.actions.len() > 1 {
            return Err(
                "action status may not be combined with other actions; run it on its own".into(),
            );
        }
        if self.status.given() && !self.is_status() {
            return Err("--max-age, --warn-age and --status-file go with the status action".into());
        }
        if self.run.json
            && !self
                .run
                .actions
                .iter()
                .any(|a| a == STATUS_ACTION || a == "doctor")
        {
            return Err("--json goes with the doctor and status actions".into());
        }
        if self.run.actions.is_empty() && !self.run.diagnostics {
            return Err("at least one action must be specified".into());
        }
        Ok(self.run.into_options(self.log))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        let mut argv = vec!["cback"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())
            .and_then(Cli::into_options)
    }

    #[test]
    fn defaults_match_the_original() {
        let o = parse(&["collect"]).unwrap();
        assert_eq!(o.config, PathBuf::from("/etc/cback3.conf"));
        assert_eq!(o.logfile, PathBuf::from("/var/log/cback3.log"));
        assert_eq!(o.owner, ("root".to_string(), "adm".to_string()));
        assert_eq!(o.mode, 0o640);
        assert!(!o.full && !o.managed && !o.dry_run);
    }

    #[test]
    fn short_and_long_switches() {
        let o = parse(&[
            "-b", "-q", "-c", "/x.conf", "-f", "-M", "-l", "/l", "-o", "a:b", "-m", "600", "-O",
            "-d", "-s", "-n", "collect", "purge",
        ])
        .unwrap();
        assert!(o.verbose && o.quiet && o.full && o.managed && o.output && o.debug);
        assert!(o.stack && o.dry_run);
        assert_eq!(o.mode, 0o600);
        assert_eq!(o.actions, ["collect", "purge"]);
        let o = parse(&[
            "--managed-only",
            "--config=/y",
            "--full",
            "--dry-run",
            "all",
        ])
        .unwrap();
        assert!(o.managed_only && o.full && o.dry_run);
        assert_eq!(o.config, PathBuf::from("/y"));
    }

    #[test]
    fn usage_errors() {
        assert!(parse(&[]).unwrap_err().contains("at least one action"));
        assert!(parse(&["-M", "-N", "collect"])
            .unwrap_err()
            .contains("may not be combined"));
        assert!(parse(&["-o", "foo", "collect"]).is_err());
        assert!(parse(&["-m", "999", "collect"]).is_err());
        assert!(parse(&["-m", "abc", "collect"]).is_err());
        assert!(parse(&["--bogus", "collect"]).is_err());
        assert!(parse(&["-c"]).is_err());
        assert!(parse(&["-D"]).is_ok());
        assert!(parse(&["status", "collect"])
            .unwrap_err()
            .contains("may not be combined"));
        assert!(parse(&["--json", "collect"])
            .unwrap_err()
            .contains("goes with the doctor and status actions"));
        assert!(parse(&["--status-file", "/x", "collect"])
            .unwrap_err()
            .contains("go with the status action"));
        assert!(parse(&["--json", "doctor"]).is_ok());
        assert!(parse(&["--max-age", "26x", "status"])
            .unwrap_err()
            .contains("26h"));
        assert!(parse(&["--max-age", "2d", "--warn-age", "90m", "--json", "status"]).is_ok());
    }
}
