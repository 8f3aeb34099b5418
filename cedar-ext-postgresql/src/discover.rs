//! The databases of a cluster, for `<all>Y</all>` with `<split>Y</split>`.
//!
//! Asks the server with psql (`-0`: records separated by NUL bytes, so any database name comes
//! back intact), leaves out template databases and those that refuse connections, and then the
//! names that an `<exclude>` pattern matches. A pattern must match the whole name: `test` leaves
//! out `test` but not `test2`; write `test.*` for both.

use std::ffi::OsString;
use std::path::Path;

use cedar_core::clip_text;
use regex::Regex;

use crate::version::{psql, QueryError};

/// The query that lists every database, each name prefixed with one letter: `d` to dump, `t`
/// a template, `n` a database that refuses connections (both left out, and logged).
pub const QUERY: &str = "SELECT CASE WHEN datistemplate THEN 't' WHEN NOT datallowconn THEN 'n' \
     ELSE 'd' END || datname FROM pg_database ORDER BY datname";

/// The databases psql connects to for the list, in order (pg_dumpall does the same).
pub const MAINTENANCE_DATABASES: [&str; 2] = ["postgres", "template1"];

/// Compiled `<exclude>` patterns.
#[derive(Debug, Clone, Default)]
pub struct Excludes {
    patterns: Vec<Regex>,
}

impl Excludes {
    /// Compiles `patterns`, each anchored to match a whole name; the error names the pattern.
    pub fn new(patterns: &[String]) -> Result<Excludes, String> {
        let patterns = patterns
            .iter()
            .map(|p| {
                Regex::new(&format!("^(?:{p})$")).map_err(|err| {
                    format!(
                        "<exclude> `{}` is not a valid regular expression: {}",
                        clip_text(p),
                        clip_text(&err.to_string())
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Excludes { patterns })
    }

    /// Whether `name` is excluded.
    pub fn excludes(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.is_match(name))
    }
}

/// Why the databases could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list the databases of the cluster (needed for <split>Y); check that the server runs and that the backup user may connect to the postgres or template1 database")]
pub struct DiscoverError {
    #[source]
    pub source: QueryError,
}

/// Splits psql's `-0` output into names. Every record ends with a NUL byte, so the piece after
/// the last NUL is empty and dropped; nothing else is taken off a name (a name may end with a
/// newline or a space).
pub fn parse_names(output: &[u8]) -> Vec<String> {
    let output = output.strip_suffix(&[0]).unwrap_or(output);
    if output.is_empty() {
        return Vec::new();
    }
    output
        .split(|b| *b == 0)
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

/// The databases to dump: every connectable non-template database not excluded, sorted by
/// name as the server sorts them. Also returns the excluded names, for the log.
pub fn databases(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    excludes: &Excludes,
) -> Result<(Vec<String>, Vec<String>), DiscoverError> {
    let mut last = None;
    for database in MAINTENANCE_DATABASES {
        match psql(psql_program, env, database, &["-0"], QUERY) {
            Ok(output) => {
                let mut dumpable = Vec::new();
                for record in parse_names(&output) {
                    let mut chars = record.chars();
                    let kind = chars.next();
                    let name = chars.as_str().to_string();
                    match kind {
                        Some('d') => dumpable.push(name),
                        Some('t') => tracing::info!(
                            "Database [{name}] is a template; <split> leaves templates out \
                             (dump it by name with <database> to keep it)."
                        ),
                        _ => tracing::info!(
                            "Database [{name}] does not allow connections; <split> leaves it out."
                        ),
                    }
                }
                let (excluded, kept): (Vec<String>, Vec<String>) = dumpable
                    .into_iter()
                    .partition(|name| excludes.excludes(name));
                return Ok((kept, excluded));
            }
            Err(source @ QueryError::Spawn { .. }) => return Err(DiscoverError { source }),
            Err(source) => last = Some(source),
        }
    }
    Err(DiscoverError {
        source: last.expect("at least one maintenance database was tried"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn excludes_match_whole_names() {
        let ex = Excludes::new(&["test".into(), "scratch_.*".into(), "a|b".into()]).unwrap();
        assert!(ex.excludes("test"));
        assert!(!ex.excludes("test2"));
        assert!(!ex.excludes("mytest"));
        assert!(ex.excludes("scratch_1"));
        assert!(!ex.excludes("scratch"));
        assert!(ex.excludes("a") && ex.excludes("b") && !ex.excludes("ab"));
        let err = Excludes::new(&["(".into()]).unwrap_err();
        assert!(err.contains("<exclude> `(`"), "{err}");
        assert!(!Excludes::default().excludes("anything"));
    }

    #[test]
    fn names_survive_newlines_and_spaces() {
        let out = b"a b\0caf\xc3\xa9\0line\nbreak\0ends\n\0 spaced \0";
        assert_eq!(
            parse_names(out),
            vec!["a b", "café", "line\nbreak", "ends\n", " spaced "]
        );
        assert!(parse_names(b"").is_empty());
        assert_eq!(parse_names(b"only\0"), vec!["only"]);
    }

    #[test]
    fn databases_are_listed_through_psql_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("psql");
        // Fails on postgres (as if the user may not connect there), answers on template1.
        std::fs::write(
            &fake,
            "#!/bin/sh\nif [ \"$PGDATABASE\" = postgres ]; then echo 'FATAL: denied' >&2; exit 2; fi\n\
             case \"$*\" in *-0*datistemplate*) ;; *) exit 3;; esac\n\
             printf 'dapp\\0dscratch_1\\0dshop\\0ttemplate1\\0dtest\\0nlocked\\0'\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let ex = Excludes::new(&["scratch_.*".into(), "test".into()]).unwrap();
        let (kept, excluded) = databases(&fake, &[], &ex).unwrap();
        assert_eq!(kept, vec!["app", "shop"]);
        assert_eq!(excluded, vec!["scratch_1", "test"]);

        std::fs::write(&fake, "#!/bin/sh\necho 'FATAL: down' >&2; exit 2\n").unwrap();
        let err = databases(&fake, &[], &ex).unwrap_err();
        let chain = format!("{err}: {}", err.source);
        assert!(
            chain.contains("cannot list") && chain.contains("FATAL: down"),
            "{chain}"
        );
    }
}
