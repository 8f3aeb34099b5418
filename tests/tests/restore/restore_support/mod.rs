//! Shared pieces of the `cback-restore` tests: a command for a site, dumps made
//! with `cback postgresql`, and checks on the cluster.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use cback_tests::pg::{self, Cluster, PgRunDir};

/// The tests of one binary share a cluster; the checks for left-over scratch databases need
/// no other restore running meanwhile.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `cback-restore --config SITE/cback.conf --logfile SITE/restore.log ARGS` against `cluster`
/// (its socket as PGHOST/PGPORT, the caller's PG* variables removed, its programs first on
/// PATH).
pub fn restore_cmd(site: &PgRunDir, cluster: &Cluster, args: &[&str]) -> Command {
    let mut cmd = Command::new(crate::BIN.restore_path());
    pg::clear_libpq_env(&mut cmd);
    cmd.env_remove("CEDAR_LOG").env("LANG", "C");
    cmd.envs(cluster.socket_env());
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![cluster.install.bindir.clone()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).unwrap());
    cmd.arg("--config")
        .arg(site.path("cback.conf"))
        .arg("--logfile")
        .arg(site.path("restore.log"))
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Runs `cback-restore ARGS` and returns its output (with a time limit).
pub fn run(site: &PgRunDir, cluster: &Cluster, args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::from_std(restore_cmd(site, cluster, args));
    cmd.timeout(Duration::from_secs(300));
    cmd.output().expect("run cback-restore")
}

pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `cback --full postgresql` for the site and asserts success.
pub fn dump(site: &PgRunDir, cluster: &Cluster) {
    site.cback(Some(cluster), &["--full", "postgresql"])
        .assert()
        .success();
}

/// Writes the site's configuration with `postgresql` and, when given, a `<stage>` section
/// naming `staging_dir` and a local peer `dbhost` (this site's collect_dir).
pub fn configure(site: &PgRunDir, postgresql: &str, staging_dir: Option<&Path>) {
    let path = site.config(postgresql, &[]);
    if let Some(dir) = staging_dir {
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "</cb_config>",
            &format!(
                "  <stage>\n    <staging_dir>{}</staging_dir>\n    <peer><name>dbhost</name><type>local</type><collect_dir>{}</collect_dir></peer>\n  </stage>\n</cb_config>",
                pg::xml_escape(&dir.display().to_string()),
                pg::xml_escape(&site.collect.display().to_string())
            ),
        );
        std::fs::write(&path, text).unwrap();
    }
}

/// Whether `database` exists in `cluster`.
pub fn exists(cluster: &Cluster, database: &str) -> bool {
    cluster.databases().iter().any(|d| d == database)
}

/// The databases a restore or a drill left behind.
pub fn scratch_databases(cluster: &Cluster) -> Vec<String> {
    cluster
        .databases()
        .into_iter()
        .filter(|d| d.starts_with("cback_restore_") || d.starts_with("cback_drill_"))
        .collect()
}

/// Drops `database` if it exists.
pub fn drop_database(cluster: &Cluster, database: &str) {
    cluster.psql(
        "postgres",
        &format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE);",
            pg::quote_ident(database)
        ),
    );
}

/// Asserts that `restored` holds what `source` holds: their plain pg_dumps are equal.
pub fn assert_same_content(cluster: &Cluster, source: &str, restored: &str) {
    let a = cluster.pg_dump(source);
    let b = cluster.pg_dump(restored);
    assert!(
        pg::same_dump(&a, &b),
        "[{restored}] differs from [{source}]:\n{}",
        first_difference(&a, &b)
    );
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let a = String::from_utf8_lossy(&pg::without_restrict_keys(a)).into_owned();
    let b = String::from_utf8_lossy(&pg::without_restrict_keys(b)).into_owned();
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}: {x:?} vs {y:?}", i + 1);
        }
    }
    format!("lengths {} vs {}", a.len(), b.len())
}

/// Rewrites the manifest entry of `name` in `dir` so that it describes the file as it is now
/// (a damaged file the manifest calls good).
pub fn bless(dir: &Path, name: &str) {
    let path = dir.join(pg::MANIFEST);
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let digest = cedar_core::hash_file(&dir.join(name)).unwrap();
    for entry in manifest["files"].as_array_mut().unwrap() {
        if entry["name"] == name {
            entry["size"] = serde_json::json!(digest.size);
            entry["sha256"] = serde_json::json!(digest.sha256);
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}
