//! `cback-restore restore` round trips against a real cluster: every compression of plain
//! dumps and the custom format, each restored database compared with a fresh pg_dump of its
//! source; `list`; an existing target refused and `--clean`.

use crate::restore_support::*;
use cback_tests::pg::{self, PgRunDir, ODD_DATABASE, SAMPLE_DATABASES};
use cback_tests::terminal::{on_a_terminal, Screen};

/// Dumps the sample databases with `section_extra`, restores each under a new name, and
/// compares the content.
fn round_trip(mode: &str, extra: &str, tag: &str) {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section(mode, &SAMPLE_DATABASES, extra), None);
    dump(&site, cluster);
    for db in SAMPLE_DATABASES {
        let target = format!("r_{tag}_{db}");
        drop_database(cluster, &target);
        let out = run(&site, cluster, &["restore", db, "--into", &target]);
        assert!(out.status.success(), "{db}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("into database [{target}]")),
            "{}",
            text(&out)
        );
        assert_same_content(cluster, db, &target);
        assert_eq!(cluster.row_counts(db), cluster.row_counts(&target));
        drop_database(cluster, &target);
    }
    assert!(scratch_databases(cluster).is_empty());
}

#[test]
fn plain_uncompressed() {
    round_trip("none", "", "none");
}

#[test]
fn plain_gzip() {
    round_trip("gzip", "", "gzip");
}

#[test]
fn plain_bzip2() {
    round_trip("bzip2", "", "bzip2");
}

#[test]
fn plain_zstd() {
    round_trip("zstd", "", "zstd");
}

#[test]
fn custom_format() {
    round_trip("none", "<format>custom</format>", "custom");
}

#[test]
fn list_shows_every_dump_newest_first_and_filters() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("gzip", &SAMPLE_DATABASES, ""), None);
    dump(&site, cluster);
    let out = run(&site, cluster, &["list"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("DATE") && lines[0].contains("STATUS"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 1 + SAMPLE_DATABASES.len(), "{stdout}");
    for db in SAMPLE_DATABASES {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!("postgresqldump-{db}.txt.gz")))
            .unwrap_or_else(|| panic!("{db} missing:\n{stdout}"));
        assert!(
            line.contains("plain+gzip") && line.contains(" ok "),
            "{line}"
        );
        assert!(line.contains("collect"), "{line}");
    }
    let out = run(&site, cluster, &["list", "--database", "shop"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains("postgresqldump-shop.txt.gz"), "{stdout}");
    assert!(!stdout.contains(ODD_DATABASE), "{stdout}");
}

#[test]
fn an_existing_target_is_refused_and_clean_replaces_it() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("gzip", &["shop"], ""), None);
    dump(&site, cluster);
    let target = "r_existing_shop";
    drop_database(cluster, target);
    let out = run(&site, cluster, &["restore", "shop", "--into", target]);
    assert!(out.status.success(), "{}", text(&out));
    cluster.psql(
        target,
        "CREATE TABLE added_later (x int); INSERT INTO added_later VALUES (1);",
    );

    let out = run(&site, cluster, &["restore", "shop", "--into", target]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("database [{target}] already exists"))
            && stderr.contains("--clean"),
        "{stderr}"
    );
    // Untouched.
    assert_eq!(
        cluster
            .psql(target, "SELECT count(*) FROM added_later;")
            .trim(),
        "1"
    );

    let out = run(
        &site,
        cluster,
        &["restore", "shop", "--into", target, "--clean"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_same_content(cluster, "shop", target);
    assert!(scratch_databases(cluster).is_empty());
    drop_database(cluster, target);
}

#[test]
fn the_default_target_is_the_dumped_database() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("zstd", &["inventory"], ""), None);
    dump(&site, cluster);
    // The database exists: refused, and it says how to go on.
    let out = run(&site, cluster, &["restore", "inventory"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--into"),
        "{}",
        text(&out)
    );
}

#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("gzip", &["shop"], ""), None);
    dump(&site, cluster);
    drop_database(cluster, "r_tty_shop");
    let cmd = restore_cmd(&site, cluster, &["restore", "shop", "--into", "r_tty_shop"]);
    let Some(Screen { code, text: drawn }) = on_a_terminal(&cmd) else {
        return;
    };
    assert_eq!(code, Some(0), "{drawn}");
    assert!(
        drawn.contains("restoring ") && drawn.contains("of SQL"),
        "{drawn}"
    );
    drop_database(cluster, "r_tty_shop");

    let cmd = restore_cmd(
        &site,
        cluster,
        &["--quiet", "restore", "shop", "--into", "r_tty_shop"],
    );
    let Screen { code, text: drawn } = on_a_terminal(&cmd).unwrap();
    assert_eq!(code, Some(0), "{drawn}");
    assert!(!drawn.contains("of SQL"), "{drawn}");
    drop_database(cluster, "r_tty_shop");

    // Not a terminal (as under cron): nothing drawn.
    let out = run(&site, cluster, &["restore", "shop", "--into", "r_tty_shop"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out.stderr.is_empty(), "{}", text(&out));
    drop_database(cluster, "r_tty_shop");
}
