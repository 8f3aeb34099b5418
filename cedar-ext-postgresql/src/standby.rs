//! Dumps from a hot standby without being cancelled by recovery conflicts.
//!
//! A long pg_dump on a standby is cancelled when replay needs to remove rows its snapshot still
//! sees ("canceling statement due to conflict with recovery"). With `<standby>pause` (the
//! default), when the server is in recovery the action pauses WAL replay before the first dump
//! and waits until the server reports it paused (`pg_get_wal_replay_pause_state()` = `paused`
//! on 14 and later; on older servers, the replay position standing still for
//! [`STILL_FOR`]): `pg_wal_replay_pause()` returns before replay stops. The wait is bounded by
//! `<pause_timeout>` (seconds, default [`DEFAULT_PAUSE_TIMEOUT`]); past it the pause request is
//! withdrawn and the action fails before writing anything.
//!
//! Replay is resumed after the last dump whatever happened (failures, SIGINT/SIGTERM, a panic:
//! [`Paused`] resumes on drop). The pause is recorded in working_dir before it is asked for, so
//! that when cback itself is killed, the next run of the action that reaches the same server
//! resumes it before anything else ([`resume_recorded`]), whatever its `<standby>` says. A
//! standby already paused by someone else is dumped as it is and left as it was found.
//!
//! Pausing needs EXECUTE on both `pg_wal_replay_pause()` and `pg_wal_replay_resume()`; a role
//! lacking either is refused before anything is paused, with the GRANT that fixes it.
//! `<standby>never` dumps without pausing (as before); `<standby>refuse` fails on a standby.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cedar_core::{clip_text, ConfigFile};

use crate::config::{PostgresqlSection, Settings};
use crate::restore::quote_ident;
use crate::version::{psql_first_watched, QueryError, Version};

/// Seconds to wait for replay to pause unless `<pause_timeout>` says otherwise.
pub const DEFAULT_PAUSE_TIMEOUT: u64 = 3600;
/// The longest `<pause_timeout>`: a week.
const MAX_PAUSE_TIMEOUT: u64 = 7 * 86_400;
/// How the record of a pause in working_dir is named (then the server, then `.json`).
pub const RECORD_PREFIX: &str = "postgresql-replay-paused-";
/// How often the server is asked whether replay has paused.
const POLL: Duration = Duration::from_millis(200);
/// Before PostgreSQL 14: how long the replay position must stand still to count as paused.
pub const STILL_FOR: Duration = Duration::from_secs(2);
/// How long resuming may take once the run was interrupted.
const RESUME_DEADLINE: Duration = Duration::from_secs(60);

/// What to do when the server is a hot standby.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StandbyMode {
    /// Pause replay during the dumps.
    #[default]
    Pause,
    /// Dump without pausing.
    Never,
    /// Fail: the site must dump a primary.
    Refuse,
}

impl StandbyMode {
    pub const NAMES: [&'static str; 3] = ["pause", "never", "refuse"];

    pub fn parse(text: &str) -> Option<StandbyMode> {
        match text.trim() {
            "pause" => Some(StandbyMode::Pause),
            "never" => Some(StandbyMode::Never),
            "refuse" => Some(StandbyMode::Refuse),
            _ => None,
        }
    }
}

/// The `<standby>` of `section` (the default when absent or invalid: invalid is a problem).
pub fn mode(section: &PostgresqlSection) -> StandbyMode {
    section
        .standby
        .as_deref()
        .and_then(StandbyMode::parse)
        .unwrap_or_default()
}

fn parse_timeout(text: &str) -> Option<Duration> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=MAX_PAUSE_TIMEOUT).contains(n))
        .map(Duration::from_secs)
}

/// The `<pause_timeout>` of `section`.
pub fn pause_timeout(section: &PostgresqlSection) -> Duration {
    section
        .pause_timeout
        .as_deref()
        .and_then(parse_timeout)
        .unwrap_or(Duration::from_secs(DEFAULT_PAUSE_TIMEOUT))
}

/// What is wrong with `<standby>` and `<pause_timeout>`.
pub fn problems(section: &PostgresqlSection) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(text) = section.standby.as_deref() {
        if StandbyMode::parse(text).is_none() {
            problems.push(format!(
                "<standby> `{}` is not one of {}",
                clip_text(text),
                StandbyMode::NAMES.join(", ")
            ));
        }
    }
    if let Some(text) = section.pause_timeout.as_deref() {
        if parse_timeout(text).is_none() {
            problems.push(format!(
                "<pause_timeout> `{}` is not a number of seconds between 1 and {MAX_PAUSE_TIMEOUT}",
                clip_text(text)
            ));
        }
    }
    problems
}

/// Why the standby could not be handled; nothing was dumped (but for [`StandbyError::Resume`]).
#[derive(Debug, thiserror::Error)]
pub enum StandbyError {
    #[error("{server} is a hot standby (in recovery) and <standby>refuse</standby> allows a primary only, so nothing was dumped; point <host> and <port> at the primary, or set <standby>pause</standby>")]
    Refused { server: String },

    #[error("role [{role}] may not call {function}() in database [{database}], which pausing replay on the hot standby {server} needs, so nothing was paused nor dumped; on the primary, connected to database [{database}], run `GRANT EXECUTE ON FUNCTION pg_catalog.{function}() TO {grantee};` (pausing needs both pg_wal_replay_pause and pg_wal_replay_resume), or set <standby>never</standby> to dump without pausing")]
    NotAllowed {
        server: String,
        database: String,
        role: String,
        function: &'static str,
        grantee: String,
    },

    #[error("replay on the hot standby {server} did not pause within {waited} s (<pause_timeout>), so the pause request was withdrawn and nothing was dumped; replay is held back (e.g. by a query on the standby in conflict with it while max_standby_streaming_delay is -1): end what holds it, or raise <pause_timeout>")]
    Timeout { server: String, waited: u64 },

    #[error("cannot {what} on the hot standby {server}")]
    Query {
        what: &'static str,
        server: String,
        #[source]
        source: QueryError,
    },

    #[error("replay on the hot standby {server} may still be paused: resuming it failed; run `SELECT pg_wal_replay_resume();` on it (the next run of the action tries again)")]
    Resume {
        server: String,
        #[source]
        source: QueryError,
    },

    #[error("cannot record the pause of replay on {server} in {} (so nothing was paused); check that working_dir is writable", path.display())]
    Record {
        server: String,
        path: PathBuf,
        #[source]
        source: cedar_core::StatusError,
    },

    #[error("interrupted")]
    Interrupted,
}

/// The server the run's dumps connect to, as far as pausing replay goes.
#[derive(Debug, Clone)]
pub struct Server {
    psql: PathBuf,
    env: Vec<(&'static str, OsString)>,
    databases: Vec<String>,
    /// How messages name it: `[HOST:PORT]`.
    pub label: String,
    /// The record of a pause this action asked for (none without a working_dir).
    record: Option<PathBuf>,
}

/// What the server says about recovery and about the role.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    standby: bool,
    /// `not paused`, `pause requested` or `paused` (before 14: `paused` or `not paused`).
    pause: String,
    /// The last replayed position.
    lsn: String,
    can_pause: bool,
    can_resume: bool,
    /// The database psql reached (function privileges belong to a database).
    database: String,
    role: String,
}

/// Whether a server of `version` has `pg_get_wal_replay_pause_state()` (14 and later; an
/// unknown version is taken as a current one).
fn has_pause_state(version: Option<Version>) -> bool {
    version.map_or(true, |v| v.0 >= 140_000)
}

/// The query behind [`State`]: its fields separated by the unit separator (0x1f), which no
/// sane role or database name holds; `pause_state` tells whether the server has
/// `pg_get_wal_replay_pause_state()` (14 and later).
fn state_sql(pause_state: bool) -> String {
    let pause = if pause_state {
        "pg_get_wal_replay_pause_state()"
    } else {
        "CASE WHEN pg_is_wal_replay_paused() THEN 'paused' ELSE 'not paused' END"
    };
    let fields = [
        format!("CASE WHEN pg_is_in_recovery() THEN 's' || chr(31) || {pause} ELSE 'p' || chr(31) END"),
        "coalesce(pg_last_wal_replay_lsn()::text, '')".to_string(),
        "CASE WHEN has_function_privilege('pg_catalog.pg_wal_replay_pause()', 'EXECUTE') THEN 't' ELSE 'f' END".to_string(),
        "CASE WHEN has_function_privilege('pg_catalog.pg_wal_replay_resume()', 'EXECUTE') THEN 't' ELSE 'f' END".to_string(),
        "current_database()".to_string(),
        "current_user".to_string(),
    ]
    .map(|field| format!("({field})"))
    .join(" || chr(31) || ");
    format!("SELECT {fields}")
}

fn parse_state(out: &str) -> Option<State> {
    let mut parts = out.trim_end_matches(['\n', '\r']).split('\x1f');
    let standby = match parts.next()? {
        "s" => true,
        "p" => false,
        _ => return None,
    };
    let state = State {
        standby,
        pause: parts.next()?.to_string(),
        lsn: parts.next()?.to_string(),
        can_pause: parts.next()? == "t",
        can_resume: parts.next()? == "t",
        database: parts.next()?.to_string(),
        role: parts.next()?.to_string(),
    };
    parts.next().is_none().then_some(state)
}

impl Server {
    /// The server `settings` connect to (psql through the same libpq environment as the
    /// dumps, in the first of `databases` that answers).
    pub fn new(config: &ConfigFile, settings: &Settings, databases: &[&str]) -> Server {
        let env = crate::prepare::libpq_env(settings);
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string_lossy().into_owned())
                .or_else(|| std::env::var(name).ok().filter(|v| !v.is_empty()))
        };
        let label = format!(
            "[{}:{}]",
            var("PGHOST").unwrap_or_else(|| "localhost".to_string()),
            var("PGPORT").unwrap_or_else(|| "5432".to_string())
        );
        let file: String = label
            .trim_matches(['[', ']'])
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let record = config
            .config
            .options
            .as_ref()
            .and_then(|o| o.working_dir.as_deref())
            .map(|dir| PathBuf::from(dir).join(format!("{RECORD_PREFIX}{file}.json")));
        Server {
            psql: cedar_core::resolve_command(&config.config, "psql"),
            env,
            databases: databases.iter().map(|d| d.to_string()).collect(),
            label,
            record,
        }
    }

    fn query(
        &self,
        sql: &str,
        interrupted: &(dyn Fn() -> bool + Sync),
    ) -> Result<String, QueryError> {
        let databases: Vec<&str> = self.databases.iter().map(String::as_str).collect();
        let out = psql_first_watched(&self.psql, &self.env, &databases, sql, interrupted)?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    fn state(
        &self,
        version: Option<Version>,
        interrupted: &(dyn Fn() -> bool + Sync),
    ) -> Result<State, StandbyError> {
        let pause_state = has_pause_state(version);
        let fail = |source| match source {
            QueryError::Interrupted { .. } => StandbyError::Interrupted,
            source => StandbyError::Query {
                what: "ask whether the server is in recovery",
                server: self.label.clone(),
                source,
            },
        };
        let out = self
            .query(&state_sql(pause_state), interrupted)
            .map_err(fail)?;
        parse_state(&out).ok_or_else(|| {
            fail(QueryError::Unreadable {
                program: self.psql.clone(),
                answer: out,
            })
        })
    }

    /// Resumes replay (with a deadline of its own: it runs after an interrupt too).
    fn resume(&self) -> Result<(), QueryError> {
        let until = Instant::now() + RESUME_DEADLINE;
        let late = move || Instant::now() > until;
        if self.query("SELECT pg_is_in_recovery()", &late)? == "t" {
            self.query("SELECT pg_wal_replay_resume()", &late)?;
        }
        if let Some(record) = &self.record {
            if let Err(err) = std::fs::remove_file(record) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(
                        "Cannot remove {}: {err}; remove it by hand (the next run would resume replay on {} again).",
                        record.display(),
                        self.label
                    );
                }
            }
        }
        Ok(())
    }

    fn write_record(&self) -> Result<(), StandbyError> {
        let Some(path) = &self.record else {
            return Ok(());
        };
        let text = serde_json::json!({
            "server": self.label,
            "paused_at": cedar_core::rfc3339(cedar_core::now_secs()),
            "pid": std::process::id(),
        });
        cedar_core::write_file_atomically(path, format!("{text}\n").as_bytes()).map_err(|source| {
            StandbyError::Record {
                server: self.label.clone(),
                path: path.clone(),
                source,
            }
        })
    }
}

/// Resumes replay on `server` when an earlier run that paused it was killed before it could
/// (its record is in working_dir). A server that cannot be reached keeps the record (logged).
pub fn resume_recorded(server: &Server) {
    let Some(record) = server.record.as_ref().filter(|r| r.exists()) else {
        return;
    };
    tracing::warn!(
        "An earlier run paused replay on the hot standby {} and was stopped before it could resume it ({}); resuming it first.",
        server.label,
        record.display()
    );
    match server.resume() {
        Ok(()) => tracing::info!(
            "Resumed replay on the hot standby {} (paused by an earlier run).",
            server.label
        ),
        Err(err) => tracing::error!(
            "{}",
            cedar_core::error_chain(&StandbyError::Resume {
                server: server.label.clone(),
                source: err,
            })
        ),
    }
}

/// A pause of replay this run asked for; resumed by [`Paused::release`], or on drop.
#[derive(Debug)]
pub struct Paused<'a> {
    server: &'a Server,
    released: bool,
}

impl Paused<'_> {
    /// Resumes replay.
    pub fn release(mut self) -> Result<(), StandbyError> {
        self.released = true;
        self.server
            .resume()
            .map_err(|source| StandbyError::Resume {
                server: self.server.label.clone(),
                source,
            })?;
        tracing::info!("Resumed replay on the hot standby {}.", self.server.label);
        Ok(())
    }
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        if !self.released {
            if let Err(source) = self.server.resume() {
                let err = StandbyError::Resume {
                    server: self.server.label.clone(),
                    source,
                };
                tracing::error!("{}", cedar_core::error_chain(&err));
            }
        }
    }
}

/// What `cback doctor` says about the server the dumps connect to: a primary, or a hot
/// standby and what [`hold`] will do with it, as `<standby>` says: fail (`refuse`), dump it as
/// it is (`never`, or replay already paused by someone else), or pause replay, which needs
/// EXECUTE on both pause and resume functions (the FAIL carries the GRANT). The same query as
/// the run's ([`state_sql`]), within `limit`.
pub fn doctor_check(
    server: &Server,
    settings: &Settings,
    version: Option<Version>,
    limit: Duration,
) -> cedar_core::CheckResult {
    use cedar_core::CheckResult;
    const CHECK: &str = "postgresql standby";
    let subject = server.label.trim_matches(['[', ']']).to_string();
    let databases: Vec<&str> = server.databases.iter().map(String::as_str).collect();
    let sql = state_sql(has_pause_state(version));
    let answer =
        crate::version::psql_first_within(&server.psql, &server.env, &databases, &sql, Some(limit));
    let state = match answer {
        Ok(out) => parse_state(String::from_utf8_lossy(&out).trim()),
        Err(err) => {
            return CheckResult::fail(
                CHECK,
                subject,
                format!(
                    "cannot ask whether the server is in recovery: {}",
                    cedar_core::error_chain(&err).replace('\n', " ")
                ),
            )
        }
    };
    let Some(state) = state else {
        return CheckResult::fail(
            CHECK,
            subject,
            "cannot read the server's answer about recovery; check that psql is PostgreSQL's",
        );
    };
    if !state.standby {
        return CheckResult::pass(
            CHECK,
            subject,
            "a primary (not in recovery): nothing to pause",
        );
    }
    let at = if state.lsn.is_empty() {
        String::new()
    } else {
        format!(", replayed up to {}", state.lsn)
    };
    match settings.standby {
        StandbyMode::Refuse => CheckResult::fail(
            CHECK,
            subject,
            format!("a hot standby{at}, and <standby>refuse</standby> allows a primary only, so the run fails; point <host> and <port> at the primary, or set <standby>pause</standby>"),
        ),
        StandbyMode::Never => CheckResult::pass(
            CHECK,
            subject,
            format!("a hot standby{at}; dumped without pausing replay (<standby>never), so a long dump may be cancelled by a conflict with recovery"),
        ),
        StandbyMode::Pause if state.pause != "not paused" => CheckResult::warn(
            CHECK,
            subject,
            format!("a hot standby{at} whose replay is already paused ({}) by someone else: it is dumped as it is and left paused; resume it (SELECT pg_wal_replay_resume();) unless that is intended", state.pause),
        ),
        StandbyMode::Pause => {
            for (allowed, function) in [
                (state.can_pause, "pg_wal_replay_pause"),
                (state.can_resume, "pg_wal_replay_resume"),
            ] {
                if !allowed {
                    return CheckResult::fail(
                        CHECK,
                        subject,
                        format!(
                            "a hot standby{at}; role {} may not call {function}() in database [{}], which pausing replay needs, so the run fails before any dump; on the primary, connected to database [{}], run GRANT EXECUTE ON FUNCTION pg_catalog.{function}() TO {}; (pausing needs both pg_wal_replay_pause and pg_wal_replay_resume), or set <standby>never</standby>",
                            clip_text(&state.role),
                            clip_text(&state.database),
                            clip_text(&state.database),
                            quote_ident(&state.role)
                        ),
                    );
                }
            }
            CheckResult::pass(
                CHECK,
                subject,
                format!(
                    "a hot standby{at}, replay not paused; role {} may pause and resume replay in database [{}]; the dumps wait up to {} s (<pause_timeout>) for the pause",
                    state.role,
                    state.database,
                    settings.pause_timeout.as_secs()
                ),
            )
        }
    }
}

/// Before the first dump: when the server is a hot standby, refuses it, dumps it as it is, or
/// pauses replay and waits until it has paused, as `<standby>` says. `version` is the server's.
pub fn hold<'a>(
    server: &'a Server,
    settings: &Settings,
    version: Option<Version>,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Paused<'a>>, StandbyError> {
    let state = match server.state(version, interrupted) {
        Ok(state) => state,
        // The dumps report why the server cannot be asked (down, wrong password), as for the
        // version; only a site that refuses standbys must know.
        Err(err @ StandbyError::Query { .. }) if settings.standby != StandbyMode::Refuse => {
            tracing::warn!(
                "Cannot ask whether the server is a hot standby, so replay is not paused: {}",
                cedar_core::error_chain(&err)
            );
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    if !state.standby {
        return Ok(None);
    }
    match settings.standby {
        StandbyMode::Refuse => {
            return Err(StandbyError::Refused {
                server: server.label.clone(),
            })
        }
        StandbyMode::Never => {
            tracing::info!(
                "{} is a hot standby; dumping without pausing replay (<standby>never), so a long dump may be cancelled by a conflict with recovery.",
                server.label
            );
            return Ok(None);
        }
        StandbyMode::Pause => {}
    }
    if state.pause != "not paused" {
        tracing::info!(
            "Replay on the hot standby {} is already paused ({}) by someone else: it is dumped as it is and left as it was found.",
            server.label,
            state.pause
        );
        return Ok(None);
    }
    for (allowed, function) in [
        (state.can_pause, "pg_wal_replay_pause"),
        (state.can_resume, "pg_wal_replay_resume"),
    ] {
        if !allowed {
            return Err(StandbyError::NotAllowed {
                server: server.label.clone(),
                database: clip_text(&state.database).to_string(),
                role: clip_text(&state.role).to_string(),
                function,
                grantee: quote_ident(&state.role),
            });
        }
    }
    server.write_record()?;
    let paused = Paused {
        server,
        released: false,
    };
    server
        .query("SELECT pg_wal_replay_pause()", interrupted)
        .map_err(|source| match source {
            QueryError::Interrupted { .. } => StandbyError::Interrupted,
            source => StandbyError::Query {
                what: "pause replay",
                server: server.label.clone(),
                source,
            },
        })?;
    tracing::info!(
        "Pausing replay on the hot standby {} (waiting up to {} s for it to pause).",
        server.label,
        settings.pause_timeout.as_secs()
    );
    let pause_state = has_pause_state(version);
    let started = Instant::now();
    let mut still = (state.lsn, Instant::now());
    loop {
        if interrupted() {
            return Err(StandbyError::Interrupted);
        }
        let now = server.state(version, interrupted)?;
        let done = if pause_state {
            now.pause == "paused"
        } else if now.lsn == still.0 {
            now.pause == "paused" && still.1.elapsed() >= STILL_FOR
        } else {
            still = (now.lsn, Instant::now());
            false
        };
        if done {
            break;
        }
        if started.elapsed() >= settings.pause_timeout {
            // Dropping the pause withdraws the request.
            drop(paused);
            return Err(StandbyError::Timeout {
                server: server.label.clone(),
                waited: settings.pause_timeout.as_secs(),
            });
        }
        std::thread::sleep(POLL);
    }
    tracing::info!(
        "Replay on the hot standby {} is paused ({:.1} s); it is resumed after the last dump.",
        server.label,
        started.elapsed().as_secs_f64()
    );
    Ok(Some(paused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_elements_are_checked() {
        let section = |standby: &str, timeout: &str| PostgresqlSection {
            standby: Some(standby.into()),
            pause_timeout: Some(timeout.into()),
            ..Default::default()
        };
        assert!(problems(&section("pause", "1")).is_empty());
        assert_eq!(mode(&section("refuse", "1")), StandbyMode::Refuse);
        assert_eq!(mode(&PostgresqlSection::default()), StandbyMode::Pause);
        assert_eq!(
            pause_timeout(&PostgresqlSection::default()),
            Duration::from_secs(3600)
        );
        assert_eq!(
            pause_timeout(&section("never", "90")),
            Duration::from_secs(90)
        );
        assert_eq!(
            problems(&section("sometimes", "0")),
            vec![
                "<standby> `sometimes` is not one of pause, never, refuse",
                "<pause_timeout> `0` is not a number of seconds between 1 and 604800",
            ]
        );
    }

    #[test]
    fn the_state_is_read_whatever_the_role_is_called() {
        assert_eq!(
            parse_state("s\x1fpause requested\x1f0/3000148\x1ft\x1ff\x1fshop\x1fodd|role\n"),
            Some(State {
                standby: true,
                pause: "pause requested".into(),
                lsn: "0/3000148".into(),
                can_pause: true,
                can_resume: false,
                database: "shop".into(),
                role: "odd|role".into(),
            })
        );
        let primary = parse_state("p\x1f\x1f\x1ft\x1ft\x1fpostgres\x1fpostgres").unwrap();
        assert!(!primary.standby);
        assert_eq!(parse_state("x\x1fa\x1fb"), None);
        assert!(state_sql(true).contains("pg_get_wal_replay_pause_state()"));
        assert!(state_sql(false).contains("pg_is_wal_replay_paused()"));
    }

    #[test]
    fn the_grant_that_fixes_a_missing_right_is_named() {
        let err = StandbyError::NotAllowed {
            server: "[/run/pg:5433]".into(),
            database: "shop".into(),
            role: "backup".into(),
            function: "pg_wal_replay_resume",
            grantee: quote_ident("backup"),
        };
        let text = err.to_string();
        assert!(
            text.contains(
                "GRANT EXECUTE ON FUNCTION pg_catalog.pg_wal_replay_resume() TO \"backup\";"
            ),
            "{text}"
        );
    }
}
