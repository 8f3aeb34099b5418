//! `cback-restore` with `<all>Y`: a `<split>Y` layout (globals first with `--globals`, dumps
//! made with `pg_dump --create` restored under another name without touching the original),
//! and a cluster-wide pg_dumpall file, out of which restore takes one database (and its roles
//! with `--globals`) and drill checks every database.

use crate::restore_support::*;
use cback_tests::pg::{self, ClusterOptions, PgRunDir};

const APP_SQL: &str = "CREATE TABLE items (id int PRIMARY KEY, label text);\n\
INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 500) i;\n\
ALTER TABLE items OWNER TO app_owner;\n\
COMMENT ON TABLE items IS 'restore test';";

fn owner_of(cluster: &pg::Cluster, database: &str) -> String {
    cluster
        .psql(
            "postgres",
            &format!(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}';"
            ),
        )
        .trim()
        .to_string()
}

/// A cluster of its own with database `appdb`, owned by role `app_owner`, with a setting.
fn app_cluster() -> Option<pg::Cluster> {
    let cluster = pg::own(&ClusterOptions::default())?;
    cluster.psql(
        "postgres",
        "CREATE ROLE app_owner NOLOGIN;\nCREATE DATABASE appdb OWNER app_owner;",
    );
    cluster.psql("appdb", APP_SQL);
    cluster.psql("appdb", "ALTER DATABASE appdb SET work_mem TO '8MB';");
    Some(cluster)
}

/// After the dump `dumped` of appdb: a change the original must keep whatever the restores
/// do; a restore under another name equal to the dump, with its owner, the original
/// untouched.
fn restore_under_another_name(site: &PgRunDir, cluster: &pg::Cluster, dumped: &[u8]) {
    cluster.psql(
        "appdb",
        "INSERT INTO items VALUES (1000, 'after the dump');",
    );
    let out = run(site, cluster, &["restore", "appdb", "--into", "appcopy"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        pg::same_dump(dumped, &cluster.pg_dump("appcopy")),
        "appcopy differs from the dump"
    );
    assert_eq!(owner_of(cluster, "appcopy"), "app_owner");
    assert_eq!(
        cluster
            .psql("appdb", "SELECT count(*) FROM items WHERE id = 1000;")
            .trim(),
        "1",
        "the original database was touched"
    );
    assert_eq!(owner_of(cluster, "appdb"), "app_owner");
}

/// The database and its owner lost: a restore fails on the missing role and leaves nothing;
/// with --globals it brings the role back first. Returns the output of the second.
fn restore_with_globals(site: &PgRunDir, cluster: &pg::Cluster, dumped: &[u8]) -> String {
    cluster.psql(
        "postgres",
        "DROP DATABASE appdb;\nDROP DATABASE appcopy;\nDROP ROLE app_owner;",
    );
    let out = run(site, cluster, &["restore", "appdb"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "without the role: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("app_owner"),
        "the error shows psql's / pg_restore's complaint: {}",
        text(&out)
    );
    assert!(!exists(cluster, "appdb"));
    assert!(
        scratch_databases(cluster).is_empty(),
        "{:?}",
        cluster.databases()
    );

    let out = run(site, cluster, &["restore", "appdb", "--globals"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        cluster
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner';"
            )
            .trim(),
        "1"
    );
    assert!(pg::same_dump(dumped, &cluster.pg_dump("appdb")));
    assert_eq!(owner_of(cluster, "appdb"), "app_owner");
    assert!(scratch_databases(cluster).is_empty());
    text(&out)
}

fn split_layout(mode: &str, extra: &str) {
    let Some(cluster) = app_cluster() else {
        return;
    };
    let site = PgRunDir::new(crate::BIN);
    configure(
        &site,
        &pg::section(mode, &[], &format!("<split>Y</split>{extra}")),
        None,
    );
    dump(&site, &cluster);
    let dumped = cluster.pg_dump("appdb");
    restore_under_another_name(&site, &cluster, &dumped);
    let out = restore_with_globals(&site, &cluster, &dumped);
    assert!(out.contains("postgresqldump-globals.txt"), "{out}");
}

#[test]
fn split_plain_with_globals() {
    split_layout("gzip", "");
}

#[test]
fn split_custom_with_globals() {
    split_layout("none", "<format>custom</format>");
}

#[test]
fn one_database_is_restored_out_of_a_cluster_wide_dump() {
    let Some(cluster) = app_cluster() else {
        return;
    };
    cluster.create_small_database("shop", 10);
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("gzip", &[], ""), None);
    dump(&site, &cluster);
    assert!(site.collect.join("postgresqldump.txt.gz").is_file());
    let dumped = cluster.pg_dump("appdb");
    let shop = cluster.pg_dump("shop");
    restore_under_another_name(&site, &cluster, &dumped);
    // Nothing else of the cluster dump was run: the other databases are as they were.
    assert!(pg::same_dump(&shop, &cluster.pg_dump("shop")));

    // A database the dump does not hold: named, with the ones it holds; nothing left.
    let out = run(&site, &cluster, &["restore", "nosuch"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds no database [nosuch]") && stderr.contains("appdb"),
        "{stderr}"
    );
    assert!(!exists(&cluster, "nosuch"));
    assert!(scratch_databases(&cluster).is_empty());

    // The whole cluster is not restored over itself.
    let out = run(&site, &cluster, &["restore", "all"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("one at a time"),
        "{}",
        text(&out)
    );

    // --globals takes the role from the same file.
    restore_with_globals(&site, &cluster, &dumped);

    // A drill checks every database of the dump, one line each.
    let out = run(&site, &cluster, &["drill"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let shop_rows: i64 = cluster.row_counts("shop").values().sum();
    for (database, detail) in [
        ("appdb", "1 table(s) and 500 row(s)".to_string()),
        ("shop", format!("{shop_rows} row(s)")),
        ("postgres", "0 table(s)".to_string()),
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("PASS {database}: "))
                    && l.contains("postgresqldump.txt.gz")
                    && l.contains(&detail)),
            "{database}: {stdout}"
        );
    }
    assert!(stdout.lines().all(|l| l.starts_with("PASS ")), "{stdout}");
    assert!(scratch_databases(&cluster).is_empty());

    let out = run(&site, &cluster, &["list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pg_dumpall+gzip"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_cluster_wide_dump_cut_short_fails_its_drill_and_restores() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.create_small_database("shop", 2000);
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("none", &[], ""), None);
    dump(&site, &cluster);
    let name = "postgresqldump.txt";
    let path = site.collect.join(name);
    let bytes = std::fs::read(&path).unwrap();
    // Cut inside shop's data, the last database of the dump.
    let at = bytes
        .windows(b"COPY public.".len())
        .rposition(|w| w == b"COPY public.")
        .unwrap()
        + 200;
    std::fs::write(&path, &bytes[..at]).unwrap();
    bless(&site.collect, name);

    let out = run(&site, &cluster, &["drill"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("FAIL all: ") && stdout.contains("cut short"),
        "{stdout}"
    );
    let out = run(&site, &cluster, &["restore", "shop", "--into", "shop2"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cut short"),
        "{}",
        text(&out)
    );
    assert!(!exists(&cluster, "shop2"));
    assert!(scratch_databases(&cluster).is_empty());
}
