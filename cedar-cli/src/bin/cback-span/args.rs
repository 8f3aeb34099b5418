//! cback-span's command line: the switches of cback (so that the same crontab-style habits
//! work), of which the usage lists those that matter here. Actions and the other switches
//! are accepted and ignored, as by the original's cback3-span.

use std::path::PathBuf;

use cedar_cli::log_switches::LogSwitches;
use cedar_core::options::DEFAULT_CONFIG;
use cedar_core::Options;
use clap::Parser;

/// cback-span: split staged data that does not fit on one disc over several discs.
///
/// It reads the <store> section of the configuration, lists the daily staging directories
/// not yet written to disc, asks a few questions on the terminal, then writes the discs one
/// after the other and marks the directories with cback.store.
#[derive(Debug, Parser)]
#[command(
    name = "cback-span",
    version,
    about,
    disable_version_flag = true,
    disable_help_flag = true,
    mut_arg("quiet", |arg| arg.hide(true))
)]
pub struct SpanArgs {
    /// Display this usage and exit.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Display the version and exit.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    #[command(flatten)]
    log: LogSwitches,
    /// Configuration file.
    #[arg(short = 'c', long, value_name = "PATH", default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    #[arg(short = 'f', long, hide = true)]
    full: bool,
    #[arg(short = 'M', long, hide = true)]
    managed: bool,
    #[arg(short = 'N', long = "managed-only", hide = true)]
    managed_only: bool,
    #[arg(short = 'D', long, hide = true)]
    diagnostics: bool,
    #[arg(short = 'n', long = "dry-run", hide = true)]
    dry_run: bool,
    #[arg(value_name = "ACTION", hide = true)]
    actions: Vec<String>,
}

impl SpanArgs {
    /// The options the shared pieces (logging) read.
    pub fn into_options(self) -> Options {
        Options {
            config: self.config,
            full: self.full,
            managed: self.managed,
            managed_only: self.managed_only,
            diagnostics: self.diagnostics,
            dry_run: self.dry_run,
            actions: self.actions,
            ..self.log.into_options()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        let mut argv = vec!["cback-span"];
        argv.extend_from_slice(args);
        SpanArgs::try_parse_from(argv)
            .map(SpanArgs::into_options)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn switches() {
        let o = parse(&["-c", "/x.conf", "-l", "/l", "-O", "-f", "store"]).unwrap();
        assert_eq!(o.config, PathBuf::from("/x.conf"));
        assert!(o.output && o.full);
        assert!(parse(&[]).is_ok());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["-o", "nogroup"]).is_err());
    }
}
