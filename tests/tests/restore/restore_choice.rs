//! Which copy `cback-restore restore` takes, and dumps that cannot be restored: the newest
//! good copy when the newest is damaged (a staged copy of an earlier day, pinned), `--from PATH`,
//! an older good day's copy before a newer one of a day whose stage record says the peer
//! failed, and dumps cut short (plain, gzip, custom), which fail without leaving a database
//! behind.

use std::fs;
use std::path::Path;

use crate::restore_support::*;
use cback_tests::pg::{self, PgRunDir};

fn stage_copy(collect: &Path, staged: &Path) {
    fs::create_dir_all(staged).unwrap();
    for entry in fs::read_dir(collect).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), staged.join(entry.file_name())).unwrap();
    }
}

/// A site dumping `database` (created afresh with 50 rows) with gzip and a staging
/// directory, which it returns; `targets` (the test's restored databases) dropped.
fn staged_site(
    cluster: &pg::Cluster,
    database: &str,
    targets: &[&str],
) -> (PgRunDir, std::path::PathBuf) {
    for db in std::iter::once(&database).chain(targets) {
        drop_database(cluster, db);
    }
    cluster.create_small_database(database, 50);
    let site = PgRunDir::new(crate::BIN);
    let staging = site.path("staging");
    configure(&site, &pg::section("gzip", &[database], ""), Some(&staging));
    (site, staging)
}

/// Ten more rows in `database`'s table, a second later, so that the next dump is newer.
fn ten_more_rows(cluster: &pg::Cluster, database: &str) {
    std::thread::sleep(std::time::Duration::from_millis(1100));
    cluster.psql(
        database,
        "INSERT INTO t SELECT i, 'new' FROM generate_series(51, 60) i;",
    );
}

#[test]
fn a_damaged_newest_copy_is_passed_over_for_an_older_good_one() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let (site, staging) = staged_site(
        cluster,
        "choice_src",
        &["choice_out", "choice_path", "choice_day"],
    );
    dump(&site, cluster);
    let staged = staging.join("2026/11/30/dbhost");
    stage_copy(&site.collect, &staged);
    // Pinned: purge keeps it forever, and the listing says so.
    fs::write(staging.join("2026/11/30/cback.keep"), b"").unwrap();
    ten_more_rows(cluster, "choice_src");
    dump(&site, cluster);

    // Damage the newest copy without changing its size.
    let newest = site.collect.join("postgresqldump-choice_src.txt.gz");
    let mut bytes = fs::read(&newest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&newest, &bytes).unwrap();

    let out = run(&site, cluster, &["list", "--database", "choice_src"]);
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        lines[1].contains("collect") && lines[2].contains("staging 2026/11/30/dbhost (pinned)"),
        "newest first: {listing}"
    );

    let out = run(
        &site,
        cluster,
        &["restore", "choice_src", "--into", "choice_out"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&staged.display().to_string()),
        "{}",
        text(&out)
    );
    let log = fs::read_to_string(site.path("restore.log")).unwrap();
    assert!(
        log.contains(&newest.display().to_string()) && log.contains("SHA-256"),
        "the log says why the newest copy was passed over:\n{log}"
    );
    assert_eq!(
        cluster.psql("choice_out", "SELECT count(*) FROM t;").trim(),
        "50"
    );

    // A day with no dump, and the day of the dumps.
    let out = run(
        &site,
        cluster,
        &[
            "restore",
            "choice_src",
            "--from",
            "1999-01-01",
            "--into",
            "choice_day",
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("made on 1999-01-01"),
        "{}",
        text(&out)
    );
    let today = lines[2].split_whitespace().next().unwrap()[..10].to_string();
    let out = run(
        &site,
        cluster,
        &[
            "restore",
            "choice_src",
            "--from",
            &today,
            "--into",
            "choice_day",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        cluster.psql("choice_day", "SELECT count(*) FROM t;").trim(),
        "50"
    );
    drop_database(cluster, "choice_day");

    // Asked for by path, the damaged copy is refused; the staged one is restored.
    let out = run(
        &site,
        cluster,
        &[
            "restore",
            "choice_src",
            "--from",
            newest.to_str().unwrap(),
            "--into",
            "choice_path",
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("damaged"),
        "{}",
        text(&out)
    );
    let staged_file = staged.join("postgresqldump-choice_src.txt.gz");
    let out = run(
        &site,
        cluster,
        &[
            "restore",
            "choice_src",
            "--from",
            staged_file.to_str().unwrap(),
            "--into",
            "choice_path",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        cluster
            .psql("choice_path", "SELECT count(*) FROM t;")
            .trim(),
        "50"
    );

    // Every copy damaged: nothing is restored, and each rejection is named.
    let staged_bytes = fs::read(&staged_file).unwrap();
    fs::write(&staged_file, &staged_bytes[..staged_bytes.len() - 5]).unwrap();
    let out = run(
        &site,
        cluster,
        &["restore", "choice_src", "--into", "choice_none"],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&newest.display().to_string())
            && stderr.contains(&staged_file.display().to_string()),
        "{stderr}"
    );
    assert!(!exists(cluster, "choice_none"));
    assert!(scratch_databases(cluster).is_empty());
    for db in ["choice_src", "choice_out", "choice_path"] {
        drop_database(cluster, db);
    }
}

#[test]
fn a_good_days_copy_is_preferred_to_a_newer_one_of_a_failed_peer() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let (site, staging) = staged_site(
        cluster,
        "days_src",
        &["days_good", "days_unknown", "days_failed"],
    );
    // The 29th: staged, its record says dbhost is good.
    dump(&site, cluster);
    let good_day = staging.join("2026/11/29");
    stage_copy(&site.collect, &good_day.join("dbhost"));
    cedar_core::StageRecord::all(["dbhost"], cedar_core::PeerOutcome::Good)
        .write(&good_day, None)
        .unwrap();
    // The 30th, newer and with more rows: its record says dbhost failed.
    ten_more_rows(cluster, "days_src");
    dump(&site, cluster);
    let failed_day = staging.join("2026/11/30");
    stage_copy(&site.collect, &failed_day.join("dbhost"));
    cedar_core::StageRecord::all(["dbhost"], cedar_core::PeerOutcome::Failed)
        .write(&failed_day, None)
        .unwrap();
    // Only the staged copies remain.
    for entry in fs::read_dir(&site.collect).unwrap().flatten() {
        fs::remove_file(entry.path()).unwrap();
    }

    let out = run(&site, cluster, &["list", "--database", "days_src"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{listing}");
    assert!(
        lines[1].contains("staging 2026/11/30/dbhost (peer failed)")
            && lines[2].contains("staging 2026/11/29/dbhost")
            && !lines[2].contains(" ("),
        "the failed peer's copy marked, the good one not: {listing}"
    );

    // The older good day's copy, though the newer one matches its manifest.
    let good_file = good_day.join("dbhost/postgresqldump-days_src.txt.gz");
    let out = run(
        &site,
        cluster,
        &["restore", "days_src", "--into", "days_good"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&good_file.display().to_string()),
        "{}",
        text(&out)
    );
    assert_eq!(
        cluster.psql("days_good", "SELECT count(*) FROM t;").trim(),
        "50"
    );
    // A drill chooses the same way.
    let out = run(&site, cluster, &["drill"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("PASS days_src: {} restored", good_file.display())),
        "{}",
        text(&out)
    );

    // A record cback did not write: the day's state is unknown, its copy counts as good, and
    // the listing says once which file and what to do.
    let record = good_day.join(cedar_core::STAGE_RECORD_FILE);
    fs::write(&record, b"{\"peers\": 3}").unwrap();
    let out = run(&site, cluster, &["list", "--database", "days_src"]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches(&record.display().to_string()).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("remove it"), "{stderr}");
    let out = run(
        &site,
        cluster,
        &["restore", "days_src", "--into", "days_unknown"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&good_file.display().to_string()),
        "{}",
        text(&out)
    );

    // The good day's copy damaged: the failed peer's is taken, with a warning naming it.
    let bytes = fs::read(&good_file).unwrap();
    fs::write(&good_file, &bytes[..bytes.len() - 5]).unwrap();
    let out = run(
        &site,
        cluster,
        &["restore", "days_src", "--into", "days_failed"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let failed_file = failed_day.join("dbhost/postgresqldump-days_src.txt.gz");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&failed_file.display().to_string()) && stderr.contains("peer failed"),
        "{}",
        text(&out)
    );
    assert_eq!(
        cluster
            .psql("days_failed", "SELECT count(*) FROM t;")
            .trim(),
        "60"
    );
    assert!(scratch_databases(cluster).is_empty());
    for db in ["days_src", "days_good", "days_unknown", "days_failed"] {
        drop_database(cluster, db);
    }
}

/// Dumps `shop` with `extra`, cuts the file to half its size in a directory of its own (no
/// manifest), and restores it from there: it must fail cleanly.
fn cut_short(mode: &str, extra: &str, name: &str, expected: &[&str]) {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section(mode, &["shop"], extra), None);
    dump(&site, cluster);
    let bytes = fs::read(site.collect.join(name)).unwrap();
    let elsewhere = site.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let cut = elsewhere.join(name);
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let target = format!("cut_{}", mode);
    drop_database(cluster, &target);
    let out = run(
        &site,
        cluster,
        &[
            "restore",
            "shop",
            "--from",
            cut.to_str().unwrap(),
            "--into",
            &target,
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&cut.display().to_string()),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains(&format!("into database [{target}] failed"))
            && stderr.contains("scratch database [cback_restore_"),
        "names the database: {stderr}"
    );
    for word in expected {
        assert!(stderr.contains(word), "{word}: {stderr}");
    }
    assert!(!exists(cluster, &target));
    assert!(
        scratch_databases(cluster).is_empty(),
        "{:?}",
        cluster.databases()
    );
}

#[test]
fn a_cut_plain_dump_fails_before_the_commit() {
    cut_short(
        "none",
        "",
        "postgresqldump-shop.txt",
        &["completion marker", "nothing was committed"],
    );
}

#[test]
fn a_cut_gzip_dump_fails() {
    cut_short(
        "gzip",
        "",
        "postgresqldump-shop.txt.gz",
        &["damaged or cut short"],
    );
}

#[test]
fn a_cut_custom_dump_fails_with_pg_restores_complaint() {
    cut_short(
        "none",
        "<format>custom</format>",
        "postgresqldump-shop.dump",
        &["pg_restore", "standard error ends with"],
    );
}
