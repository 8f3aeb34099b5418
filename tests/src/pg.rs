//! A throwaway PostgreSQL cluster for the end-to-end tests.
//!
//! [`Cluster::start`] runs `initdb` and `pg_ctl` from the installed PostgreSQL (found on PATH or
//! under `/usr/lib/postgresql/*/bin`, newest first) in a temporary directory, with the server's
//! Unix socket there and no TCP unless asked for. As root, the server commands run as the
//! `postgres` user through `runuser`. The cluster is stopped and its directory removed when the
//! [`Cluster`] is dropped, and also when the test process ends: a small reaper process waits on a
//! pipe that closes when the test process exits, so a cluster kept in a `static` is cleaned up
//! too.
//!
//! Without PostgreSQL, [`available`] prints why the tests skip and returns `None`; with
//! `CEDAR_REQUIRE_POSTGRES=1` it panics instead.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::reaper::Reaper;
use crate::Binaries;

/// The manifest the postgresql action writes into collect_dir.
pub const MANIFEST: &str = "postgresqldump.manifest";
/// The superuser the clusters are created with.
pub const SUPERUSER: &str = "postgres";
/// A login role with a password, for password_file and host/port tests.
pub const PASSWORD_ROLE: &str = "cback_backup";
/// Its password.
pub const PASSWORD: &str = "s3cret-Pa55-for-cback";
/// A database whose name has a space, a quote and non-ASCII letters.
pub const ODD_DATABASE: &str = "café 'quote' db";
/// The sample databases, in the order tests usually list them.
pub const SAMPLE_DATABASES: [&str; 3] = ["shop", "inventory", ODD_DATABASE];

/// The installed PostgreSQL server programs.
#[derive(Debug, Clone)]
pub struct PgInstall {
    pub bindir: PathBuf,
}

impl PgInstall {
    /// A program of this installation (`pg_dump`, `psql`, ...).
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

fn has_server_programs(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "pg_dump", "pg_dumpall", "psql"]
        .iter()
        .all(|p| dir.join(p).is_file())
}

/// Finds `initdb`, `pg_ctl`, `pg_dump`, `pg_dumpall` and `psql` in one directory:
/// `$CEDAR_PG_BINDIR` when set, else the first directory on PATH that has them all, else the
/// newest `/usr/lib/postgresql/*/bin`.
pub fn find_install() -> Option<PgInstall> {
    if let Some(dir) = std::env::var_os("CEDAR_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return has_server_programs(&dir).then_some(PgInstall { bindir: dir });
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_server_programs(&dir) {
                return Some(PgInstall { bindir: dir });
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_server_programs(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bindir)| PgInstall { bindir })
}

/// Whether the tests must fail rather than skip without PostgreSQL.
pub fn required() -> bool {
    std::env::var("CEDAR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The installation, or `None` after printing a skip message (a panic when required).
pub fn available() -> Option<PgInstall> {
    match find_install() {
        Some(install) => Some(install),
        None if required() => panic!(
            "CEDAR_REQUIRE_POSTGRES=1 but no PostgreSQL server programs (initdb, pg_ctl, pg_dump, \
             pg_dumpall, psql) were found on PATH or under /usr/lib/postgresql/*/bin"
        ),
        None => {
            print_skip();
            None
        }
    }
}

fn print_skip() {
    eprintln!(
        "SKIPPED: PostgreSQL is not installed (no initdb, pg_ctl, pg_dump, pg_dumpall and psql \
         in CEDAR_PG_BINDIR, on PATH or under /usr/lib/postgresql/*/bin); install it, or set \
         CEDAR_REQUIRE_POSTGRES=1 to fail instead"
    );
}

/// Whether this process runs as root (server commands then run as `postgres`).
pub fn running_as_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// What kind of cluster to start.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Also listen on 127.0.0.1 (password authentication for TCP connections).
    pub tcp: bool,
    /// Fill it with the sample databases.
    pub sample_data: bool,
}

/// A running throwaway cluster.
#[derive(Debug)]
pub struct Cluster {
    pub install: PgInstall,
    /// The temporary directory holding everything.
    pub dir: PathBuf,
    pub data_dir: PathBuf,
    /// The directory of the server's Unix socket (use as PGHOST).
    pub socket_dir: PathBuf,
    pub port: u16,
    pub tcp: bool,
    reaper: Option<Reaper>,
}

/// Removes the PG* variables of the caller, so the tests do not depend on them.
pub fn clear_libpq_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free localhost port")
}

fn run_checked(cmd: &mut Command, what: &str) -> String {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed with {}:\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

impl Cluster {
    /// A server command (initdb, pg_ctl), run as `postgres` when this process is root.
    fn server_command(&self, program: &str) -> Command {
        server_command(&self.install, program)
    }

    /// A cluster not yet created: its temporary directory (`prefix`), socket directory, free
    /// port and reaper.
    fn unstarted(install: &PgInstall, prefix: &str, tcp: bool) -> Cluster {
        let tmp = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("create a temporary directory for the cluster");
        let dir = tmp.keep();
        let socket_dir = dir.join("socket");
        fs::create_dir(&socket_dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        if running_as_root() {
            let (uid, gid) = postgres_ids();
            for path in [&dir, &socket_dir] {
                nix::unistd::chown(path.as_path(), Some(uid), Some(gid))
                    .expect("give the cluster directory to postgres");
            }
        }
        let mut cluster = Cluster {
            install: install.clone(),
            data_dir: dir.join("data"),
            dir,
            socket_dir,
            port: free_port(),
            tcp,
            reaper: None,
        };
        cluster.reaper = Some(cluster.spawn_reaper());
        cluster
    }

    /// Appends `settings` to the cluster's postgresql.conf (later lines win).
    fn configure(&self, settings: &str) {
        fs::OpenOptions::new()
            .append(true)
            .open(self.data_dir.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .expect("configure the cluster");
    }

    /// Creates, configures and starts a cluster; fills it with sample data when asked.
    pub fn start(install: &PgInstall, options: &ClusterOptions) -> Cluster {
        let cluster = Cluster::unstarted(install, "cback-pg-", options.tcp);
        let (data_dir, socket_dir) = (cluster.data_dir.clone(), cluster.socket_dir.clone());
        let mut initdb = cluster.server_command("initdb");
        initdb
            .arg("-D")
            .arg(&data_dir)
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"]);
        run_checked(&mut initdb, "initdb");
        let listen = if options.tcp { "127.0.0.1" } else { "" };
        let settings = format!(
            "\n# cback test cluster\nport = {}\nlisten_addresses = '{listen}'\n\
             unix_socket_directories = '{}'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nshared_buffers = 16MB\nmax_connections = 40\n",
            cluster.port,
            socket_dir.display()
        );
        cluster.configure(&settings);
        cluster.pg_ctl_start();
        if options.tcp {
            cluster.psql(
                "postgres",
                &format!(
                    "CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}';\n\
                     GRANT pg_read_all_data TO {PASSWORD_ROLE};"
                ),
            );
        }
        if options.sample_data {
            cluster.load_sample_data();
        }
        cluster
    }

    fn pg_ctl_start(&self) {
        let mut cmd = self.server_command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "start"]);
        let output = cmd.stdin(Stdio::null()).output().expect("run pg_ctl start");
        if !output.status.success() {
            let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            panic!(
                "pg_ctl start failed: {}\n{}\nserver log:\n{log}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// Stops the server (fast shutdown); the directory stays until drop.
    pub fn stop(&self) {
        let mut cmd = self.server_command("pg_ctl");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-w", "-m", "fast", "stop"]);
        run_checked(&mut cmd, "pg_ctl stop");
    }

    /// The reaper that stops the server and removes the directory: on drop, or when this
    /// process ends in any way.
    fn spawn_reaper(&self) -> Reaper {
        let pg_ctl = self.install.bin("pg_ctl");
        let stop = if running_as_root() {
            "runuser -u postgres -- \"$PG_CTL\" -D \"$DATA\" -m immediate -w stop"
        } else {
            "\"$PG_CTL\" -D \"$DATA\" -m immediate -w stop"
        };
        Reaper::spawn(
            "cluster",
            &format!(
                "if [ -f \"$DATA/postmaster.pid\" ]; then {stop} >/dev/null 2>&1; fi; \
                 rm -rf \"$DIR\""
            ),
            [
                ("PG_CTL", pg_ctl.as_os_str()),
                ("DATA", self.data_dir.as_os_str()),
                ("DIR", self.dir.as_os_str()),
            ],
        )
    }

    /// `PGHOST` and `PGPORT` for the Unix socket.
    pub fn socket_env(&self) -> [(&'static str, String); 2] {
        [
            ("PGHOST", self.socket_dir.display().to_string()),
            ("PGPORT", self.port.to_string()),
        ]
    }

    /// A client command of this installation (psql, pg_dump) connected to the cluster as the
    /// superuser through the Unix socket, with the caller's PG* variables removed.
    pub fn client(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.install.bin(program));
        clear_libpq_env(&mut cmd);
        cmd.envs(self.socket_env())
            .env("PGUSER", SUPERUSER)
            .env("LANG", "C");
        cmd
    }

    /// Runs SQL in `database` with psql (stop on the first error); returns the unaligned,
    /// tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let mut cmd = self.client("psql");
        cmd.env("PGDATABASE", database).args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            "-",
        ]);
        let output = feed(cmd, sql.as_bytes(), true);
        assert!(
            output.status.success(),
            "psql in {database} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Restores a plain SQL dump into `database` (created first when `create` is set).
    pub fn restore(&self, database: &str, create: bool, dump: &[u8]) {
        if create {
            let _guard = create_database_lock();
            self.psql(
                "postgres",
                &format!("CREATE DATABASE {};", quote_ident(database)),
            );
        }
        let mut cmd = self.client("psql");
        cmd.env("PGDATABASE", database)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"]);
        let output = feed(cmd, dump, false);
        assert!(
            output.status.success(),
            "restore into {database} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Restores the output of pg_dumpall into this cluster (connected to `postgres`). Errors
    /// are not fatal, as `CREATE ROLE postgres` fails on any cluster; returns psql's stderr.
    pub fn restore_all(&self, dump: &[u8]) -> String {
        let _guard = create_database_lock();
        let mut cmd = self.client("psql");
        cmd.env("PGDATABASE", "postgres")
            .args(["-X", "-q", "-f", "-"]);
        let output = feed(cmd, dump, false);
        assert!(output.status.success(), "psql failed: {}", output.status);
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// The plain output of this installation's `pg_dump` for `database`.
    pub fn pg_dump(&self, database: &str) -> Vec<u8> {
        let mut cmd = self.client("pg_dump");
        cmd.arg(database);
        stdout_of(cmd, "pg_dump")
    }

    /// The plain output of this installation's `pg_dumpall`.
    pub fn pg_dumpall(&self) -> Vec<u8> {
        stdout_of(self.client("pg_dumpall"), "pg_dumpall")
    }

    /// The names of the databases, template databases left out.
    pub fn databases(&self) -> Vec<String> {
        self.psql(
            "postgres",
            "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1;",
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// Exact row counts of every user table of `database`, by qualified name.
    pub fn row_counts(&self, database: &str) -> BTreeMap<String, i64> {
        let tables = self.psql(
            database,
            "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1;",
        );
        tables
            .lines()
            .filter(|t| !t.is_empty())
            .map(|table| {
                let count = self.psql(database, &format!("SELECT count(*) FROM {table};"));
                (table.to_string(), count.trim().parse().expect("a count"))
            })
            .collect()
    }

    /// Creates the sample databases: several tables, a few thousand rows, text that needs
    /// escaping, non-ASCII data, and a database with an awkward name.
    pub fn load_sample_data(&self) {
        self.psql(
            "postgres",
            &format!(
                "CREATE DATABASE shop;\nCREATE DATABASE inventory;\nCREATE DATABASE {};",
                quote_ident(ODD_DATABASE)
            ),
        );
        self.psql("shop", SHOP_SQL);
        self.psql("inventory", INVENTORY_SQL);
        self.psql(ODD_DATABASE, ODD_SQL);
    }

    /// Creates a small database with one table `t` of `rows` rows.
    pub fn create_small_database(&self, name: &str, rows: u32) {
        let guard = create_database_lock();
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {};", quote_ident(name)),
        );
        drop(guard);
        self.psql(
            name,
            &format!(
                "CREATE TABLE t (id int PRIMARY KEY, label text);\n\
                 INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, {rows}) i;"
            ),
        );
    }

    /// Takes an ACCESS EXCLUSIVE lock on `table` in `database` and holds it until the guard
    /// is dropped: a pg_dump of that database blocks on it.
    pub fn hold_lock(&self, database: &str, table: &str) -> LockGuard {
        let mut child = self
            .client("psql")
            .env("PGDATABASE", database)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run psql to hold a lock");
        let mut stdin = child.stdin.take().unwrap();
        writeln!(
            stdin,
            "BEGIN;\nLOCK TABLE {} IN ACCESS EXCLUSIVE MODE;",
            quote_ident(table)
        )
        .unwrap();
        stdin.flush().unwrap();
        let query = format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = '{table}' AND l.mode = 'AccessExclusiveLock' AND l.granted;"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.psql(database, &query).trim() != "1" {
            assert!(
                Instant::now() < deadline,
                "the lock on {table} was not granted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        LockGuard {
            child,
            stdin: Some(stdin),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(reaper) = &self.reaper {
            reaper.reap();
        }
    }
}

/// Holds a table lock (see [`Cluster::hold_lock`]); dropping it releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn postgres_ids() -> (nix::unistd::Uid, nix::unistd::Gid) {
    let user = nix::unistd::User::from_name("postgres")
        .ok()
        .flatten()
        .expect("running as root needs a `postgres` user to run the server");
    (user.uid, user.gid)
}

fn server_command(install: &PgInstall, program: &str) -> Command {
    let mut cmd = if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(install.bin(program));
        cmd
    } else {
        Command::new(install.bin(program))
    };
    clear_libpq_env(&mut cmd);
    cmd.env("LANG", "C");
    cmd.current_dir("/");
    cmd
}

/// Runs `cmd` with `input` on its standard input (written on a thread, so a large input cannot
/// dead-lock against the output), capturing stderr, and stdout when `capture_stdout` is set.
fn feed(mut cmd: Command, input: &[u8], capture_stdout: bool) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(if capture_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .spawn()
        .expect("run psql");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for psql");
    writer.join().unwrap();
    output
}

/// The standard output of `cmd`, which must succeed (its stderr is the panic message).
fn stdout_of(mut cmd: Command, what: &str) -> Vec<u8> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// An SQL identifier, quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Text escaped for an XML element.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The cluster shared by the tests of one test binary: sample data, Unix socket and TCP.
/// `None` (after a skip message) when PostgreSQL is not installed.
pub fn shared() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    let mut first = false;
    let cluster = CLUSTER
        .get_or_init(|| {
            first = true;
            available().map(|install| {
                Cluster::start(
                    &install,
                    &ClusterOptions {
                        tcp: true,
                        sample_data: true,
                    },
                )
            })
        })
        .as_ref();
    if cluster.is_none() && !first {
        print_skip();
    }
    cluster
}

/// A streaming-replication hot standby of the [`shared`] cluster, started the first time a
/// test asks for it (`pg_basebackup -R` from the primary's Unix socket; its own directory,
/// socket and port; stopped and removed by its reaper like the primary). `None` (after a skip
/// message) when PostgreSQL is not installed.
///
/// It replays with `max_standby_streaming_delay = -1`: a query in conflict with replay holds
/// replay back instead of being cancelled.
pub fn shared_standby() -> Option<&'static Cluster> {
    static STANDBY: OnceLock<Option<Cluster>> = OnceLock::new();
    STANDBY
        .get_or_init(|| shared().map(Cluster::start_standby))
        .as_ref()
}

impl Cluster {
    /// Creates and starts a hot standby of this cluster, streaming from its Unix socket.
    pub fn start_standby(&self) -> Cluster {
        let standby = Cluster::unstarted(&self.install, "cback-pg-standby-", false);
        let mut basebackup = self.server_command("pg_basebackup");
        basebackup
            .arg("-D")
            .arg(&standby.data_dir)
            .args([
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
                "-U",
                SUPERUSER,
            ])
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string());
        run_checked(&mut basebackup, "pg_basebackup");
        let settings = format!(
            "\n# cback test standby\nport = {}\nlisten_addresses = ''\n\
             unix_socket_directories = '{}'\nhot_standby = on\n\
             max_standby_streaming_delay = -1\nhot_standby_feedback = off\n",
            standby.port,
            standby.socket_dir.display()
        );
        standby.configure(&settings);
        standby.pg_ctl_start();
        standby.wait_for_replay_of(self);
        standby
    }

    /// Waits (up to 60 s) until this standby has replayed everything `primary` has written
    /// so far.
    pub fn wait_for_replay_of(&self, primary: &Cluster) {
        // The insert position: with synchronous_commit off, the last commit may not be written
        // yet, and pg_current_wal_lsn() would stop short of it.
        let lsn = primary.psql("postgres", "SELECT pg_current_wal_insert_lsn();");
        let query = format!(
            "SELECT coalesce(pg_last_wal_replay_lsn() >= '{}'::pg_lsn, false);",
            lsn.trim()
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.psql("postgres", &query).trim() != "t" {
            assert!(
                Instant::now() < deadline,
                "the standby did not replay up to {} within 60 s",
                lsn.trim()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A cluster of its own for a test that changes it (stops the server, creates databases).
pub fn own(options: &ClusterOptions) -> Option<Cluster> {
    available().map(|install| Cluster::start(&install, options))
}

/// Decompresses a dump file according to its extension (`.gz`, `.bz2`, `.zst` or plain),
/// reading every gzip member and bzip2 stream.
pub fn read_dump(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path.file_name().unwrap_or(OsStr::new("")).to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("valid gzip");
    } else if name.ends_with(".bz2") {
        bzip2::read::MultiBzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("valid bzip2");
    } else if name.ends_with(".zst") {
        out = zstd::decode_all(&bytes[..]).expect("valid zstd");
    } else {
        out = bytes;
    }
    out
}

/// The processes whose parent is `parent`, with their command names.
pub fn children_of(parent: u32) -> Vec<(u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_string())
            };
            let ppid: u32 = field("PPid:")?.parse().ok()?;
            (ppid == parent).then(|| (pid, field("Name:").unwrap_or_default()))
        })
        .collect()
}

/// Waits up to `timeout` for a child of `parent` named `name`. The short-lived
/// `pg_dump --version` that matches pg_dump to the server is not the dump, and is skipped.
pub fn wait_for_child(parent: u32, name: &str, timeout: Duration) -> Option<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let found = children_of(parent).into_iter().find(|(pid, n)| {
            let argv = proc_strings(*pid, "cmdline");
            n == name && !argv.is_empty() && !argv.iter().any(|a| a == "--version")
        });
        if let Some((pid, _)) = found {
            return Some(pid);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The NUL-separated entries of `/proc/<pid>/<file>` (cmdline, environ).
pub fn proc_strings(pid: u32, file: &str) -> Vec<String> {
    fs::read(format!("/proc/{pid}/{file}"))
        .map(|bytes| {
            bytes
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped).
pub fn process_gone(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

const SHOP_SQL: &str = r#"
CREATE TABLE customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text UNIQUE,
    created date NOT NULL
);
INSERT INTO customers (name, email, created)
SELECT 'customer ' || i, 'c' || i || '@example.com', date '2020-01-01' + (i % 1000)
FROM generate_series(1, 2000) i;

CREATE TABLE products (
    id serial PRIMARY KEY,
    title text NOT NULL,
    price numeric(10, 2) NOT NULL
);
INSERT INTO products (title, price)
SELECT 'Café crème Nº' || i, (i * 1.25)::numeric(10, 2) FROM generate_series(1, 300) i;

CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    product_id int NOT NULL REFERENCES products (id),
    quantity int NOT NULL CHECK (quantity > 0),
    note text
);
INSERT INTO orders (customer_id, product_id, quantity, note)
SELECT 1 + (i % 2000), 1 + (i % 300), 1 + (i % 7),
       CASE WHEN i % 10 = 0 THEN E'tab\there, newline\nthere, backslash \\ and ''quote'''
            WHEN i % 10 = 1 THEN NULL
            ELSE 'order ' || i END
FROM generate_series(1, 4000) i;
CREATE INDEX orders_customer ON orders (customer_id);

CREATE VIEW big_orders AS SELECT * FROM orders WHERE quantity > 5;
CREATE FUNCTION order_total(o orders) RETURNS numeric LANGUAGE sql STABLE
AS $$ SELECT o.quantity * price FROM products WHERE id = o.product_id $$;
COMMENT ON TABLE orders IS 'Orders, with notes that need escaping';
"#;

const INVENTORY_SQL: &str = r#"
CREATE SCHEMA stock;
CREATE TABLE stock.items (
    sku text PRIMARY KEY,
    quantity int NOT NULL,
    picture bytea,
    updated timestamptz NOT NULL DEFAULT '2024-01-02 03:04:05+00'
);
INSERT INTO stock.items (sku, quantity, picture)
SELECT 'SKU-' || lpad(i::text, 5, '0'), i % 50, decode(md5(i::text), 'hex')
FROM generate_series(1, 1500) i;
CREATE TABLE stock.moves (id bigserial PRIMARY KEY, sku text REFERENCES stock.items, delta int);
INSERT INTO stock.moves (sku, delta)
SELECT 'SKU-' || lpad((1 + i % 1500)::text, 5, '0'), (i % 11) - 5 FROM generate_series(1, 2500) i;
"#;

const ODD_SQL: &str = r#"
CREATE TABLE "ünïcode table" (id int PRIMARY KEY, "naïve text" text);
INSERT INTO "ünïcode table" SELECT i, 'naïve ☃ — ' || i FROM generate_series(1, 1000) i;
"#;

/// Serializes `CREATE DATABASE` across the tests of one process: concurrent creations from
/// the same template can fail.
fn create_database_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The backup_user and backup_group the tests configure: `nobody:nogroup` as root (so that a
/// change of owner shows), else the current user and group.
pub fn backup_owner() -> (String, String) {
    use nix::unistd::{Gid, Group, Uid, User};
    if running_as_root() {
        for (user, group) in [("nobody", "nogroup"), ("postgres", "postgres")] {
            let exists = User::from_name(user).ok().flatten().is_some()
                && Group::from_name(group).ok().flatten().is_some();
            if exists {
                return (user.to_string(), group.to_string());
            }
        }
        return ("root".to_string(), "root".to_string());
    }
    let user = User::from_uid(Uid::effective())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    let group = Group::from_gid(Gid::effective())
        .ok()
        .flatten()
        .map(|g| g.name)
        .unwrap_or_default();
    (user, group)
}

/// The `<postgresql>` section for `compress_mode`, `all` (no databases) or these databases,
/// plus `extra` elements (already XML). The user is the superuser unless `extra` has a
/// `<user>`.
pub fn section(compress_mode: &str, databases: &[&str], extra: &str) -> String {
    let mut text = String::from("<postgresql>\n");
    if !extra.contains("<user>") {
        text.push_str(&format!("    <user>{SUPERUSER}</user>\n"));
    }
    text.push_str(&format!(
        "    <compress_mode>{compress_mode}</compress_mode>\n"
    ));
    if databases.is_empty() {
        text.push_str("    <all>Y</all>\n");
    } else {
        text.push_str("    <all>N</all>\n");
        for db in databases {
            text.push_str(&format!("    <database>{}</database>\n", xml_escape(db)));
        }
    }
    text.push_str(extra);
    text.push_str("\n  </postgresql>");
    text
}

/// A throwaway site for one cback run: working_dir, collect_dir, configuration, log file.
#[derive(Debug)]
pub struct PgRunDir {
    pub dir: tempfile::TempDir,
    /// The collect directory (created; a test may replace it by a mount).
    pub collect: PathBuf,
    /// The programs under test.
    pub binaries: Binaries,
}

impl PgRunDir {
    pub fn new(binaries: Binaries) -> PgRunDir {
        let dir = tempfile::Builder::new()
            .prefix("cback-site-")
            .tempdir()
            .unwrap();
        let collect = dir.path().join("collect");
        for sub in ["work", "collect", "bin"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        PgRunDir {
            dir,
            collect,
            binaries,
        }
    }

    /// `cback status` for the run directory's configuration: its exit status and standard
    /// output.
    pub fn status_check(&self) -> (i32, String) {
        let out = self
            .binaries
            .cback()
            .arg("--config")
            .arg(self.path("cback.conf"))
            .arg("status")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
        )
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> PathBuf {
        self.path("cback.log")
    }

    /// The log file's text (empty when there is none).
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// Writes `cback.conf` with options (backup owner from [`backup_owner`], `overrides` as
    /// command / absolute path pairs), a collect section for `self.collect`, and `postgresql`.
    pub fn config(&self, postgresql: &str, overrides: &[(&str, &Path)]) -> PathBuf {
        let (user, group) = backup_owner();
        let overrides: String = overrides
            .iter()
            .map(|(command, path)| {
                format!(
                    "\n    <override><command>{command}</command><abs_path>{}</abs_path></override>",
                    xml_escape(&path.display().to_string())
                )
            })
            .collect();
        let text = format!(
            r#"<?xml version="1.0"?>
<cb_config>
  <reference>
    <author>cback tests</author>
    <description>PostgreSQL extension test site</description>
  </reference>
  <extensions>
    <action>
      <name>postgresql</name>
      <module>CedarBackup3.extend.postgresql</module>
      <function>executeAction</function>
      <index>99</index>
    </action>
  </extensions>
  <options>
    <starting_day>monday</starting_day>
    <working_dir>{work}</working_dir>
    <backup_user>{user}</backup_user>
    <backup_group>{group}</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>{overrides}
  </options>
  <collect>
    <collect_dir>{collect}</collect_dir>
    <collect_mode>daily</collect_mode>
    <archive_mode>tar</archive_mode>
    <ignore_file>.cbignore</ignore_file>
  </collect>
  {postgresql}
</cb_config>
"#,
            work = xml_escape(&self.path("work").display().to_string()),
            collect = xml_escape(&self.collect.display().to_string()),
        );
        let path = self.path("cback.conf");
        fs::write(&path, text).unwrap();
        path
    }

    /// A `cback --config <site>/cback.conf --logfile <site>/cback.log ACTIONS` command with the
    /// caller's PG* variables removed, `PATH` starting with the cluster's programs, and
    /// (when `cluster` is given) PGHOST / PGPORT pointing at its Unix socket.
    pub fn command(&self, cluster: Option<&Cluster>, actions: &[&str]) -> Command {
        let mut cmd = Command::new(self.binaries.cback_path());
        clear_libpq_env(&mut cmd);
        cmd.env_remove("CEDAR_LOG").env("LANG", "C");
        if let Some(cluster) = cluster {
            cmd.envs(cluster.socket_env());
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![cluster.install.bindir.clone()];
            dirs.extend(std::env::split_paths(&path));
            cmd.env("PATH", std::env::join_paths(dirs).unwrap());
        }
        cmd.arg("--config")
            .arg(self.path("cback.conf"))
            .arg("--logfile")
            .arg(self.log())
            .args(actions)
            .stdin(Stdio::null());
        cmd
    }

    /// [`PgRunDir::command`] as an `assert_cmd` command with a time limit.
    pub fn cback(&self, cluster: Option<&Cluster>, actions: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.command(cluster, actions));
        cmd.timeout(Duration::from_secs(300));
        cmd
    }

    /// The names in the collect directory, sorted, without the manifest the action writes
    /// beside the dumps (see [`PgRunDir::all_entries`]).
    pub fn entries(&self) -> Vec<String> {
        self.all_entries()
            .into_iter()
            .filter(|n| n != MANIFEST)
            .collect()
    }

    /// Every name in the collect directory, sorted.
    pub fn all_entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.collect)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The hidden (temporary) names in the collect directory.
    pub fn hidden_entries(&self) -> Vec<String> {
        self.all_entries()
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    /// Writes an executable script `bin/<name>` and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path("bin").join(name);
        crate::write_executable(&path, &format!("#!/bin/sh\n{body}\n"));
        path
    }

    /// Puts "yesterday's" good file under `name` in the collect directory.
    pub fn yesterday(&self, name: &str) -> Vec<u8> {
        let content = format!("yesterday's good dump of {name}\n").into_bytes();
        fs::write(self.collect.join(name), &content).unwrap();
        content
    }
}

/// `dump` with the key of each `\restrict KEY` / `\unrestrict KEY` line replaced by `KEY`.
///
/// Since the security releases of August 2025 (PostgreSQL 13.22, 14.19, 15.14, 16.10, 17.6),
/// pg_dump and pg_dumpall put a random key on these lines, different on every run; everything
/// else is reproducible. Two dumps of an unchanged database are equal after this.
pub fn without_restrict_keys(dump: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dump.len());
    for line in dump.split_inclusive(|b| *b == b'\n') {
        let keyed = [&b"\\restrict "[..], &b"\\unrestrict "[..]]
            .into_iter()
            .find(|prefix| line.starts_with(prefix));
        match keyed {
            Some(prefix) => {
                out.extend_from_slice(prefix);
                out.extend_from_slice(b"KEY");
                if line.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// Whether two dumps are the same byte for byte, apart from their restrict keys.
pub fn same_dump(a: &[u8], b: &[u8]) -> bool {
    without_restrict_keys(a) == without_restrict_keys(b)
}
