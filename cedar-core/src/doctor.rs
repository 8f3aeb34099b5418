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
