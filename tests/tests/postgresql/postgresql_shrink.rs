//! Dumps that look wrong: a dump far smaller than the median of its earlier ones warns (in the
//! log, the status and `cback status`) or, with `<options><shrink_fail>`, fails the action; a
//! database gone from an `<all>Y` run is named. Each test has a cluster of its own, since it
//! shrinks and drops databases.

use std::path::Path;

use cback_tests::pg::{self, ClusterOptions, PgRunDir};

/// Adds `elements` to the `<options>` of the site's configuration.
fn with_options(config: &Path, elements: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    let text = text.replacen("</options>", &format!("{elements}\n  </options>"), 1);
    std::fs::write(config, text).unwrap();
}

#[test]
fn a_dump_far_below_its_median_warns_then_fails_with_shrink_fail() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.create_small_database("shop", 20_000);
    cluster.create_small_database("keep", 100);
    let site = PgRunDir::new(crate::BIN);
    let config = site.config(&pg::section("none", &["shop", "keep"], ""), &[]);
    // Two runs make the history the comparison needs; neither warns.
    for _ in 0..2 {
        site.cback(Some(&cluster), &["postgresql"])
            .assert()
            .success();
    }
    assert!(
        !site.log_text().contains("of the median"),
        "{}",
        site.log_text()
    );
    assert_eq!(site.status_check().0, 0);

    cluster.psql("shop", "DELETE FROM t WHERE id > 1000;");
    site.cback(Some(&cluster), &["postgresql"])
        .assert()
        .success();
    let log = site.log_text();
    let warning = log
        .lines()
        .find(|l| l.contains("The postgresql dump of [shop] is "))
        .unwrap_or_else(|| panic!("no shrink warning: {log}"));
    assert!(warning.contains("[WARNING]"), "{warning}");
    assert!(
        warning.contains("of the median of its last 2 dumps")
            && warning.contains("<shrink_warning> 0.5"),
        "{warning}"
    );
    assert!(!log.contains("dump of [keep]"), "{log}");
    let (code, out) = site.status_check();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("The postgresql dump of [shop]"), "{out}");

    // A site that wants it fails the action; the dump was written all the same.
    with_options(&config, "<shrink_fail>0.5</shrink_fail>");
    let out = site
        .cback(Some(&cluster), &["postgresql"])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 dump(s) are smaller than <options><shrink_fail>"),
        "{stderr}"
    );
    assert!(stderr.contains("<shrink_fail> 0.5"), "{stderr}");
    assert!(site.collect.join("postgresqldump-shop.txt").exists());
    let (code, out) = site.status_check();
    assert_eq!(code, 2, "{out}");

    // A fraction that is not one is refused before any dump.
    with_options(&config, "<shrink_warning>half</shrink_warning>");
    site.cback(Some(&cluster), &["postgresql"])
        .assert()
        .code(6)
        .stderr(predicates::str::contains(
            "<options><shrink_warning> is half, not a fraction",
        ));
}

#[test]
fn a_database_gone_from_an_all_run_and_a_dropped_table_are_named() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.create_small_database("alpha", 10);
    cluster.psql(
        "alpha",
        // Never analysed (no ANALYZE, too few rows for autovacuum's): the rows are still counted.
        "CREATE TABLE extra (id int); INSERT INTO extra SELECT generate_series(1, 50);",
    );
    cluster.create_small_database("beta", 10);
    // A partitioned table, analysed: ANALYZE gives the parent an estimate of its partitions'
    // rows, which must not be counted a second time.
    cluster.create_small_database("parted", 0);
    cluster.psql(
        "parted",
        "CREATE TABLE p (id int) PARTITION BY RANGE (id); \
         CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (100); \
         CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (100) TO (1000); \
         INSERT INTO p SELECT generate_series(1, 300); ANALYZE;",
    );
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("none", &[], "<split>Y</split>"), &[]);
    site.cback(Some(&cluster), &["postgresql"])
        .assert()
        .success();
    assert!(!site.log_text().contains("no longer on the server's list"));
    // The history keeps each database's tables and estimated rows.
    let status: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.path("work").join("cback-status.json")).unwrap(),
    )
    .unwrap();
    let dumped = |name: &str| {
        status["history"][0]["dumps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["database"] == name)
            .cloned()
            .unwrap()
    };
    let alpha = dumped("alpha");
    assert_eq!(alpha["tables"], 2, "{alpha}");
    assert_eq!(alpha["rows"], 60, "{alpha}");
    let parted = dumped("parted");
    assert_eq!(parted["tables"], 4, "t, p and its two partitions: {parted}");
    assert_eq!(parted["rows"], 300, "{parted}");
    cluster.psql("postgres", "DROP DATABASE beta;");
    cluster.psql("alpha", "DROP TABLE extra;");
    site.cback(Some(&cluster), &["postgresql"])
        .assert()
        .success();
    let log = site.log_text();
    assert!(
        log.contains("The database [beta] that the last postgresql run dumped is no longer on the server's list (<all>Y)"),
        "{log}"
    );
    assert!(!log.contains("database [alpha] that"), "{log}");
    assert!(
        log.contains("The postgresql dump of [alpha] holds 1 table(s), 2 at its last dump"),
        "{log}"
    );
}
