//! Running external commands the way the original does: `<override>` paths, `LC_*` removed and
//! `LANG=C` set, everything else inherited.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use crate::config::Config;

/// The program to run for `name`: the `abs_path` of the first `<override>` whose `command` is
/// `name`, else `name` itself (looked up on PATH when run).
pub fn resolve_command(config: &Config, name: &str) -> PathBuf {
    config
        .options
        .as_ref()
        .and_then(|o| {
            o.overrides
                .iter()
                .find(|ov| ov.command.as_deref() == Some(name))
                .and_then(|ov| ov.abs_path.clone())
        })
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Whether an `<override>` pins `name` to an absolute path.
pub fn is_overridden(config: &Config, name: &str) -> bool {
    resolve_command(config, name).is_absolute()
}

/// A [`Command`] for `program` with the original's environment rules applied.
pub fn command(program: impl Into<OsString>) -> Command {
    let mut cmd = Command::new(program.into());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LC_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("LANG", "C");
    cmd
}

/// The last `max_lines` non-empty lines of `text`, trimmed, for error messages.
pub fn tail(text: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CommandOverride, OptionsConfig};

    #[test]
    fn override_wins_over_path() {
        let mut config = Config::default();
        assert_eq!(
            resolve_command(&config, "pg_dump"),
            PathBuf::from("pg_dump")
        );
        config.options = Some(OptionsConfig {
            overrides: vec![CommandOverride {
                command: Some("pg_dump".into()),
                abs_path: Some("/opt/pg/bin/pg_dump".into()),
            }],
            ..Default::default()
        });
        assert_eq!(
            resolve_command(&config, "pg_dump"),
            PathBuf::from("/opt/pg/bin/pg_dump")
        );
        assert!(is_overridden(&config, "pg_dump"));
        assert!(!is_overridden(&config, "pg_dumpall"));
    }

    #[test]
    fn command_sets_lang_c() {
        let cmd = command("true");
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs
            .iter()
            .any(|(k, v)| *k == "LANG" && v.map(|v| v == "C").unwrap_or(false)));
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 3), "");
    }
}
