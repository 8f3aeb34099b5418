//! `cback doctor`: what each action and extension checks before tonight's run, without writing
//! a backup. The kernel holds only the mechanism: the [`CheckResult`] every check returns, the
//! time limit of each check ([`CHECK_TIME_LIMIT`], applied to commands by
//! [`crate::process::run_supervised_within`]) and the two renderings (one line per check, or
//! one JSON document). Each action contributes its checks through
//! [`crate::Action::doctor`]; the `doctor` action in `cedar-actions` asks them all.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// How long one check may take: a command still running after it is stopped (with its whole
/// process group) and the check fails, so an unreachable peer or server cannot hang the doctor.
pub const CHECK_TIME_LIMIT: Duration = Duration::from_secs(20);

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Tonight's run will get past this.
    Pass,
    /// The run will work, but not as well as it should (e.g. globals without role passwords).
    Warn,
    /// The run will fail here.
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        })
    }
}

/// One check's result: what was checked (`check`, e.g. `postgresql table`), the thing
/// (`subject`: the database, table, peer, bucket, key or directory) and what was found and,
/// unless it passed, what to do (`detail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub status: Status,
    pub check: String,
    pub subject: String,
    pub detail: String,
}

impl CheckResult {
    pub fn new(
        status: Status,
        check: impl Into<String>,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> CheckResult {
        CheckResult {
            status,
            check: check.into(),
            subject: subject.into(),
            detail: detail.into(),
        }
    }
    pub fn pass(
        check: impl Into<String>,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(Status::Pass, check, subject, detail)
    }
    pub fn warn(
        check: impl Into<String>,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(Status::Warn, check, subject, detail)
    }
    pub fn fail(
        check: impl Into<String>,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(Status::Fail, check, subject, detail)
    }
}

impl fmt::Display for CheckResult {
    /// `FAIL postgresql table shop.public.secret: ...`: the verdict first, for `grep`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.status, self.check, self.subject)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// The results as people read them: one line each.
pub fn render_lines(results: &[CheckResult]) -> String {
    results.iter().map(|r| format!("{r}\n")).collect()
}

/// The results as tools read them: one JSON document, a list of
/// `{"status", "check", "subject", "detail"}`.
pub fn render_json(results: &[CheckResult]) -> String {
    let mut text = serde_json::to_string_pretty(results).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    text
}

/// The result when an action's section cannot be read: the checks that need it cannot run.
pub fn section_failure(
    section: &str,
    config_path: &std::path::Path,
    error: &dyn std::error::Error,
) -> CheckResult {
    CheckResult::fail(
        format!("{section} section"),
        config_path.display().to_string(),
        format!(
            "{}; fix the <{section}> section",
            crate::chain::chain(error).replace('\n', " ")
        ),
    )
}

/// A file (or, with `dir`, a directory) an action reads: present, of that kind, and readable by
/// the user running cback (opened, not guessed from permission bits).
pub fn readable(check: &str, path: &std::path::Path, dir: bool) -> CheckResult {
    let subject = path.display().to_string();
    let kind = if dir { "directory" } else { "file" };
    let opened = match std::fs::metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return CheckResult::fail(
                check,
                subject,
                "does not exist; fix the path in the configuration",
            )
        }
        Err(err) => Err(err),
        Ok(meta) if meta.is_dir() != dir => {
            return CheckResult::fail(
                check,
                subject,
                format!("is not a {kind}; fix the path in the configuration"),
            )
        }
        Ok(_) if dir => std::fs::read_dir(path).map(drop),
        Ok(_) => std::fs::File::open(path).map(drop),
    };
    match opened {
        Ok(()) => CheckResult::pass(check, subject, format!("{kind} present and readable")),
        Err(err) => CheckResult::fail(
            check,
            subject,
            format!("cannot read it: {err}; give the user running cback read access"),
        ),
    }
}

/// A program an action runs (`program` as `<override>` or PATH resolves it): present and
/// executable.
pub fn program(check: &str, program: &std::path::Path) -> CheckResult {
    use std::os::unix::fs::PermissionsExt;
    let subject = program.display().to_string();
    let candidates: Vec<std::path::PathBuf> = if program.components().count() > 1 {
        vec![program.to_path_buf()]
    } else {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(program))
            .collect()
    };
    let found = candidates.into_iter().find(|path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    match found {
        Some(path) => CheckResult::pass(check, subject, format!("found: {}", path.display())),
        None => CheckResult::fail(
            check,
            subject,
            "not found (or not executable); install it, or point an <override> in <options> at it",
        ),
    }
}

/// How many results failed.
pub fn failures(results: &[CheckResult]) -> usize {
    results.iter().filter(|r| r.status == Status::Fail).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_starts_with_the_verdict_and_names_the_subject() {
        let r = CheckResult::fail("directory", "/srv/collect", "does not exist; create it");
        assert_eq!(
            r.to_string(),
            "FAIL directory /srv/collect: does not exist; create it"
        );
        assert_eq!(
            CheckResult::pass("peer", "db1", "").to_string(),
            "PASS peer db1"
        );
        assert_eq!(
            render_lines(&[r.clone(), CheckResult::warn("a", "b", "c")]),
            "FAIL directory /srv/collect: does not exist; create it\nWARN a b: c\n"
        );
    }

    #[test]
    fn an_unreadable_section_names_itself_and_what_to_do() {
        let err = std::io::Error::new(std::io::ErrorKind::InvalidData, "bad <all>");
        let r = section_failure("mbox", std::path::Path::new("/etc/cback3.conf"), &err);
        assert_eq!(
            r.to_string(),
            "FAIL mbox section /etc/cback3.conf: bad <all>; fix the <mbox> section"
        );
    }

    #[test]
    fn readable_paths_and_programs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mbox");
        std::fs::write(&file, b"From x").unwrap();
        assert_eq!(readable("mbox file", &file, false).status, Status::Pass);
        assert_eq!(
            readable("mbox directory", dir.path(), true).status,
            Status::Pass
        );
        let wrong = readable("mbox directory", &file, true);
        assert_eq!(wrong.status, Status::Fail);
        assert!(wrong.detail.contains("is not a directory"));
        let gone = readable("mbox file", &dir.path().join("gone"), false);
        assert!(gone.detail.contains("does not exist"), "{gone}");
        assert_eq!(
            program("tool", std::path::Path::new("sh")).status,
            Status::Pass
        );
        assert_eq!(
            program("tool", std::path::Path::new("/bin/sh")).status,
            Status::Pass
        );
        let missing = program("tool", std::path::Path::new("no-such-program-cback"));
        assert_eq!(missing.status, Status::Fail);
        assert_eq!(program("tool", &file).status, Status::Fail);
    }

    #[test]
    fn json_is_a_list_of_four_fields() {
        let results = [
            CheckResult::pass("configuration", "/etc/cback3.conf", "valid"),
            CheckResult::fail("bucket", "b", "missing"),
        ];
        let value: serde_json::Value = serde_json::from_str(&render_json(&results)).unwrap();
        assert_eq!(value[0]["status"], "PASS");
        assert_eq!(value[1]["status"], "FAIL");
        assert_eq!(value[1]["check"], "bucket");
        assert_eq!(value[1]["subject"], "b");
        assert_eq!(value[1]["detail"], "missing");
        assert_eq!(value.as_array().unwrap().len(), 2);
        assert_eq!(failures(&results), 1);
        assert_eq!(failures(&results[..1]), 0);
    }
}
