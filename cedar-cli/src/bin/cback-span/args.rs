//! cback-span's command line: the switches of cback (so that the same crontab-style habits
//! work), of which the usage lists those that matter here. Actions and the other switches
//! are accepted and ignored, as by the original's cback3-span.

use cedar_cli::{LogSwitches, RunSwitches};
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
    mut_arg("quiet", |arg| arg.hide(true)),
    mut_arg("full", |arg| arg.hide(true)),
    mut_arg("managed", |arg| arg.hide(true)),
    mut_arg("managed_only", |arg| arg.hide(true)),
    mut_arg("diagnostics", |arg| arg.hide(true)),
    mut_arg("dry_run", |arg| arg.hide(true)),
    mut_arg("actions", |arg| arg.hide(true))
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
    #[command(flatten)]
    run: RunSwitches,
}

impl SpanArgs {
    /// The options the shared pieces (logging) read.
    pub fn into_options(self) -> Options {
        self.run.into_options(self.log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

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
