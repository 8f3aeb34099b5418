//! End-to-end, against a real streaming-replication standby of the shared primary: dumps from
//! a hot standby pause WAL replay until the last dump and always resume it (issue 25, part 1).
//!
//! The tests pause and resume the one standby, so they run one at a time ([`standby`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use cback_tests::pg::{self, Cluster, PgRunDir};

/// The primary and its standby, with the standby to this test alone while the guard lives.
fn standby() -> Option<(MutexGuard<'static, ()>, &'static Cluster, &'static Cluster)> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let primary = pg::shared()?;
    let standby = pg::shared_standby()?;
    Some((guard, primary, standby))
}

/// `pg_get_wal_replay_pause_state()` of the standby.
fn pause_state(standby: &Cluster) -> String {
    standby
        .psql("postgres", "SELECT pg_get_wal_replay_pause_state();")
        .trim()
        .to_string()
}

fn replay_lsn(standby: &Cluster) -> String {
    standby
        .psql("postgres", "SELECT pg_last_wal_replay_lsn();")
        .trim()
        .to_string()
}

/// A database on the primary with a table `t`, replayed on the standby.
fn database(primary: &Cluster, standby: &Cluster, name: &str) {
    primary.create_small_database(name, 200);
    standby.wait_for_replay_of(primary);
}

/// A site dumping `db` from the standby, with `extra` elements and `overrides`.
fn site_for(db: &str, extra: &str, overrides: &[(&str, &std::path::Path)]) -> PgRunDir {
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("none", &[db], extra), overrides);
    site
}

fn run(site: &PgRunDir, standby: &Cluster) -> Output {
    site.command(Some(standby), &["postgresql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run cback")
}

/// The records of a pause in the site's working_dir.
fn records(site: &PgRunDir) -> Vec<PathBuf> {
    std::fs::read_dir(site.path("work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("postgresql-replay-paused-")
        })
        .collect()
}

/// A pg_dump that waits `seconds` before running the real one, so that the test can look at
/// the standby while the dump is under way.
fn slow_pg_dump(site: &PgRunDir, standby: &Cluster, seconds: u32) -> PathBuf {
    site.script(
        "pg_dump",
        &format!(
            "sleep {seconds}\nexec '{}' \"$@\"",
            standby.install.bin("pg_dump").display()
        ),
    )
}

/// Starts `cback postgresql` for `site` (configured for `db` with a pg_dump that waits
/// `seconds`) against the standby; returns it and its pg_dump once replay is paused.
fn start_paused(site: &PgRunDir, standby: &Cluster, db: &str, seconds: u32) -> (Child, u32) {
    let slow = slow_pg_dump(site, standby, seconds);
    site.config(&pg::section("none", &[db], ""), &[("pg_dump", &slow)]);
    let cback = site
        .command(Some(standby), &["postgresql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dump = pg::wait_for_child(cback.id(), "pg_dump", Duration::from_secs(60))
        .expect("cback starts pg_dump");
    assert_eq!(pause_state(standby), "paused");
    (cback, dump)
}

/// The run must have succeeded.
fn assert_success(output: &Output, site: &PgRunDir) {
    assert!(
        output.status.success(),
        "{}\nlog:\n{}",
        String::from_utf8_lossy(&output.stderr),
        site.log_text()
    );
}

/// Rows of table `t` in a plain dump.
fn dumped_rows(dump: &str) -> usize {
    let start = dump.find("COPY public.t ").expect("the table's data");
    let body = &dump[start..];
    let end = body.find("\n\\.\n").expect("the end of the data");
    body[..end].lines().count() - 1
}

#[test]
fn a_dump_from_a_standby_pauses_replay_while_the_primary_writes_and_resumes_it() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby writes";
    database(primary, standby, db);
    let site = PgRunDir::new(crate::BIN);

    // Inserts on the primary all along the dump.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                primary.psql(
                    db,
                    "INSERT INTO t SELECT max(id) + 1, 'during the dump' FROM t;",
                );
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        });
        let (cback, _) = start_paused(&site, standby, db, 3);
        let before = replay_lsn(standby);
        std::thread::sleep(Duration::from_millis(1000));
        assert_eq!(
            replay_lsn(standby),
            before,
            "replay stands still during the dump"
        );
        let output = cback.wait_with_output().unwrap();
        stop.store(true, Ordering::SeqCst);
        let inserts = writer.join().unwrap();
        assert!(inserts > 10, "{inserts} inserts");
        assert_success(&output, &site);
    });

    assert_eq!(pause_state(standby), "not paused");
    standby.wait_for_replay_of(primary);
    let total: usize = primary
        .psql(db, "SELECT count(*) FROM t;")
        .trim()
        .parse()
        .unwrap();
    let dump =
        std::fs::read_to_string(site.collect.join(format!("postgresqldump-{db}.txt"))).unwrap();
    let rows = dumped_rows(&dump);
    assert!(
        rows >= 200 && rows < total,
        "the dump holds {rows} rows of the {total} written by the end"
    );
    let log = site.log_text();
    assert!(log.contains("Pausing replay on the hot standby"), "{log}");
    assert!(log.contains("Resumed replay on the hot standby"), "{log}");
    assert!(records(&site).is_empty(), "{:?}", records(&site));
}

#[test]
fn a_killed_run_leaves_replay_paused_and_the_next_run_resumes_it() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby killed";
    database(primary, standby, db);
    let site = PgRunDir::new(crate::BIN);
    let (mut cback, dump) = start_paused(&site, standby, db, 120);
    assert_eq!(records(&site).len(), 1);
    use nix::sys::signal::{kill, killpg, Signal};
    use nix::unistd::Pid;
    kill(Pid::from_raw(cback.id() as i32), Signal::SIGKILL).unwrap();
    // pg_dump runs in a process group of its own.
    let _ = killpg(Pid::from_raw(dump as i32), Signal::SIGKILL);
    cback.wait().unwrap();
    assert_eq!(pause_state(standby), "paused", "nobody resumed it");

    // The next run resumes it first, whatever its <standby>.
    site.config(&pg::section("none", &[db], "<standby>never</standby>"), &[]);
    let output = run(&site, standby);
    assert_success(&output, &site);
    assert_eq!(pause_state(standby), "not paused");
    let log = site.log_text();
    assert!(log.contains("resuming it first"), "{log}");
    assert!(log.contains("<standby>never"), "{log}");
    assert!(records(&site).is_empty());
    standby.wait_for_replay_of(primary);
}

#[test]
fn refuse_fails_on_a_standby_and_writes_nothing() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby refuse";
    database(primary, standby, db);
    let site = site_for(db, "<standby>refuse</standby>", &[]);
    let output = run(&site, standby);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "[{}:{}] is a hot standby",
            standby.socket_dir.display(),
            standby.port
        )) && stderr.contains("<standby>refuse"),
        "{stderr}"
    );
    assert!(site.all_entries().is_empty(), "{:?}", site.all_entries());
    assert_eq!(pause_state(standby), "not paused");
    // The primary itself is dumped.
    let output = run(&site, primary);
    assert!(output.status.success());
}

#[test]
fn a_role_that_may_not_resume_is_refused_before_anything_is_paused() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby grant";
    primary.create_small_database(db, 50);
    primary.psql("postgres", "CREATE ROLE cback_nopause LOGIN;");
    // Function privileges belong to a database: the one cback connects to, the named one.
    primary.psql(
        db,
        "GRANT SELECT ON t TO cback_nopause;\n\
         GRANT EXECUTE ON FUNCTION pg_catalog.pg_wal_replay_pause() TO cback_nopause;",
    );
    standby.wait_for_replay_of(primary);
    let site = site_for(db, "<user>cback_nopause</user>", &[]);
    let output = run(&site, standby);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(
            "role [cback_nopause] may not call pg_wal_replay_resume() in database [standby grant]"
        ) && stderr.contains(
            "GRANT EXECUTE ON FUNCTION pg_catalog.pg_wal_replay_resume() TO \"cback_nopause\";"
        ) && stderr.contains("nothing was paused"),
        "{stderr}"
    );
    assert_eq!(pause_state(standby), "not paused");
    assert!(site.all_entries().is_empty());
    assert!(records(&site).is_empty());

    // Granted both, the role pauses, dumps and resumes.
    primary.psql(
        db,
        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_wal_replay_resume() TO cback_nopause;",
    );
    standby.wait_for_replay_of(primary);
    let output = run(&site, standby);
    assert_success(&output, &site);
    assert!(site.log_text().contains("Resumed replay"));
    assert_eq!(pause_state(standby), "not paused");
}

/// A transaction on the standby that has read table `t` and stays open: replay of an ACCESS
/// EXCLUSIVE lock on `t` waits for it (max_standby_streaming_delay is -1).
fn reader_on_standby(standby: &Cluster, db: &str) -> Child {
    let mut child = standby
        .client("psql")
        .env("PGDATABASE", db)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(stdin, "BEGIN;\nSELECT count(*) FROM t;").unwrap();
    stdin.flush().unwrap();
    let query = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 WHERE c.relname = 't' AND l.mode = 'AccessShareLock' AND l.granted;";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while standby.psql(db, query).trim() == "0" {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader holds no lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn a_pause_that_does_not_take_effect_in_time_is_withdrawn() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby timeout";
    database(primary, standby, db);
    let mut reader = reader_on_standby(standby, db);
    // Replay of this lock waits for the reader: replay is held back, and cannot pause.
    primary.psql(db, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; COMMIT;");
    std::thread::sleep(Duration::from_millis(1500));

    let site = site_for(db, "<pause_timeout>2</pause_timeout>", &[]);
    let output = run(&site, standby);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let state = pause_state(standby);
    drop(reader.stdin.take());
    let _ = reader.wait();
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "replay on the hot standby [{}:{}] did not pause within 2 s",
            standby.socket_dir.display(),
            standby.port
        )) && stderr.contains("withdrawn"),
        "{stderr}"
    );
    assert_eq!(state, "not paused", "the pause request was withdrawn");
    assert!(site.all_entries().is_empty(), "{:?}", site.all_entries());
    assert!(records(&site).is_empty());
    standby.wait_for_replay_of(primary);
}

#[test]
fn sigterm_mid_dump_resumes_replay_and_exits_5() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby sigterm";
    database(primary, standby, db);
    let site = PgRunDir::new(crate::BIN);
    let (cback, _) = start_paused(&site, standby, db, 120);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cback.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = cback.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(pause_state(standby), "not paused");
    assert!(records(&site).is_empty());
    assert!(site
        .log_text()
        .contains("Resumed replay on the hot standby"));
    assert!(site.all_entries().is_empty(), "{:?}", site.all_entries());
}

#[test]
fn a_standby_paused_by_someone_else_is_dumped_as_it_is_and_left_paused() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby already paused";
    database(primary, standby, db);
    standby.psql("postgres", "SELECT pg_wal_replay_pause();");
    let site = site_for(db, "", &[]);
    let output = run(&site, standby);
    let state = pause_state(standby);
    standby.psql("postgres", "SELECT pg_wal_replay_resume();");
    assert_success(&output, &site);
    assert_eq!(state, "paused", "left as it was found");
    assert!(site.log_text().contains("already paused"));
    assert!(records(&site).is_empty());
    assert_eq!(site.entries(), vec![format!("postgresqldump-{db}.txt")]);
}

#[test]
fn a_failed_dump_on_a_standby_still_resumes_replay() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby failing";
    database(primary, standby, db);
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("none", &[db, "no such database"], ""), &[]);
    let output = run(&site, standby);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("1 of 2 PostgreSQL dumps failed") && stderr.contains("no such database"),
        "{stderr}"
    );
    assert_eq!(pause_state(standby), "not paused");
    assert!(records(&site).is_empty());
    let log = site.log_text();
    assert!(
        log.contains("Pausing replay") && log.contains("Resumed replay"),
        "{log}"
    );
    assert_eq!(site.entries(), vec![format!("postgresqldump-{db}.txt")]);
}

/// `cback doctor` against the standby: the recovery state and the rights pausing needs, as
/// `<standby>` says: a PASS as the superuser, a FAIL (with the GRANT) for a role that may not
/// resume replay, a FAIL with `<standby>refuse`, a PASS with `<standby>never`. Nothing is
/// paused.
#[test]
fn doctor_checks_the_standby_and_the_rights_to_pause_it() {
    let Some((_guard, primary, standby)) = standby() else {
        return;
    };
    let db = "standby doctor";
    primary.create_small_database(db, 20);
    primary.psql("postgres", "CREATE ROLE cback_doctor_nopause LOGIN;");
    primary.psql(
        db,
        "GRANT SELECT ON t TO cback_doctor_nopause;\n\
         GRANT EXECUTE ON FUNCTION pg_catalog.pg_wal_replay_pause() TO cback_doctor_nopause;",
    );
    standby.wait_for_replay_of(primary);
    let doctor = |site: &PgRunDir, code: i32| {
        let out = site
            .cback(Some(standby), &["doctor"])
            .assert()
            .code(code)
            .get_output()
            .clone();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let label = format!("{}:{}", standby.socket_dir.display(), standby.port);
    let line = |stdout: &str| {
        stdout
            .lines()
            .find(|l| l.contains("postgresql standby"))
            .unwrap_or_else(|| panic!("no standby line: {stdout}"))
            .to_string()
    };

    let site = site_for(db, "", &[]);
    let stdout = doctor(&site, 0);
    let found = line(&stdout);
    assert!(
        found.starts_with(&format!(
            "PASS postgresql standby {label}: a hot standby, replayed up to "
        )) && found.contains("may pause and resume replay")
            && found.contains("3600 s (<pause_timeout>)"),
        "{found}"
    );

    let site = site_for(db, "<user>cback_doctor_nopause</user>", &[]);
    let found = line(&doctor(&site, 6));
    assert!(
        found.starts_with(&format!("FAIL postgresql standby {label}: a hot standby"))
            && found.contains(
                "role cback_doctor_nopause may not call pg_wal_replay_resume() in database [standby doctor]"
            )
            && found.contains(
                "GRANT EXECUTE ON FUNCTION pg_catalog.pg_wal_replay_resume() TO \"cback_doctor_nopause\";"
            ),
        "{found}"
    );

    let site = site_for(db, "<standby>refuse</standby>", &[]);
    let found = line(&doctor(&site, 6));
    assert!(
        found.starts_with("FAIL postgresql standby") && found.contains("<standby>refuse"),
        "{found}"
    );
    let site = site_for(db, "<standby>never</standby>", &[]);
    let found = line(&doctor(&site, 0));
    assert!(
        found.starts_with("PASS postgresql standby") && found.contains("<standby>never"),
        "{found}"
    );
    assert_eq!(pause_state(standby), "not paused");
    assert!(records(&site).is_empty());
}
