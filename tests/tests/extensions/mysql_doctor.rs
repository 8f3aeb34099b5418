//! `cback doctor` for the `<mysql>` section against the real MariaDB of the harness: a full
//! PASS as the backup user; a FAIL for a missing database, a missing grant (with the GRANT to
//! run), a wrong password, and a server that never answers (the check's time limit).

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use cback_tests::ext::{self, Declared, ExtensionRunDir};
use cback_tests::mariadb::{
    self, BACKUP_PASSWORD, BACKUP_USER, DATABASES, WEAK_PASSWORD, WEAK_USER,
};

const MYSQL: Declared = Declared::new("mysql", "CedarBackup3.extend.mysql", 96);

fn section(user: &str, password: &str, databases: &[&str]) -> String {
    let mut text = format!(
        "<mysql><user>{user}</user><password>{}</password><compress_mode>none</compress_mode>",
        ext::xml_escape(password)
    );
    if databases.is_empty() {
        text.push_str("<all>Y</all>");
    }
    for db in databases {
        text.push_str(&format!("<database>{db}</database>"));
    }
    text + "</mysql>"
}

/// A site whose configuration holds the mysql section `text`.
fn site_with(text: &str) -> ExtensionRunDir {
    let site = ExtensionRunDir::new(crate::BIN);
    site.config(&[MYSQL], "monday", &[], text);
    site
}

/// `cback doctor` with `home` as HOME (its `.my.cnf` names the socket): exit code and stdout.
fn doctor(site: &ExtensionRunDir, home: &std::path::Path) -> (Option<i32>, String) {
    let out = site.cback(&["doctor"]).env("HOME", home).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn has_line(stdout: &str, start: &str, contains: &[&str]) {
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(start) && contains.iter().all(|c| l.contains(c))),
        "no line {start} ... {contains:?}:\n{stdout}"
    );
}

#[test]
fn the_backup_user_passes_every_check() {
    let Some(server) = mariadb::shared("mysql_doctor_pass") else {
        return;
    };
    for databases in [&DATABASES[..], &[][..]] {
        let site = site_with(&section(BACKUP_USER, BACKUP_PASSWORD, databases));
        let (code, stdout) = doctor(&site, &server.home);
        assert_eq!(code, Some(0), "{stdout}");
        has_line(
            &stdout,
            "PASS mysql login cback_backup@localhost",
            &["MariaDB"],
        );
        has_line(
            &stdout,
            "PASS mysql grants",
            &["holds what mysqldump needs"],
        );
        assert!(!stdout.contains("FAIL"), "{stdout}");
        assert!(!stdout.contains(BACKUP_PASSWORD), "{stdout}");
    }
}

#[test]
fn a_missing_database_and_missing_grants_fail_with_the_grant_to_run() {
    let Some(server) = mariadb::shared("mysql_doctor_grants") else {
        return;
    };
    let site = site_with(&section(
        WEAK_USER,
        WEAK_PASSWORD,
        &["tiny", "with space", "gone"],
    ));
    let (code, stdout) = doctor(&site, &server.home);
    assert_eq!(code, Some(6), "{stdout}");
    has_line(&stdout, "PASS mysql login cback_weak@localhost", &[]);
    has_line(
        &stdout,
        "FAIL mysql database gone",
        &[
            "does not exist on the server",
            "remove it from <mysql><database>",
        ],
    );
    // The weak user holds nothing on [with space]: it cannot see it.
    has_line(
        &stdout,
        "FAIL mysql database with space",
        &["holds no privilege on it"],
    );
    has_line(
        &stdout,
        "FAIL mysql grant *.*",
        &[
            "lacks RELOAD on *.* (mysqldump --flush-logs needs it)",
            "run GRANT RELOAD ON *.* TO 'cback_weak'@'localhost';",
        ],
    );
    has_line(
        &stdout,
        "WARN mysql grant tiny",
        &[
            "lacks TRIGGER",
            "GRANT TRIGGER ON `tiny`.* TO 'cback_weak'@'localhost';",
        ],
    );
    assert!(!stdout.contains(WEAK_PASSWORD), "{stdout}");
}

#[test]
fn a_wrong_password_fails_the_login() {
    let Some(server) = mariadb::shared("mysql_doctor_password") else {
        return;
    };
    let site = site_with(&section(BACKUP_USER, "not-the-Secret", &["tiny"]));
    let (code, stdout) = doctor(&site, &server.home);
    assert_eq!(code, Some(6), "{stdout}");
    has_line(
        &stdout,
        "FAIL mysql login user cback_backup",
        &[
            "cannot log in",
            "Access denied",
            "check that the server runs",
        ],
    );
    assert!(!stdout.contains("not-the-Secret"), "{stdout}");
}

/// A socket nobody answers on (a hung server: the connection is queued, no greeting comes) is
/// given up after the doctor's time limit.
#[test]
fn a_server_that_never_answers_fails_within_the_time_limit() {
    // The programs of the harness, whose server is not asked.
    if mariadb::shared("mysql_doctor_hung").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let socket = site.path("hung.sock");
    let _listener = UnixListener::bind(&socket).unwrap();
    let home = site.path("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(
        home.join(".my.cnf"),
        format!("[client]\nsocket={}\n", socket.display()),
    )
    .unwrap();
    site.config(
        &[MYSQL],
        "monday",
        &[],
        &section(BACKUP_USER, BACKUP_PASSWORD, &["tiny"]),
    );
    let started = Instant::now();
    let (code, stdout) = doctor(&site, &home);
    assert_eq!(code, Some(6), "{stdout}");
    has_line(
        &stdout,
        "FAIL mysql login user cback_backup",
        &["did not answer within 20 s"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
