//! End-to-end, against a real server: a backup role as managed servers (RDS, Cloud SQL, Azure)
//! give it, unable to read `pg_authid`. The globals are dumped without the role passwords and
//! the log, the manifest and the status file say so; a role that can read `pg_authid` keeps
//! them, and `<role_passwords>N` leaves them out up front (issue 25, part 4).

use std::process::{Output, Stdio};

use cback_tests::pg::{self, ClusterOptions, PgRunDir, MANIFEST};

const GLOBALS: &str = "postgresqldump-globals.txt";
const LEFT_OUT: &str = "role passwords were left out";

/// Runs the postgresql action of `site` against `cluster`.
fn run(site: &PgRunDir, cluster: &pg::Cluster) -> Output {
    site.command(Some(cluster), &["postgresql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run cback")
}

fn json(path: &std::path::Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The warnings of the globals in the manifest and in the status file.
fn globals_warnings(site: &PgRunDir) -> (Vec<String>, Vec<String>) {
    let strings = |value: &serde_json::Value| -> Vec<String> {
        value["warnings"]
            .as_array()
            .map(|a| a.iter().map(|w| w.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let manifest = json(&site.collect.join(MANIFEST));
    let entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == GLOBALS)
        .unwrap_or_else(|| panic!("{GLOBALS} in {manifest:#}"))
        .clone();
    let status = json(&site.path("work").join("cback-status.json"));
    let result = status["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["database"] == "globals")
        .unwrap_or_else(|| panic!("globals in {status:#}"))
        .clone();
    assert_eq!(result["success"], true, "{status:#}");
    (strings(&entry), strings(&result))
}

/// Dumps the cluster with `<all>Y<split>Y` as `user` (plus `extra` elements); returns the
/// site and the globals' text. The run must succeed.
fn dump_as(cluster: &pg::Cluster, user: &str, extra: &str) -> (PgRunDir, String) {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "none",
            &[],
            &format!("<user>{user}</user><split>Y</split>{extra}"),
        ),
        &[],
    );
    let output = run(&site, cluster);
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        site.log_text()
    );
    let globals = std::fs::read_to_string(site.collect.join(GLOBALS)).unwrap();
    assert!(globals.contains("CREATE ROLE cback_managed;"), "{globals}");
    (site, globals)
}

#[test]
fn a_role_that_cannot_read_pg_authid_dumps_the_globals_without_passwords() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.create_small_database("managed", 50);
    // Neither superuser nor pg_read_all_data: SELECT on the tables only, as on RDS.
    cluster.psql(
        "postgres",
        "CREATE ROLE cback_managed LOGIN PASSWORD 'managed-Pa55';\n\
         CREATE ROLE cback_reader LOGIN PASSWORD 'reader-Pa55';\n\
         GRANT pg_read_all_data TO cback_reader;",
    );
    cluster.psql("managed", "GRANT SELECT ON t TO cback_managed;");

    let (site, globals) = dump_as(&cluster, "cback_managed", "");
    assert!(!globals.contains("SCRAM-SHA-256$"), "{globals}");
    assert!(
        globals.contains("-- PostgreSQL database cluster dump complete\n"),
        "{globals}"
    );
    assert_eq!(
        site.entries(),
        vec![
            GLOBALS,
            "postgresqldump-managed.txt",
            "postgresqldump-postgres.txt"
        ]
    );
    let managed = std::fs::read_to_string(site.collect.join("postgresqldump-managed.txt")).unwrap();
    assert!(managed.contains("row 50"), "the table's rows are dumped");
    let log = site.log_text();
    let warning = log
        .lines()
        .find(|l| l.contains(LEFT_OUT))
        .unwrap_or_else(|| panic!("no warning in the log:\n{log}"));
    assert!(
        warning.contains("WARN")
            && warning.contains("[cback_managed] cannot read pg_authid")
            && warning.contains("pg_read_all_data"),
        "{warning}"
    );
    let expected = vec![format!(
        "{LEFT_OUT}: role [cback_managed] cannot read pg_authid"
    )];
    assert_eq!(globals_warnings(&site), (expected.clone(), expected));

    // A role that may read pg_authid keeps the passwords: a superuser, a pg_read_all_data
    // member.
    for user in [pg::SUPERUSER, "cback_reader"] {
        let (site, globals) = dump_as(&cluster, user, "");
        assert!(
            globals.contains("CREATE ROLE cback_managed;")
                && globals.contains("PASSWORD 'SCRAM-SHA-256$"),
            "{user}: {globals}"
        );
        assert!(!site.log_text().contains(LEFT_OUT), "{user}");
        assert_eq!(globals_warnings(&site), (vec![], vec![]), "{user}");
    }

    // <role_passwords>N asks for it up front, even of a superuser.
    let (site, globals) = dump_as(
        &cluster,
        pg::SUPERUSER,
        "<role_passwords>N</role_passwords>",
    );
    assert!(!globals.contains("SCRAM-SHA-256$"), "{globals}");
    let expected = vec![format!("{LEFT_OUT} (<role_passwords>N)")];
    assert_eq!(globals_warnings(&site), (expected.clone(), expected));
    assert!(site.log_text().contains(LEFT_OUT));
}
