//! The logging switches every binary takes (`-b -q -l -o -m -O -d -s`), as one clap group that
//! each command line flattens in.

use std::path::PathBuf;

use cedar_core::{Options, DEFAULT_LOGFILE};

/// Where and how much a binary logs, and how it reports an error.
#[derive(Debug, Clone, clap::Args)]
pub struct LogSwitches {
    /// Print the log's messages to the screen as well as the log. (On a terminal the long
    /// actions draw a progress display without it.)
    #[arg(short = 'b', long)]
    pub verbose: bool,
    /// Print nothing to the screen: no messages and no progress display.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Log file.
    #[arg(short = 'l', long, value_name = "PATH", default_value = DEFAULT_LOGFILE)]
    pub logfile: PathBuf,
    /// Owner of a log file this program creates.
    #[arg(short = 'o', long, value_name = "USER:GROUP", default_value = "root:adm", value_parser = parse_owner)]
    pub owner: (String, String),
    /// Permissions of a log file this program creates (octal).
    #[arg(short = 'm', long, value_name = "OCTAL", default_value = "640", value_parser = parse_mode)]
    pub mode: u32,
    /// Also record the output of external commands in the log.
    #[arg(short = 'O', long)]
    pub output: bool,
    /// Debug detail in the log (implies --output).
    #[arg(short = 'd', long)]
    pub debug: bool,
    /// Show the full chain of causes of an error.
    #[arg(short = 's', long)]
    pub stack: bool,
}

impl LogSwitches {
    /// [`Options`] with these switches set and every other field at its default; a command line
    /// with more switches sets those on top (`Options { config, ..log.into_options() }`).
    pub fn into_options(self) -> Options {
        Options {
            verbose: self.verbose,
            quiet: self.quiet,
            logfile: self.logfile,
            owner: self.owner,
            mode: self.mode,
            output: self.output,
            debug: self.debug,
            stack: self.stack,
            ..Options::default()
        }
    }
}

/// `-o/--owner`: exactly `USER:GROUP`.
pub fn parse_owner(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((user, group)) if !user.is_empty() && !group.is_empty() && !group.contains(':') => {
            Ok((user.to_string(), group.to_string()))
        }
        _ => Err("must specify user and group tuple for owner parameter (USER:GROUP)".into()),
    }
}

/// `-m/--mode`: an octal mode of at most 0o7777.
pub fn parse_mode(value: &str) -> Result<u32, String> {
    u32::from_str_radix(value, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("invalid octal file mode `{value}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        log: LogSwitches,
    }

    fn parse(args: &[&str]) -> Result<Options, String> {
        let mut argv = vec!["probe"];
        argv.extend_from_slice(args);
        Probe::try_parse_from(argv)
            .map(|p| p.log.into_options())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_originals() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.logfile, PathBuf::from("/var/log/cback3.log"));
        assert_eq!(o.owner, ("root".to_string(), "adm".to_string()));
        assert_eq!(o.mode, 0o640);
        assert!(!o.verbose && !o.quiet && !o.output && !o.debug && !o.stack);
        assert_eq!(o.config, Options::default().config);
    }

    #[test]
    fn every_switch_is_read() {
        let o = parse(&[
            "-b", "-q", "-l", "/l", "-o", "a:b", "-m", "600", "-O", "-d", "-s",
        ])
        .unwrap();
        assert!(o.verbose && o.quiet && o.output && o.debug && o.stack);
        assert_eq!(o.logfile, PathBuf::from("/l"));
        assert_eq!(o.owner, ("a".to_string(), "b".to_string()));
        assert_eq!(o.mode, 0o600);
    }

    #[test]
    fn bad_owner_and_mode_are_usage_errors() {
        assert!(parse(&["-o", "foo"]).is_err());
        assert!(parse(&["-o", "a:b:c"]).is_err());
        assert!(parse(&["-m", "999"]).is_err());
        assert!(parse(&["-m", "17777"]).is_err());
    }
}
