//! End-to-end: faults of the PostgreSQL extension. Each test checks the exit code, a message
//! naming the database and the cause, that no temporary file is left in collect_dir, and that
//! yesterday's good file is still there, unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cback_tests::pg::{self, ClusterOptions, PgRunDir};

/// Runs cback to the end and returns its output.
fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run cback")
}

/// The three checks every fault test makes.
fn assert_fault(
    site: &PgRunDir,
    output: &Output,
    code: i32,
    target: &str,
    causes: &[&str],
    yesterday: Option<(&str, &[u8])>,
) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr:\n{stderr}");
    if code == 6 {
        assert!(
            stderr.contains(&format!("the dump of {target} failed")),
            "the message names the database:\n{stderr}"
        );
        for cause in causes {
            assert!(
                stderr.contains(cause),
                "the message says `{cause}`:\n{stderr}"
            );
        }
    }
    assert!(
        site.hidden_entries().is_empty(),
        "temporary files left: {:?}",
        site.entries()
    );
    if let Some((name, content)) = yesterday {
        assert_eq!(
            std::fs::read(site.collect.join(name)).unwrap(),
            content,
            "yesterday's {name} is untouched"
        );
    }
}

#[test]
fn a_missing_database_fails_and_the_others_are_dumped() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-no such db.txt.gz";
    let yesterday = site.yesterday(name);
    site.config(
        &pg::section("gzip", &["shop", "no such db", "inventory"], ""),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert_fault(
        &site,
        &output,
        6,
        "database [no such db]",
        &["database \"no such db\" does not exist", "1 of 3"],
        Some((name, &yesterday)),
    );
    assert_eq!(
        site.entries(),
        vec![
            "postgresqldump-inventory.txt.gz",
            name,
            "postgresqldump-shop.txt.gz"
        ]
    );
    let log = site.log_text();
    assert!(log.contains("Backing up database [inventory]."), "{log}");
    assert!(
        log.contains("does not exist"),
        "stderr of pg_dump is logged:\n{log}"
    );
}

#[test]
fn a_stopped_server_fails_naming_the_database() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    cluster.create_small_database("shop", 10);
    cluster.stop();
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-shop.txt";
    let yesterday = site.yesterday(name);
    site.config(&pg::section("none", &["shop"], ""), &[]);
    let output = run(site.command(Some(&cluster), &["postgresql"]));
    assert_fault(
        &site,
        &output,
        6,
        "database [shop]",
        &["connection to server on socket", "Is the server running"],
        Some((name, &yesterday)),
    );
}

#[test]
fn pg_dump_not_found_through_an_override() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-shop.txt";
    let yesterday = site.yesterday(name);
    site.config(
        &pg::section("none", &["shop"], ""),
        &[("pg_dump", Path::new("/nonexistent/bin/pg_dump"))],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert_fault(
        &site,
        &output,
        6,
        "database [shop]",
        &[
            "cannot run `/nonexistent/bin/pg_dump`",
            "No such file or directory",
        ],
        Some((name, &yesterday)),
    );
}

#[test]
fn pg_dumpall_not_found_on_path() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump.txt.bz2";
    let yesterday = site.yesterday(name);
    site.config(&pg::section("bzip2", &[], ""), &[]);
    let mut cmd = site.command(Some(cluster), &["postgresql"]);
    cmd.env("PATH", site.path("bin"));
    let output = run(cmd);
    assert_fault(
        &site,
        &output,
        6,
        "all databases",
        &["cannot run `pg_dumpall`", "No such file or directory"],
        Some((name, &yesterday)),
    );
}

/// An override for pg_dump that writes a first line, then becomes the real pg_dump.
fn partial_wrapper(site: &PgRunDir, cluster: &pg::Cluster) -> PathBuf {
    site.script(
        "pg_dump",
        &format!(
            "printf -- '-- partial output\\n'\nexec '{}' \"$@\"",
            cluster.install.bin("pg_dump").display()
        ),
    )
}

/// Waits until the hidden temporary file in collect_dir holds some bytes.
fn wait_for_partial_temp(site: &PgRunDir) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let partial = site
            .hidden_entries()
            .iter()
            .any(|name| std::fs::metadata(site.collect.join(name)).is_ok_and(|m| m.len() > 0));
        if partial {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no partial temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pg_dump_killed_mid_dump_fails_and_the_next_database_is_dumped() {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database("killed victim", 50);
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-killed victim.txt";
    let yesterday = site.yesterday(name);
    let wrapper = partial_wrapper(&site, cluster);
    site.config(
        &pg::section("none", &["killed victim", "shop"], ""),
        &[("pg_dump", &wrapper)],
    );
    let lock = cluster.hold_lock("killed victim", "t");
    let cback = site
        .command(Some(cluster), &["postgresql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = pg::wait_for_child(cback.id(), "pg_dump", Duration::from_secs(60))
        .expect("pg_dump started");
    wait_for_partial_temp(&site);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let output = cback.wait_with_output().unwrap();
    drop(lock);
    assert_fault(
        &site,
        &output,
        6,
        "database [killed victim]",
        &["was killed by SIGKILL"],
        Some((name, &yesterday)),
    );
    assert_eq!(site.entries(), vec![name, "postgresqldump-shop.txt"]);
}

/// Sends `signal` to cback while pg_dump runs: exit 5, pg_dump stopped, nothing left over.
fn interrupted_mid_dump(signal: nix::sys::signal::Signal, database: &str) {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database(database, 50);
    let site = PgRunDir::new(crate::BIN);
    let name = format!("postgresqldump-{database}.txt");
    let yesterday = site.yesterday(&name);
    let wrapper = partial_wrapper(&site, cluster);
    site.config(
        &pg::section("none", &[database, "shop"], ""),
        &[("pg_dump", &wrapper)],
    );
    let lock = cluster.hold_lock(database, "t");
    let cback = site
        .command(Some(cluster), &["postgresql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = pg::wait_for_child(cback.id(), "pg_dump", Duration::from_secs(60))
        .expect("pg_dump started");
    wait_for_partial_temp(&site);
    let started = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(cback.id() as i32), signal).unwrap();
    let output = cback.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cback stopped promptly"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pg::process_gone(pid) {
        assert!(Instant::now() < deadline, "pg_dump {pid} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(lock);
    assert_fault(&site, &output, 5, "", &[], Some((&name, &yesterday)));
    assert_eq!(
        site.entries(),
        vec![name],
        "the run stopped before the next database"
    );
}

#[test]
fn sigterm_mid_dump_stops_pg_dump_and_exits_5() {
    interrupted_mid_dump(nix::sys::signal::Signal::SIGTERM, "term victim");
}

#[test]
fn sigint_mid_dump_stops_pg_dump_and_exits_5() {
    interrupted_mid_dump(nix::sys::signal::Signal::SIGINT, "int victim");
}

/// A tmpfs mounted over a directory, unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs of `size` on `dir`; `None` where mounting is not allowed.
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        if !pg::running_as_root() {
            return None;
        }
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0755"))
            .arg("tmpfs")
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount read-only");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn an_unwritable_collect_dir_fails_naming_the_database() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-shop.txt.gz";
    site.config(&pg::section("gzip", &["shop"], ""), &[]);
    let mount = Mount::tmpfs(&site.collect, "1m");
    let yesterday = site.yesterday(name);
    let cause = if let Some(mount) = &mount {
        mount.remount_read_only();
        "Read-only file system"
    } else if !pg::running_as_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&site.collect, std::fs::Permissions::from_mode(0o555)).unwrap();
        "Permission denied"
    } else {
        eprintln!("NOTE: cannot mount here; only the message is checked, not a kept file");
        return unwritable_under_a_file(cluster);
    };
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert_fault(
        &site,
        &output,
        6,
        "database [shop]",
        &["cannot create a temporary file in", cause],
        Some((name, &yesterday)),
    );
    drop(mount);
}

/// As root without mounts, a collect_dir below a regular file is the one that cannot be
/// written to.
fn unwritable_under_a_file(cluster: &pg::Cluster) {
    let mut site = PgRunDir::new(crate::BIN);
    std::fs::write(site.path("a-file"), "x").unwrap();
    site.collect = site.path("a-file").join("collect");
    site.config(&pg::section("none", &["shop"], ""), &[]);
    let output = run(site.command(Some(cluster), &["postgresql"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("database [shop]") && stderr.contains("Not a directory"),
        "{stderr}"
    );
}

fn full_tmpfs(mode: &str) {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let Some(mount) = Mount::tmpfs(&site.collect, "16k") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here; the file size limit test covers this");
        return;
    };
    let name = format!(
        "postgresqldump-shop.txt{}",
        if mode == "bzip2" { ".bz2" } else { "" }
    );
    let yesterday = site.yesterday(&name);
    site.config(&pg::section(mode, &["shop"], ""), &[]);
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert_fault(
        &site,
        &output,
        6,
        "database [shop]",
        &["cannot write the dump to", "No space left on device"],
        Some((&name, &yesterday)),
    );
    drop(mount);
}

#[test]
fn a_full_disk_fails_and_keeps_yesterday() {
    full_tmpfs("none");
}

#[test]
fn a_full_disk_under_the_compressor_fails_and_keeps_yesterday() {
    full_tmpfs("bzip2");
}

#[test]
fn a_file_size_limit_fails_and_keeps_yesterday() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-shop.txt";
    let yesterday = site.yesterday(name);
    site.config(&pg::section("none", &["shop"], ""), &[]);
    // The shell ignores SIGXFSZ and limits file size to 64 blocks; cback inherits both, so a
    // write past the limit fails with EFBIG like a write to a full disk fails with ENOSPC.
    let inner = site.command(Some(cluster), &["postgresql"]);
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$@\"")
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let output = run(cmd);
    assert_fault(
        &site,
        &output,
        6,
        "database [shop]",
        &["cannot write the dump to", "File too large"],
        Some((name, &yesterday)),
    );
}

#[test]
fn an_unknown_backup_user_fails_before_any_dump() {
    if !pg::running_as_root() {
        eprintln!("*** SKIPPED: ownership is only applied when running as root");
        return;
    }
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let config = site.config(&pg::section("gzip", &["shop"], ""), &[]);
    let (user, _) = pg::backup_owner();
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("<backup_user>{user}</backup_user>"),
        "<backup_user>no-such-backup-user</backup_user>",
    );
    std::fs::write(&config, text).unwrap();
    let output = run(site.command(Some(cluster), &["postgresql"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("no-such-backup-user"), "{stderr}");
    assert!(stderr.contains("<options><backup_user>"), "{stderr}");
    assert!(
        !site.log_text().contains("Backing up database"),
        "a dump was started before the owner was checked"
    );
    assert!(site.all_entries().is_empty(), "{:?}", site.all_entries());
}
