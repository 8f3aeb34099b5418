//! End-to-end: what the PostgreSQL extension does more safely than the original. No user name
//! or password in the process list, a pgpass file with host and port instead of pg_hba.conf
//! tricks, the caller's libpq environment honoured, and passwords kept out of every message.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cback_tests::pg::{self, Cluster, PgRunDir, PASSWORD, PASSWORD_ROLE};

/// A pgpass file in the site for the TCP listener of `cluster`, with `password`.
fn pgpass(site: &PgRunDir, cluster: &Cluster, password: &str, mode: u32) -> PathBuf {
    let path = site.path("pgpass");
    std::fs::write(
        &path,
        format!("127.0.0.1:{}:*:{PASSWORD_ROLE}:{password}\n", cluster.port),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// `<user>`, `<password_file>`, `<host>` and `<port>` for the password role over TCP.
fn tcp_elements(cluster: &Cluster, pgpass: &std::path::Path) -> String {
    format!(
        "    <user>{PASSWORD_ROLE}</user>\n    <password_file>{}</password_file>\n    \
         <host>127.0.0.1</host>\n    <port>{}</port>",
        pg::xml_escape(&pgpass.display().to_string()),
        cluster.port
    )
}

fn assert_no_password(text: &str) {
    assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    assert!(
        !text.contains("wrong-Pa55"),
        "the wrong password leaked:\n{text}"
    );
}

#[test]
fn the_process_list_shows_no_user_and_no_password() {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database("ps check", 100);
    let site = PgRunDir::new(crate::BIN);
    let pgpass = pgpass(&site, cluster, PASSWORD, 0o600);
    site.config(
        &pg::section("none", &["ps check"], &tcp_elements(cluster, &pgpass)),
        &[],
    );
    // pg_dump blocks on the lock, so it can be looked at while it runs.
    let lock = cluster.hold_lock("ps check", "t");
    let cback = site
        .command(Some(cluster), &["postgresql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = pg::wait_for_child(cback.id(), "pg_dump", Duration::from_secs(60))
        .expect("cback starts pg_dump");
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{PASSWORD_ROLE}' \
         AND datname = 'ps check' AND wait_event_type = 'Lock';"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while cluster.psql("postgres", &waiting).trim() != "1" {
        assert!(Instant::now() < deadline, "pg_dump never reached the lock");
        std::thread::sleep(Duration::from_millis(50));
    }

    let argv = pg::proc_strings(pid, "cmdline");
    assert_eq!(
        argv[1..],
        ["--no-password"],
        "pg_dump gets no argument but --no-password (a prompt would hang the run): {argv:?}"
    );
    assert!(argv[0].ends_with("pg_dump"), "{argv:?}");
    let joined = argv.join(" ");
    assert!(
        !joined.contains(PASSWORD_ROLE) && !joined.contains("-U"),
        "{argv:?}"
    );
    assert_no_password(&joined);
    let cback_argv = pg::proc_strings(cback.id(), "cmdline").join(" ");
    assert!(!cback_argv.contains(PASSWORD_ROLE), "{cback_argv}");
    assert_no_password(&cback_argv);

    let env = pg::proc_strings(pid, "environ");
    for expected in [
        format!("PGUSER={PASSWORD_ROLE}"),
        format!("PGPASSFILE={}", pgpass.display()),
        "PGHOST=127.0.0.1".to_string(),
        format!("PGPORT={}", cluster.port),
        "PGDATABASE=ps check".to_string(),
        "LANG=C".to_string(),
    ] {
        assert!(env.contains(&expected), "{expected} in {env:?}");
    }
    assert!(!env.iter().any(|v| v.starts_with("PGPASSWORD=")), "{env:?}");
    assert_no_password(&env.join("\n"));

    drop(lock);
    let output = cback.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(site.entries(), vec!["postgresqldump-ps check.txt"]);
    assert_no_password(&stderr);
    assert_no_password(&site.log_text());
}

#[test]
fn a_password_file_with_host_and_port_connects_over_tcp() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let pgpass = pgpass(&site, cluster, PASSWORD, 0o600);
    site.config(
        &pg::section("gzip", &["shop"], &tcp_elements(cluster, &pgpass)),
        &[],
    );
    // No Unix socket in the environment: only the configured host and port can work.
    site.cback(None, &["postgresql"]).assert().success();
    let dump = pg::read_dump(&site.collect.join("postgresqldump-shop.txt.gz"));
    assert!(pg::same_dump(&dump, &cluster.pg_dump("shop")));
    assert_no_password(&site.log_text());
}

#[test]
fn the_callers_libpq_environment_is_honoured() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let pgpass = pgpass(&site, cluster, PASSWORD, 0o600);
    site.config(
        &pg::section(
            "bzip2",
            &["inventory"],
            &format!("    <user>{PASSWORD_ROLE}</user>"),
        ),
        &[],
    );
    site.cback(Some(cluster), &["postgresql"])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", cluster.port.to_string())
        .env("PGPASSFILE", &pgpass)
        .assert()
        .success();
    let dump = pg::read_dump(&site.collect.join("postgresqldump-inventory.txt.bz2"));
    assert!(pg::same_dump(&dump, &cluster.pg_dump("inventory")));
}

#[test]
fn a_wrong_password_fails_naming_the_database_and_keeps_yesterday() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let yesterday = site.yesterday("postgresqldump-shop.txt");
    let pgpass = pgpass(&site, cluster, "wrong-Pa55", 0o600);
    site.config(
        &pg::section("none", &["shop"], &tcp_elements(cluster, &pgpass)),
        &[],
    );
    let output = site.cback(None, &["postgresql"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("database [shop]"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "password authentication failed for user \"{PASSWORD_ROLE}\""
        )),
        "{stderr}"
    );
    assert_no_password(&stderr);
    assert_no_password(&String::from_utf8_lossy(&output.stdout));
    assert_no_password(&site.log_text());
    assert!(site.hidden_entries().is_empty(), "{:?}", site.entries());
    assert_eq!(
        std::fs::read(site.collect.join("postgresqldump-shop.txt")).unwrap(),
        yesterday
    );
}

/// With a terminal and no password anywhere, pg_dump must not prompt on /dev/tty (it runs in
/// a process group of its own, so the prompt would stop it and hang the run): it fails at once.
#[test]
fn a_missing_password_fails_promptly_even_with_a_terminal() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let none = site.path("no-pgpass");
    site.config(
        &pg::section(
            "none",
            &["shop"],
            &format!(
                "    <user>{PASSWORD_ROLE}</user>\n    <host>127.0.0.1</host>\n    <port>{}</port>",
                cluster.port
            ),
        ),
        &[],
    );
    let cmd = site.command(None, &["postgresql"]);
    // `script` gives the run a controlling terminal, as an operator's shell has.
    let mut line = String::new();
    for word in std::iter::once(cmd.get_program()).chain(cmd.get_args()) {
        line.push_str(&format!(
            "'{}' ",
            word.to_string_lossy().replace('\'', "'\\''")
        ));
    }
    line.push_str("; echo \"exit=$?\"");
    let mut script = std::process::Command::new("script");
    pg::clear_libpq_env(&mut script);
    script
        .args(["-qefc", &line, "/dev/null"])
        .env("LANG", "C")
        .env("PGPASSFILE", &none)
        .env_remove("CEDAR_LOG")
        .stdin(Stdio::null());
    script.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = script.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut hung = false;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            // Stop everything under `script` (pg_dump sits stopped in a group of its own).
            let mut pids = vec![child.id()];
            let mut i = 0;
            while i < pids.len() {
                pids.extend(pg::children_of(pids[i]).into_iter().map(|(pid, _)| pid));
                i += 1;
            }
            for pid in pids.iter().rev() {
                let pid = nix::unistd::Pid::from_raw(*pid as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
            hung = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let tail: String = text
        .chars()
        .rev()
        .take(1500)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        !hung,
        "the run hung (pg_dump waiting for a password on the terminal):\n{tail}"
    );
    assert!(text.contains("exit=6"), "{text}");
    assert!(text.contains("database [shop]"), "{text}");
    assert!(text.contains("no password supplied"), "{text}");
    let left = site.all_entries();
    assert!(!left.iter().any(|e| e.contains("shop")), "{left:?}");
}

#[test]
fn a_password_file_others_can_read_is_refused_with_a_hint() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let pgpass = pgpass(&site, cluster, PASSWORD, 0o644);
    site.config(
        &pg::section("none", &["shop"], &tcp_elements(cluster, &pgpass)),
        &[],
    );
    let output = site.cback(None, &["postgresql"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(&pgpass.display().to_string()) && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert_no_password(&stderr);
    assert!(site.entries().is_empty());
}
