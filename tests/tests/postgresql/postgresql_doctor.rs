//! `cback doctor` against the harness's PostgreSQL: a full PASS as the superuser; a missing
//! database, a table the role cannot read (REVOKEd) and globals it cannot read each FAIL with
//! what to do; a stopped server fails the connection check within the time limit.

use std::time::{Duration, Instant};

use cback_tests::pg::{self, Cluster, ClusterOptions, PgRunDir};

/// Runs `cback ARGS` against `cluster`, expects exit `code`, returns standard output.
fn doctor(site: &PgRunDir, cluster: &Cluster, args: &[&str], code: i32) -> String {
    let out = site
        .cback(Some(cluster), args)
        .assert()
        .code(code)
        .get_output()
        .clone();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_healthy_site_passes_and_dumps_nothing() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("gzip", &["shop", "inventory"], ""), &[]);
    let stdout = doctor(&site, cluster, &["doctor"], 0);
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("PASS postgresql connection"), "{stdout}");
    assert!(stdout.contains("PASS postgresql program"), "{stdout}");
    for db in ["shop", "inventory"] {
        assert!(
            stdout.contains(&format!("PASS postgresql database {db}")),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!(
                "PASS postgresql tables {db}: role postgres can read all"
            )),
            "{stdout}"
        );
    }
    assert!(site.all_entries().is_empty(), "{:?}", site.all_entries());

    // <all>Y as the superuser: the globals are readable.
    site.config(&pg::section("gzip", &[], ""), &[]);
    let value: serde_json::Value =
        serde_json::from_str(&doctor(&site, cluster, &["--json", "doctor"], 0)).unwrap();
    let globals: Vec<_> = value
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["check"] == "postgresql globals")
        .collect();
    assert_eq!(globals.len(), 1, "{value}");
    assert_eq!(globals[0]["status"], "PASS");
    assert!(site.all_entries().is_empty());
}

#[test]
fn a_missing_database_an_unreadable_table_and_the_globals_fail() {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database("doctor_db", 3);
    cluster.psql(
        "doctor_db",
        "CREATE ROLE doctor_reader LOGIN;\n\
         CREATE TABLE secret (id int);\n\
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO doctor_reader;\n\
         REVOKE SELECT ON secret FROM doctor_reader;",
    );
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "none",
            &["doctor_db", "no_such_db"],
            "<user>doctor_reader</user>",
        ),
        &[],
    );
    let stdout = doctor(&site, cluster, &["doctor"], 6);
    assert!(stdout.contains("PASS postgresql connection"), "{stdout}");
    assert!(
        stdout.contains("PASS postgresql database doctor_db"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL postgresql database no_such_db: does not exist"),
        "{stdout}"
    );
    let tables: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL postgresql table "))
        .collect();
    assert_eq!(tables.len(), 1, "{stdout}");
    assert!(
        tables[0].starts_with("FAIL postgresql table doctor_db: public.secret:"),
        "{}",
        tables[0]
    );
    assert!(
        tables[0].contains("GRANT SELECT ON public.secret TO doctor_reader;"),
        "{}",
        tables[0]
    );
    assert!(site.all_entries().is_empty());

    // pg_dumpall as a role that cannot read pg_authid: the roles will be dumped without their
    // passwords (a warning); the unreadable table still fails.
    site.config(&pg::section("none", &[], "<user>doctor_reader</user>"), &[]);
    let stdout = doctor(&site, cluster, &["doctor"], 6);
    assert!(
        stdout.contains("WARN postgresql globals pg_authid: the role cannot read pg_authid: the roles will be dumped without their passwords"),
        "{stdout}"
    );
}

#[test]
fn a_stopped_server_fails_the_connection_check_quickly() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.stop();
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("none", &["postgres"], ""), &[]);
    let started = Instant::now();
    let stdout = doctor(&site, &cluster, &["doctor"], 6);
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL postgresql connection"))
        .collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(
        failed[0].contains("check that the server runs"),
        "{}",
        failed[0]
    );
    // Nothing after the connection is attempted.
    assert!(!stdout.contains("postgresql database"), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// The lines of `stdout` that start with `start`.
fn lines<'a>(stdout: &'a str, start: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.starts_with(start)).collect()
}

/// Only the tables the dump includes are checked: a table, a sequence or a schema the role
/// cannot read but that `<database_options>` leaves out (or does not include) passes, as
/// pg_dump's own selection decides; one it includes fails. The dump then agrees.
#[test]
fn tables_left_out_by_database_options_are_not_checked() {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database("doctor_sel", 3);
    cluster.psql(
        "doctor_sel",
        "CREATE ROLE doctor_sel_reader LOGIN;\n\
         CREATE TABLE secret (id int);\n\
         CREATE SEQUENCE private_seq;\n\
         CREATE SCHEMA audit; CREATE TABLE audit.log (id int);\n\
         GRANT USAGE ON SCHEMA audit TO doctor_sel_reader;\n\
         GRANT SELECT ON t TO doctor_sel_reader;",
    );
    let site = PgRunDir::new(crate::BIN);
    let configure = |options: &str| {
        site.config(
            &pg::section(
                "none",
                &["doctor_sel"],
                &format!(
                    "<user>doctor_sel_reader</user>\
                     <database_options><name>doctor_sel</name>{options}</database_options>"
                ),
            ),
            &[],
        );
    };

    // Everything unreadable left out: a PASS, and the dump succeeds.
    configure(
        "<exclude_table>public.secret</exclude_table><exclude_table>public.private_seq</exclude_table>\
         <exclude_schema>audit</exclude_schema>",
    );
    let stdout = doctor(&site, cluster, &["doctor"], 0);
    assert!(
        stdout.contains("PASS postgresql tables doctor_sel: role doctor_sel_reader can read all")
            && stdout.contains("(of the tables its <database_options> selects)"),
        "{stdout}"
    );
    site.cback(Some(cluster), &["postgresql"])
        .assert()
        .success();

    // Only the schema left out: the table and the sequence of public fail, audit.log does not.
    configure("<exclude_schema>audit</exclude_schema>");
    let stdout = doctor(&site, cluster, &["doctor"], 6);
    let failed = lines(&stdout, "FAIL postgresql table ");
    assert_eq!(failed.len(), 2, "{stdout}");
    assert!(
        failed
            .iter()
            .any(|l| l.starts_with("FAIL postgresql table doctor_sel: public.secret:")),
        "{stdout}"
    );
    assert!(
        failed
            .iter()
            .any(|l| l.starts_with("FAIL postgresql table doctor_sel: public.private_seq:")),
        "{stdout}"
    );
    site.cback(Some(cluster), &["postgresql"]).assert().code(6);

    // An include list: only what it names is checked.
    configure("<table>public.t</table>");
    let stdout = doctor(&site, cluster, &["doctor"], 0);
    assert!(lines(&stdout, "FAIL").is_empty(), "{stdout}");
    configure("<schema>audit</schema>");
    let stdout = doctor(&site, cluster, &["doctor"], 6);
    let failed = lines(&stdout, "FAIL postgresql table ");
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(
        failed[0].starts_with("FAIL postgresql table doctor_sel: audit.log:")
            && failed[0].contains("GRANT SELECT ON audit.log TO doctor_sel_reader;"),
        "{stdout}"
    );

    // Without <database_options>, every unreadable table fails, as before.
    site.config(
        &pg::section("none", &["doctor_sel"], "<user>doctor_sel_reader</user>"),
        &[],
    );
    let stdout = doctor(&site, cluster, &["doctor"], 6);
    assert_eq!(
        lines(&stdout, "FAIL postgresql table ").len(),
        3,
        "{stdout}"
    );
    // The server is a primary.
    assert!(
        stdout.contains("PASS postgresql standby") && stdout.contains("a primary"),
        "{stdout}"
    );
}
