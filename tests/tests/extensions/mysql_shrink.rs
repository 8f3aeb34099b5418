//! Dumps that look wrong, for mysql: after two runs, an `<all>Y` dump far below the median of
//! the earlier ones (the user now sees one database: a permissions change) warns in the log,
//! the status file and `cback status`; with `<options><shrink_fail>` the action fails.

use std::path::{Path, PathBuf};

use cback_tests::ext::{Declared, ExtensionRunDir};
use cback_tests::mariadb::{
    self, Server, BACKUP_PASSWORD, BACKUP_USER, NARROW_PASSWORD, NARROW_USER,
};

const MYSQL: Declared = Declared::new("mysql", "CedarBackup3.extend.mysql", 96);

/// The site's configuration: `<all>Y`, the credentials in `~/.my.cnf` (the original's
/// recommended set-up, which keeps the user name out of argv and the run free of warnings),
/// `options` added to `<options>`.
fn config(site: &ExtensionRunDir, options: &str) {
    let path = site.config(
        &[MYSQL],
        "monday",
        &[],
        "<mysql><compress_mode>gzip</compress_mode><all>Y</all></mysql>",
    );
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("</options>", &format!("{options}</options>"), 1),
    )
    .unwrap();
}

/// A home directory whose `~/.my.cnf` logs in as `user`.
fn home(site: &ExtensionRunDir, server: &Server, user: &str, password: &str) -> PathBuf {
    let home = site.path(&format!("home-{user}"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join(".my.cnf"),
        format!(
            "[client]\nsocket={}\nuser={user}\npassword=\"{}\"\n",
            server.socket.display(),
            password.replace('"', "\\\"")
        ),
    )
    .unwrap();
    home
}

fn run(site: &ExtensionRunDir, home: &Path) -> std::process::Output {
    site.cback(&["mysql"]).env("HOME", home).output().unwrap()
}

fn status(site: &ExtensionRunDir) -> (Option<i32>, String) {
    let out = site.cback(&["status"]).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_dump_far_below_its_median_warns_then_fails_with_shrink_fail() {
    let Some(server) = mariadb::shared("mysql_shrink") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    let backup = home(&site, server, BACKUP_USER, BACKUP_PASSWORD);
    let narrow = home(&site, server, NARROW_USER, NARROW_PASSWORD);
    config(&site, "");
    for _ in 0..2 {
        let out = run(&site, &backup);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !site.log_text().contains("of the median"),
        "{}",
        site.log_text()
    );
    assert_eq!(status(&site).0, Some(0), "{}", status(&site).1);
    let recorded: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.work.join("cback-status.json")).unwrap(),
    )
    .unwrap();
    let history = recorded["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{recorded}");
    let all = &history[1]["dumps"][0];
    assert_eq!(
        (&all["action"], &all["database"]),
        (&"mysql".into(), &"all".into())
    );
    // The uncompressed size: mysqldump's output, larger than the gzip file.
    let gzip = std::fs::metadata(site.collect.join("mysqldump.txt.gz"))
        .unwrap()
        .len();
    assert!(all["raw_bytes"].as_u64().unwrap() > gzip, "{all} vs {gzip}");

    // The user now sees `tiny` alone: the dump of all databases shrinks.
    let out = run(&site, &narrow);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = site.log_text();
    let warning = log
        .lines()
        .find(|l| l.contains("The mysql dump of [all] is "))
        .unwrap_or_else(|| panic!("no shrink warning: {log}"));
    assert!(warning.contains("[WARNING]"), "{warning}");
    assert!(
        warning.contains("of the median of its last 2 dumps")
            && warning.contains("<shrink_warning> 0.5"),
        "{warning}"
    );
    let written = std::fs::read_to_string(site.work.join("cback-status.json")).unwrap();
    assert!(written.contains("The mysql dump of [all] is "), "{written}");
    let (code, out) = status(&site);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("The mysql dump of [all]"), "{out}");

    // A site that wants it fails the action; the dump was written all the same.
    config(&site, "<shrink_fail>0.5</shrink_fail>");
    let out = run(&site, &narrow);
    assert_eq!(out.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 dump(s) are smaller than <options><shrink_fail>"),
        "{stderr}"
    );
    assert!(site.collect.join("mysqldump.txt.gz").exists());
    assert_eq!(status(&site).0, Some(2));

    // A fraction that is not one is refused before any dump.
    config(&site, "<shrink_warning>half</shrink_warning>");
    let out = run(&site, &backup);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("<options><shrink_warning> is half, not a fraction"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
