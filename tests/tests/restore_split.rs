//! `cback-restore` with `<all>Y`: a `<split>Y` layout (globals first with `--globals`, dumps
//! made with `pg_dump --create` restored under another name without touching the original),
//! and a cluster-wide pg_dumpall file, which restore and drill refuse with a message saying
//! what to do.

mod restore_support;

use cback_tests::pg::{self, ClusterOptions, Site};
use restore_support::*;

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

fn split_layout(mode: &str, extra: &str) {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.psql(
        "postgres",
        "CREATE ROLE app_owner NOLOGIN;\nCREATE DATABASE appdb OWNER app_owner;",
    );
    cluster.psql("appdb", APP_SQL);
    cluster.psql("appdb", "ALTER DATABASE appdb SET work_mem TO '8MB';");
    let site = Site::new();
    configure(
        &site,
        &pg::section(mode, &[], &format!("<split>Y</split>{extra}")),
        None,
    );
    dump(&site, &cluster);
    let dumped = cluster.pg_dump("appdb");
    // A change after the dump: the original must keep it whatever the restores do.
    cluster.psql(
        "appdb",
        "INSERT INTO items VALUES (1000, 'after the dump');",
    );

    let out = run(&site, &cluster, &["restore", "appdb", "--into", "appcopy"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        pg::same_dump(&dumped, &cluster.pg_dump("appcopy")),
        "appcopy differs from the dump"
    );
    assert_eq!(owner_of(&cluster, "appcopy"), "app_owner");
    assert_eq!(
        cluster
            .psql("appdb", "SELECT count(*) FROM items WHERE id = 1000;")
            .trim(),
        "1",
        "the original database was touched"
    );
    assert_eq!(owner_of(&cluster, "appdb"), "app_owner");

    // Lose the database and its owner; --globals brings the role back first.
    cluster.psql(
        "postgres",
        "DROP DATABASE appdb;\nDROP DATABASE appcopy;\nDROP ROLE app_owner;",
    );
    let out = run(&site, &cluster, &["restore", "appdb"]);
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
    assert!(!exists(&cluster, "appdb"));
    assert!(
        scratch_databases(&cluster).is_empty(),
        "{:?}",
        cluster.databases()
    );

    let out = run(&site, &cluster, &["restore", "appdb", "--globals"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("postgresqldump-globals.txt"),
        "{}",
        text(&out)
    );
    assert_eq!(
        cluster
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner';"
            )
            .trim(),
        "1"
    );
    assert!(pg::same_dump(&dumped, &cluster.pg_dump("appdb")));
    assert_eq!(owner_of(&cluster, "appdb"), "app_owner");
    assert!(scratch_databases(&cluster).is_empty());
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
fn a_cluster_wide_dump_is_refused_with_directions() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.create_small_database("shop", 10);
    let site = Site::new();
    configure(&site, &pg::section("gzip", &[], ""), None);
    dump(&site, &cluster);
    let out = run(&site, &cluster, &["restore", "shop", "--into", "shop2"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("postgresqldump.txt.gz")
            && stderr.contains("pg_dumpall of the whole cluster")
            && stderr.contains("<split>Y"),
        "{stderr}"
    );
    assert!(!exists(&cluster, "shop2"));
    let out = run(&site, &cluster, &["drill"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("FAIL all: ") && stdout.contains("<split>Y"),
        "{stdout}"
    );
    let out = run(&site, &cluster, &["list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pg_dumpall+gzip"),
        "{}",
        text(&out)
    );
}
