//! End-to-end: `cback mysql` against a throwaway MariaDB server on a Unix socket. Every
//! compress mode, all and named databases, the content against mysqldump's own, the password
//! kept out of argv and the log, `~/.my.cnf` credentials, the privilege check before any file,
//! a failure of each kind, SIGTERM, and the same files as the original's.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cback_tests::ext::{
    self, expected_mode, mode_of, owner_of, read_file, Declared, ExtensionRunDir,
};
use cback_tests::mariadb::{
    self, without_completion, Server, BACKUP_PASSWORD, BACKUP_USER, DATABASES, WEAK_PASSWORD,
    WEAK_USER,
};

const MYSQL: Declared = Declared::new("mysql", "CedarBackup3.extend.mysql", 96);

fn file_name(database: Option<&str>, mode: &str) -> String {
    match database {
        None => format!("mysqldump.txt{}", ext::suffix(mode)),
        Some(db) => format!("mysqldump-{db}.txt{}", ext::suffix(mode)),
    }
}

/// A `<mysql>` section: the backup user and password unless `login` is false.
fn section(mode: &str, databases: &[&str], login: bool) -> String {
    let mut text = String::from("<mysql>");
    if login {
        text.push_str(&format!(
            "<user>{BACKUP_USER}</user><password>{}</password>",
            ext::xml_escape(BACKUP_PASSWORD)
        ));
    }
    text.push_str(&format!("<compress_mode>{mode}</compress_mode>"));
    if databases.is_empty() {
        text.push_str("<all>Y</all>");
    }
    for db in databases {
        text.push_str(&format!("<database>{db}</database>"));
    }
    text.push_str("</mysql>");
    text
}

fn cback(site: &ExtensionRunDir, server: &Server, args: &[&str]) -> assert_cmd::Command {
    let mut all = args.to_vec();
    all.push("mysql");
    let mut cmd = site.cback(&all);
    cmd.env("HOME", &server.home);
    cmd
}

/// mysqldump's own output for `database` (`None`: all), as the backup user.
fn direct(server: &Server, database: Option<&str>) -> Vec<u8> {
    let user = format!("--user={BACKUP_USER}");
    let password = format!("--password={BACKUP_PASSWORD}");
    let mut args = vec![];
    match database {
        None => args.push("--all-databases"),
        Some(_) => args.push("--databases"),
    }
    args.extend(["-all", "--flush-logs", "--opt", &user, &password]);
    if let Some(db) = database {
        args.push(db);
    }
    server.mysqldump(&args)
}

fn named(mode: &str) {
    let Some(server) = mariadb::shared("named_databases") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    site.config(&[MYSQL], "monday", &[], &section(mode, &DATABASES, true));
    cback(&site, server, &[]).assert().success();
    let mut expected: Vec<String> = DATABASES
        .iter()
        .map(|db| file_name(Some(db), mode))
        .collect();
    expected.sort();
    assert_eq!(site.entries(), expected);
    for db in DATABASES {
        let path = site.collect.join(file_name(Some(db), mode));
        let ours = read_file(&path);
        assert!(
            String::from_utf8_lossy(&ours)
                .contains(&format!("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `{db}`")),
            "{db}: --databases puts CREATE DATABASE in"
        );
        assert_eq!(
            without_completion(&ours),
            without_completion(&direct(server, Some(db))),
            "{db}: the decompressed {mode} file is mysqldump's output"
        );
        assert_eq!(mode_of(&path), expected_mode());
        assert_eq!(owner_of(&path), ext::backup_owner());
    }
    let log = site.log_text();
    assert!(log.contains("Backing up database [with space]."), "{log}");
    assert!(
        log.contains("Executed the MySQL extended action successfully."),
        "{log}"
    );
}

#[test]
fn named_databases_uncompressed() {
    named("none");
}

#[test]
fn named_databases_gzip() {
    named("gzip");
}

#[test]
fn named_databases_bzip2() {
    named("bzip2");
}

#[test]
fn all_databases_in_one_dump() {
    let Some(server) = mariadb::shared("all_databases_in_one_dump") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    site.config(&[MYSQL], "monday", &[], &section("bzip2", &[], true));
    cback(&site, server, &[]).assert().success();
    assert_eq!(site.entries(), vec![file_name(None, "bzip2")]);
    let ours = read_file(&site.collect.join(file_name(None, "bzip2")));
    let text = String::from_utf8_lossy(&ours);
    for db in DATABASES {
        assert!(text.contains(&format!("USE `{db}`;")), "{db}");
    }
    assert_eq!(
        without_completion(&ours),
        without_completion(&direct(server, None))
    );
    assert!(site.log_text().contains("Backing up all databases."));
}

/// A mysqldump wrapper that records its arguments and the mode of the option file it was given,
/// then runs the real one.
fn recording_mysqldump(site: &ExtensionRunDir, server: &Server) -> (PathBuf, PathBuf) {
    let record = site.path("argv");
    let script = site.script(
        "mysqldump",
        &format!(
            "if [ \"$2\" = --print-defaults ]; then exec '{real}' \"$@\"; fi\n\
             for a in \"$@\"; do echo \"$a\"; done > '{record}'\n\
             file=${{1#--defaults-extra-file=}}\n\
             stat -c 'mode=%a' \"$file\" >> '{record}'\n\
             exec '{real}' \"$@\"",
            record = record.display(),
            real = server.install.mysqldump.display()
        ),
    );
    (script, record)
}

#[test]
fn the_password_stays_out_of_argv_and_the_log() {
    let Some(server) = mariadb::shared("the_password_stays_out_of_argv") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    let (wrapper, record) = recording_mysqldump(&site, server);
    site.config(
        &[MYSQL],
        "monday",
        &[("mysqldump", &wrapper)],
        &section("gzip", &["tiny"], true),
    );
    cback(&site, server, &["--debug"]).assert().success();
    let argv = fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = argv.lines().collect();
    assert!(lines[0].starts_with("--defaults-extra-file=/"), "{argv}");
    assert_eq!(
        lines[1..],
        [
            "--databases",
            "-all",
            "--flush-logs",
            "--opt",
            &format!("--user={BACKUP_USER}"),
            "--",
            "tiny",
            "mode=600"
        ]
    );
    assert!(!argv.contains("Secret"), "{argv}");
    let option_file = Path::new(lines[0].trim_start_matches("--defaults-extra-file="));
    assert!(
        !option_file.exists(),
        "the option file is removed afterwards"
    );
    let log = site.log_text();
    assert!(!log.contains("Secret"), "{log}");
    assert!(
        log.contains("Warning: MySQL username will be visible in process listing"),
        "{log}"
    );
    assert!(!log.contains("MySQL password will be visible"), "{log}");
    assert_eq!(
        without_completion(&read_file(
            &site.collect.join(file_name(Some("tiny"), "gzip"))
        )),
        without_completion(&direct(server, Some("tiny")))
    );
}

/// The original's recommended set-up: no user or password in the section, the login in
/// `~/.my.cnf`: in `[client]` (the privilege check reads it too), or in `[mysqldump]` only (the
/// check is skipped, since the client would log in as someone else).
#[test]
fn credentials_in_my_cnf_keep_working() {
    let Some(server) = mariadb::shared("credentials_in_my_cnf") else {
        return;
    };
    for stanza in ["client", "mysqldump"] {
        let site = ExtensionRunDir::new(crate::BIN);
        let home = site.path("home");
        fs::create_dir(&home).unwrap();
        fs::write(
            home.join(".my.cnf"),
            format!(
                "[client]\nsocket={}\n[{stanza}]\nuser={BACKUP_USER}\npassword=\"{}\"\n",
                server.socket.display(),
                BACKUP_PASSWORD.replace('"', "\\\"")
            ),
        )
        .unwrap();
        site.config(&[MYSQL], "monday", &[], &section("none", &["tiny"], false));
        site.cback(&["mysql"]).env("HOME", &home).assert().success();
        assert_eq!(
            without_completion(&read_file(
                &site.collect.join(file_name(Some("tiny"), "none"))
            )),
            without_completion(&direct(server, Some("tiny"))),
            "{stanza}"
        );
        let skipped = site
            .log_text()
            .contains("Not checking the MySQL privileges");
        assert_eq!(
            skipped,
            stanza == "mysqldump",
            "{stanza}: {}",
            site.log_text()
        );
    }
}

#[test]
fn a_missing_privilege_is_reported_before_any_file() {
    let Some(server) = mariadb::shared("a_missing_privilege") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    let text = format!(
        "<mysql><user>{WEAK_USER}</user><password>{WEAK_PASSWORD}</password>\
         <compress_mode>gzip</compress_mode><database>tiny</database><database>with space</database></mysql>"
    );
    site.config(&[MYSQL], "monday", &[], &text);
    let output = cback(&site, server, &[])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("the MySQL user [{WEAK_USER}] lacks RELOAD"))
            && stderr.contains("SELECT on database [with space]")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(!stderr.contains(WEAK_PASSWORD), "{stderr}");
    assert!(site.entries().is_empty(), "{:?}", site.entries());
}

#[test]
fn a_wrong_password_fails_before_any_file() {
    let Some(server) = mariadb::shared("a_wrong_password") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    let text = format!(
        "<mysql><user>{BACKUP_USER}</user><password>not-the-Secret</password>\
         <compress_mode>gzip</compress_mode><all>Y</all></mysql>"
    );
    site.config(&[MYSQL], "monday", &[], &text);
    let output = cback(&site, server, &[])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Access denied") && stderr.contains("cannot log in"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-Secret"), "{stderr}");
    assert!(site.entries().is_empty());
}

#[test]
fn a_missing_database_fails_alone_and_keeps_yesterdays_file() {
    let Some(server) = mariadb::shared("a_missing_database") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    site.config(
        &[MYSQL],
        "monday",
        &[],
        &section("gzip", &["tiny", "nope", "with space"], true),
    );
    fs::write(
        site.collect.join(file_name(Some("nope"), "gzip")),
        "yesterday",
    )
    .unwrap();
    let output = cback(&site, server, &[])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 of 3 MySQL dumps failed"), "{stderr}");
    assert!(
        stderr.contains("database [nope]") && stderr.contains("Unknown database 'nope'"),
        "{stderr}"
    );
    assert_eq!(
        fs::read(site.collect.join(file_name(Some("nope"), "gzip"))).unwrap(),
        b"yesterday"
    );
    assert!(site
        .collect
        .join(file_name(Some("with space"), "gzip"))
        .is_file());
    assert!(
        site.entries().iter().all(|n| !n.starts_with('.')),
        "{:?}",
        site.entries()
    );
    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.work.join("cback-status.json")).unwrap())
            .unwrap();
    let items = status["databases"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .any(|i| i["database"] == "nope" && i["success"] == false));
    assert!(items
        .iter()
        .any(|i| i["database"] == "tiny" && i["success"] == true && i["bytes"].as_u64() > Some(0)));
}

#[test]
fn sigterm_stops_mysqldump_and_removes_its_files() {
    let Some(server) = mariadb::shared("sigterm_stops_mysqldump") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    let record = site.path("argv");
    let wrapper = site.script(
        "mysqldump",
        &format!(
            "if [ \"$2\" = --print-defaults ]; then exec '{}' \"$@\"; fi\n\
             echo $$ > '{r}.pid'; echo \"$1\" > '{r}'; echo partial; exec sleep 60",
            server.install.mysqldump.display(),
            r = record.display()
        ),
    );
    site.config(
        &[MYSQL],
        "monday",
        &[("mysqldump", &wrapper)],
        &section("gzip", &["tiny"], true),
    );
    let mut child = std::process::Command::new(crate::BIN.cback_path())
        .env("HOME", &server.home)
        .arg("--config")
        .arg(site.path("cback.conf"))
        .arg("--logfile")
        .arg(site.log())
        .arg("mysql")
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !record.exists() || fs::read_to_string(&record).unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "mysqldump never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(5));
    assert!(site.entries().is_empty(), "{:?}", site.entries());
    let first = fs::read_to_string(&record).unwrap();
    let option_file = first.trim().trim_start_matches("--defaults-extra-file=");
    assert!(option_file.starts_with('/'), "{first}");
    assert!(
        !Path::new(option_file).exists(),
        "the option file is removed on SIGTERM too"
    );
}

#[test]
fn the_section_is_checked_with_the_originals_messages() {
    let site = ExtensionRunDir::new(crate::BIN);
    for (section, message) in [
        ("", "Mysql section is required."),
        (
            "<mysql><all>Y</all></mysql>",
            "Compress mode value is required.",
        ),
        (
            "<mysql><compress_mode>gzip</compress_mode><all>Y</all><database>a</database></mysql>",
            "Databases cannot be specified if 'all' flag is set.",
        ),
        (
            "<mysql><compress_mode>gzip</compress_mode></mysql>",
            "At least one MySQL database must be indicated if 'all' flag is not set.",
        ),
        (
            "<mysql><compress_mode>gzip</compress_mode><all>yes</all></mysql>",
            "Boolean values must be one of ['Y', 'y', 'N', 'n'].",
        ),
        (
            "<mysql><compress_mode>zip</compress_mode><all>Y</all></mysql>",
            "Compress mode must be one of ['none', 'gzip', 'bzip2'].",
        ),
    ] {
        site.config(&[MYSQL], "monday", &[], section);
        let output = site.cback(&["mysql"]).assert().code(6).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{section}: {stderr}");
        let output = site
            .cback(&["validate"])
            .assert()
            .code(6)
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        assert!(text.contains(message), "validate, {section}: {text}");
    }
}

#[test]
fn the_same_files_as_the_original() {
    let Some(server) = mariadb::shared("the_same_files_as_the_original") else {
        return;
    };
    let Some(cb3) = ext::original_or_skip("the_same_files_as_the_original") else {
        return;
    };
    for (mode, databases) in [("gzip", &DATABASES[..]), ("bzip2", &[][..])] {
        let ours = ExtensionRunDir::new(crate::BIN);
        ours.config(&[MYSQL], "monday", &[], &section(mode, databases, true));
        cback(&ours, server, &[]).assert().success();
        let theirs = ExtensionRunDir::new(crate::BIN);
        theirs.config(&[MYSQL], "monday", &[], &section(mode, databases, true));
        theirs
            .original(&cb3, &["mysql"])
            .env("HOME", &server.home)
            .assert()
            .success();
        assert_eq!(ours.entries(), theirs.entries(), "{mode}");
        for file in ours.entries() {
            assert_eq!(
                without_completion(&read_file(&ours.collect.join(&file))),
                without_completion(&read_file(&theirs.collect.join(&file))),
                "{file}"
            );
        }
    }
}
