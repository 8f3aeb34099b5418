//! Role passwords in the globals, on servers where the backup role cannot read them.
//!
//! `pg_dumpall` (whole cluster or `--globals-only`) reads the roles' password hashes from
//! `pg_authid`, which only a superuser or a member of `pg_read_all_data` may read. Managed
//! servers (RDS, Cloud SQL, Azure, DigitalOcean) grant that to no role, so there pg_dumpall
//! fails. Before the first dump the action asks the server whether the role can read
//! `pg_authid` ([`QUERY`]); when it cannot, or `<role_passwords>N` says so up front, pg_dumpall
//! runs with `--no-role-passwords`: the roles are dumped without their passwords, and the log
//! (a warning), the manifest entry and the status file say "role passwords were left out".
//! A role that can read `pg_authid` keeps the passwords.

use std::ffi::OsString;
use std::path::Path;

use cedar_core::clip_text;

use crate::config::{Settings, Target};
use crate::version::psql_first;

/// What the manifest, the status file and the log say when the passwords are not in a dump.
pub const LEFT_OUT: &str = "role passwords were left out";

/// The role and whether it may read `pg_authid` (a superuser, or through `pg_read_all_data`).
pub const QUERY: &str =
    "SELECT current_user || '|' || has_table_privilege('pg_catalog.pg_authid', 'SELECT')";

/// Whether the roles are dumped with their passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolePasswords {
    /// With them: the role can read `pg_authid`, or the server could not be asked (pg_dumpall
    /// then reports the real problem).
    Kept,
    /// Without them, as `<role_passwords>N` asks.
    Declined,
    /// Without them: `role` cannot read `pg_authid`.
    Unreadable { role: String },
}

impl RolePasswords {
    /// The argument pg_dumpall gets for `target`, if any.
    pub fn arg(&self, target: &Target) -> Option<&'static str> {
        let dumps_roles = matches!(target, Target::All | Target::Globals);
        (dumps_roles && *self != RolePasswords::Kept).then_some("--no-role-passwords")
    }

    /// The warnings of a finished dump of `target` (for its manifest entry and its status).
    pub fn warnings(&self, target: &Target) -> Vec<String> {
        if self.arg(target).is_none() {
            return Vec::new();
        }
        vec![match self {
            RolePasswords::Unreadable { role } => {
                format!(
                    "{LEFT_OUT}: role [{}] cannot read pg_authid",
                    clip_text(role)
                )
            }
            _ => format!("{LEFT_OUT} (<role_passwords>N)"),
        }]
    }
}

/// Reads the answer to [`QUERY`]: the role and whether it may read `pg_authid`.
fn parse_answer(out: &[u8]) -> Option<(String, bool)> {
    let text = String::from_utf8_lossy(out);
    let (role, readable) = text.trim_end_matches(['\n', '\r']).rsplit_once('|')?;
    match readable {
        // A boolean cast to text reads `true` / `false`.
        "true" | "t" => Some((role.to_string(), true)),
        "false" | "f" => Some((role.to_string(), false)),
        _ => None,
    }
}

/// Settles whether the roles are dumped with their passwords (asked only when a pg_dumpall
/// runs), connecting to the first of `databases` that answers; logs the choice.
pub fn decide(
    settings: &Settings,
    psql: &Path,
    env: &[(&'static str, OsString)],
    databases: &[&str],
) -> RolePasswords {
    if !settings.role_passwords {
        tracing::info!(
            "The roles are dumped without their passwords, as <role_passwords>N asks: {LEFT_OUT}."
        );
        return RolePasswords::Declined;
    }
    let answer = psql_first(psql, env, databases, QUERY);
    match answer.as_deref().ok().and_then(parse_answer) {
        Some((_, true)) => RolePasswords::Kept,
        Some((role, false)) => {
            tracing::warn!(
                "Role [{}] cannot read pg_authid (as on managed servers: RDS, Cloud SQL, Azure), so pg_dumpall runs with --no-role-passwords and {LEFT_OUT}; restored roles will need new passwords. To keep them, dump as a superuser or as a member of pg_read_all_data; to say this is expected, set <role_passwords>N</role_passwords>.",
                clip_text(&role)
            );
            RolePasswords::Unreadable { role }
        }
        None => {
            // The dumps report why the server cannot be reached.
            tracing::debug!("Cannot ask whether the role may read pg_authid: {answer:?}");
            RolePasswords::Kept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_names_the_role_and_the_right() {
        assert_eq!(
            parse_answer(b"backup|t\n"),
            Some(("backup".to_string(), true))
        );
        assert_eq!(
            parse_answer(b"odd|role|false\n"),
            Some(("odd|role".to_string(), false))
        );
        assert_eq!(parse_answer(b"backup\n"), None);
        assert_eq!(parse_answer(b"backup|x\n"), None);
    }

    #[test]
    fn only_the_dumps_of_roles_leave_the_passwords_out() {
        let unreadable = RolePasswords::Unreadable {
            role: "rds_backup".into(),
        };
        let db = Target::Database("shop".into());
        for target in [Target::All, Target::Globals] {
            assert_eq!(unreadable.arg(&target), Some("--no-role-passwords"));
            assert_eq!(
                unreadable.warnings(&target),
                vec!["role passwords were left out: role [rds_backup] cannot read pg_authid"]
            );
            assert_eq!(
                RolePasswords::Declined.warnings(&target),
                vec!["role passwords were left out (<role_passwords>N)"]
            );
            assert_eq!(RolePasswords::Kept.arg(&target), None);
            assert!(RolePasswords::Kept.warnings(&target).is_empty());
        }
        assert_eq!(unreadable.arg(&db), None);
        assert!(unreadable.warnings(&db).is_empty());
    }
}
