//! `cback status`: the last run as a monitoring check. It reads `cback-status.json` and
//! prints one Nagios-style line (`CBACK OK - last success 7 h ago, 12 databases, 3.20 GB`),
//! then the details, and exits by the monitoring-plugins convention: 0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN. It logs nothing and takes no lock, so that a monitoring agent's
//! user can run it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cedar_core::{
    display_age, display_bytes, parse_duration, read_status, status_path, ConfigFile, CopyRecord,
    RunStatus,
};
use serde::Serialize;

/// The default of `--max-age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(26 * 3600);

/// The switches of `cback status`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StatusSwitches {
    /// status: CRITICAL when the last successful run ended longer ago than this (90m, 26h,
    /// 2d) [default: 26h].
    #[arg(long = "max-age", value_name = "DURATION", value_parser = parse_age)]
    pub max_age: Option<Duration>,
    /// status: WARNING when the last successful run ended longer ago than this (90m, 26h, 2d).
    #[arg(long = "warn-age", value_name = "DURATION", value_parser = parse_age)]
    pub warn_age: Option<Duration>,
    /// status: read this status file instead of WORKING_DIR/cback-status.json.
    #[arg(long = "status-file", value_name = "PATH")]
    pub status_file: Option<PathBuf>,
}

fn parse_age(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

impl StatusSwitches {
    /// Whether any of them was given (they go with the status action only; `--json`, which
    /// `doctor` shares, is one of the run's switches).
    pub fn given(&self) -> bool {
        self.max_age.is_some() || self.warn_age.is_some() || self.status_file.is_some()
    }
}

/// The check's verdict, by the monitoring-plugins convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    /// The exit status: 0, 1, 2, 3.
    pub fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }
    fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// The ages the check compares the last success with.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_age: Duration,
    pub warn_age: Option<Duration>,
}

/// The last restore drill, as the check reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillSummary {
    /// End of the newest drill entry, seconds since the epoch.
    pub end: i64,
    pub databases: usize,
    /// The databases whose drill failed.
    pub failed: Vec<String>,
}

/// What `cback status` found, printed as lines or as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub state: State,
    /// The exit status.
    pub code: u8,
    /// The first line, without the `CBACK STATE - ` prefix.
    pub summary: String,
    /// The lines after it.
    pub details: Vec<String>,
    pub status_file: PathBuf,
    /// Seconds since the epoch.
    pub last_success: Option<i64>,
    pub last_success_age_seconds: Option<i64>,
    pub last_run_end: Option<i64>,
    pub last_run_exit_code: Option<i32>,
    pub run_id: Option<String>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub databases: usize,
    pub peers: usize,
    pub bytes: u64,
    pub drill: Option<DrillSummary>,
    pub newest_copy: Option<CopyRecord>,
}

impl Check {
    /// A check that could not read a status.
    fn unknown(status_file: PathBuf, why: String) -> Check {
        Check {
            state: State::Unknown,
            code: State::Unknown.code(),
            summary: why,
            details: Vec::new(),
            status_file,
            last_success: None,
            last_success_age_seconds: None,
            last_run_end: None,
            last_run_exit_code: None,
            run_id: None,
            error: None,
            warnings: Vec::new(),
            databases: 0,
            peers: 0,
            bytes: 0,
            drill: None,
            newest_copy: None,
        }
    }

    /// The first line: `CBACK STATE - summary`, then the performance data.
    pub fn first_line(&self, limits: &Limits) -> String {
        let mut line = format!("CBACK {} - {}", self.state.word(), self.summary);
        if let Some(age) = self.last_success_age_seconds {
            let warn = limits
                .warn_age
                .map(|w| w.as_secs().to_string())
                .unwrap_or_default();
            line.push_str(&format!(
                " | last_success_age={age}s;{warn};{};0 databases={} bytes={}B warnings={}",
                limits.max_age.as_secs(),
                self.databases,
                self.bytes,
                self.warnings.len()
            ));
        }
        line
    }
}

/// The first line of a possibly long message.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Judges a run's status at `now`.
pub fn assess(status: &RunStatus, status_file: &Path, now: i64, limits: &Limits) -> Check {
    if !status.has_run() {
        return Check::unknown(
            status_file.to_path_buf(),
            format!(
                "the status file {} records no cback run yet (only restore drills); check that the cback timer or cron job runs",
                status_file.display()
            ),
        );
    }
    let age = status.last_success.map(|t| now - t);
    let mut problems: Vec<(State, String)> = Vec::new();
    let mut details = Vec::new();
    if status.exit_code != 0 {
        let error = status
            .error
            .as_deref()
            .map(first_line)
            .unwrap_or("no error was recorded; see the log");
        problems.push((
            State::Critical,
            format!(
                "last run failed {} ago (exit {}): {error}",
                display_age(now - status.end),
                status.exit_code
            ),
        ));
    }
    match age {
        None => problems.push((State::Critical, "no successful run recorded".to_string())),
        Some(age) if age > secs(limits.max_age) => problems.push((
            State::Critical,
            format!(
                "last success {} ago, older than {}",
                display_age(age),
                display_age(secs(limits.max_age))
            ),
        )),
        Some(age) if limits.warn_age.is_some_and(|w| age > secs(w)) => problems.push((
            State::Warning,
            format!(
                "last success {} ago, older than {}",
                display_age(age),
                display_age(limits.warn_age.map(secs).unwrap_or_default())
            ),
        )),
        Some(_) => {}
    }
    if let Some(first) = status.warnings.first() {
        problems.push((
            State::Warning,
            format!(
                "last run logged {} warning(s), the first: {first}",
                status.warnings.len()
            ),
        ));
    }
    let drill = drill_summary(status);
    if let Some(drill) = drill.as_ref().filter(|d| !d.failed.is_empty()) {
        problems.push((
            State::Warning,
            format!(
                "last restore drill {} ago failed for {}",
                display_age(now - drill.end),
                drill.failed.join(", ")
            ),
        ));
    }
    let databases = status.databases.len();
    let peers = status.peers.len();
    let bytes = status.databases.iter().map(|d| d.bytes).sum::<u64>()
        + status.peers.iter().map(|p| p.bytes).sum::<u64>();
    let mut facts = vec![match age {
        Some(age) => format!("last success {} ago", display_age(age)),
        None => "no success recorded".to_string(),
    }];
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    if databases > 0 {
        facts.push(plural(databases, "database"));
    }
    if peers > 0 {
        facts.push(plural(peers, "peer"));
    }
    if bytes > 0 {
        facts.push(display_bytes(bytes as f64));
    }
    let facts = facts.join(", ");
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    let state = problems.first().map_or(State::Ok, |p| p.0);
    let summary = match problems.first() {
        // The worst problem, then the facts unless it already says them.
        Some((_, worst)) if worst.starts_with("last success") => worst.clone(),
        Some((_, worst)) => format!("{worst}; {facts}"),
        None => facts,
    };
    details.extend(
        problems
            .iter()
            .skip(1)
            .map(|(s, p)| format!("{}: {p}", s.word())),
    );
    if let Some(error) = &status.error {
        if error.lines().count() > 1 {
            details.push(format!("error: {error}"));
        }
    }
    for d in status.databases.iter().filter(|d| !d.success) {
        details.push(format!(
            "failed: {} {}: {}",
            d.action,
            d.database,
            first_line(d.error.as_deref().unwrap_or_default())
        ));
    }
    for p in status.peers.iter().filter(|p| !p.success) {
        details.push(format!(
            "failed: peer {}: {}",
            p.peer,
            first_line(p.error.as_deref().unwrap_or_default())
        ));
    }
    details.extend(status.warnings.iter().map(|w| format!("warning: {w}")));
    details.push(format!(
        "last run: {} ended {} ago, exit {}{}",
        status.actions.join(" "),
        display_age(now - status.end),
        status.exit_code,
        status
            .run_id
            .as_deref()
            .map(|id| format!(", run id {id}"))
            .unwrap_or_default()
    ));
    match &drill {
        Some(drill) => details.push(format!(
            "last restore drill: {} ago, {} database(s), {}",
            display_age(now - drill.end),
            drill.databases,
            if drill.failed.is_empty() {
                "all passed".to_string()
            } else {
                format!("failed: {}", drill.failed.join(", "))
            }
        )),
        None => details.push("last restore drill: none recorded".to_string()),
    }
    if let Some(copy) = &status.newest_copy {
        details.push(format!(
            "newest copy in object storage: {} ago, {}",
            display_age(now - copy.end),
            copy.destination
        ));
    }
    Check {
        state,
        code: state.code(),
        summary,
        details,
        status_file: status_file.to_path_buf(),
        last_success: status.last_success,
        last_success_age_seconds: age,
        last_run_end: Some(status.end),
        last_run_exit_code: Some(status.exit_code),
        run_id: status.run_id.clone(),
        error: status.error.clone(),
        warnings: status.warnings.clone(),
        databases,
        peers,
        bytes,
        drill,
        newest_copy: status.newest_copy.clone(),
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn drill_summary(status: &RunStatus) -> Option<DrillSummary> {
    let end = status.drills.iter().map(|d| d.end).max()?;
    Some(DrillSummary {
        end,
        databases: status.drills.len(),
        failed: status
            .drills
            .iter()
            .filter(|d| !d.success)
            .map(|d| d.database.clone())
            .collect(),
    })
}

/// The status file to read: `--status-file`, else `cback-status.json` in the configuration's
/// working_dir.
fn locate(config: &Path, switches: &StatusSwitches) -> Result<PathBuf, String> {
    if let Some(path) = &switches.status_file {
        return Ok(path.clone());
    }
    let file = ConfigFile::load(config).map_err(|e| {
        format!(
            "cannot read the configuration to find working_dir: {}; give the status file with --status-file",
            cedar_core::error_chain(&e)
        )
    })?;
    let dir = cedar_core::run_lock_dir(&file).ok_or_else(|| {
        format!(
            "the configuration {} has no <options><working_dir>, where the status file is; give it with --status-file",
            config.display()
        )
    })?;
    Ok(status_path(dir))
}

/// Runs `cback status`: prints the check and returns its exit status.
pub fn status_command(config: &Path, switches: &StatusSwitches, json: bool) -> u8 {
    let limits = Limits {
        max_age: switches.max_age.unwrap_or(DEFAULT_MAX_AGE),
        warn_age: switches.warn_age,
    };
    let check = match locate(config, switches) {
        Err(why) => Check::unknown(PathBuf::new(), why),
        Ok(path) => match read_status(&path) {
            Ok(run) => assess(&run, &path, cedar_core::now_secs(), &limits),
            Err(e) => Check::unknown(path, cedar_core::error_chain(&e)),
        },
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&check).unwrap_or_default()
        );
    } else {
        println!("{}", check.first_line(&limits));
        for line in &check.details {
            println!("{line}");
        }
    }
    check.code
}

#[cfg(test)]
mod tests {
    use cedar_core::{DatabaseResult, DrillResult};

    use super::*;

    const NOW: i64 = 1_000_000;
    const HOUR: i64 = 3600;

    fn limits(warn: Option<u64>) -> Limits {
        Limits {
            max_age: DEFAULT_MAX_AGE,
            warn_age: warn.map(|h| Duration::from_secs(h * 3600)),
        }
    }

    fn run(success_hours_ago: Option<i64>, exit_code: i32) -> RunStatus {
        let mut status = RunStatus::no_run();
        status.start = NOW - HOUR;
        status.end = NOW - HOUR / 2;
        status.actions = vec!["postgresql".into()];
        status.exit_code = exit_code;
        status.last_success = success_hours_ago.map(|h| NOW - h * HOUR);
        status.databases = (0..12)
            .map(|i| DatabaseResult {
                action: "postgresql".into(),
                database: format!("db{i}"),
                file: None,
                raw_bytes: 0,
                bytes: 300_000_000,
                success: true,
                seconds: 1.0,
                error: None,
                warnings: Vec::new(),
            })
            .collect();
        status
    }

    fn check(status: &RunStatus, warn: Option<u64>) -> Check {
        assess(
            status,
            Path::new("/w/cback-status.json"),
            NOW,
            &limits(warn),
        )
    }

    #[test]
    fn a_recent_success_is_ok_with_its_facts() {
        let c = check(&run(Some(7), 0), Some(24));
        assert_eq!((c.state, c.code), (State::Ok, 0));
        let line = c.first_line(&limits(Some(24)));
        assert!(
            line.starts_with("CBACK OK - last success 7 h ago, 12 databases, 3.35 GB | "),
            "{line}"
        );
        assert!(
            line.contains("last_success_age=25200s;86400;93600;0"),
            "{line}"
        );
        assert!(c
            .details
            .contains(&"last restore drill: none recorded".to_string()));
    }

    #[test]
    fn ages_past_the_limits_warn_then_go_critical() {
        let c = check(&run(Some(25), 0), Some(24));
        assert_eq!(c.state, State::Warning);
        assert_eq!(c.summary, "last success 25 h ago, older than 24 h");
        assert_eq!(check(&run(Some(25), 0), None).state, State::Ok);
        let c = check(&run(Some(27), 0), Some(24));
        assert_eq!((c.state, c.code), (State::Critical, 2));
        assert_eq!(c.summary, "last success 27 h ago, older than 26 h");
        assert_eq!(check(&run(None, 0), None).state, State::Critical);
    }

    #[test]
    fn a_failed_run_is_critical_with_its_error_even_when_the_success_is_recent() {
        let mut status = run(Some(3), 6);
        status.error = Some("action collect failed: disk full\nmore".into());
        status.databases[1].success = false;
        status.databases[1].error = Some("pg_dump: connection refused\nhint".into());
        let c = check(&status, None);
        assert_eq!(c.state, State::Critical);
        assert!(
            c.summary.starts_with(
                "last run failed 30 min ago (exit 6): action collect failed: disk full; last success 3 h ago"
            ),
            "{}",
            c.summary
        );
        assert!(c
            .details
            .contains(&"failed: postgresql db1: pg_dump: connection refused".to_string()));
    }

    #[test]
    fn warnings_and_failed_drills_warn() {
        let mut status = run(Some(2), 0);
        status.warnings = vec!["Staging directory [/s/2026/03/04] already existed.".into()];
        let c = check(&status, None);
        assert_eq!(c.state, State::Warning);
        assert!(c
            .summary
            .starts_with("last run logged 1 warning(s), the first: Staging directory"));
        let mut status = run(Some(2), 0);
        status.drills = vec![DrillResult {
            database: "shop".into(),
            file: None,
            success: false,
            tables: 0,
            rows: 0,
            seconds: 1.0,
            end: NOW - 50 * HOUR,
            error: Some("cut short".into()),
        }];
        status.newest_copy = Some(CopyRecord {
            destination: "s3://b/2026/03/04".into(),
            end: NOW - 5 * HOUR,
        });
        let c = check(&status, None);
        assert_eq!(c.state, State::Warning);
        assert_eq!(
            c.summary,
            "last restore drill 2 d ago failed for shop; last success 2 h ago, 12 databases, 3.35 GB"
        );
        assert!(c
            .details
            .contains(&"newest copy in object storage: 5 h ago, s3://b/2026/03/04".to_string()));
    }

    #[test]
    fn a_status_without_a_run_is_unknown() {
        let mut status = RunStatus::no_run();
        status.drills = Vec::new();
        let c = check(&status, None);
        assert_eq!((c.state, c.code), (State::Unknown, 3));
        assert!(c.summary.contains("no cback run"), "{}", c.summary);
    }
}
