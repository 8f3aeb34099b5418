//! A throwaway MariaDB server for the tests of the mysql extension.
//!
//! [`Server::start`] runs `mariadb-install-db` into a temporary directory and starts `mariadbd`
//! there with its Unix socket in that directory and no TCP (`--skip-networking`). As root the
//! server runs with `--user=root` (Debian's `mariadb-server-core` makes no `mysql` user). Clients
//! find the socket through a `~/.my.cnf` in [`Server::home`], which the tests pass as `HOME`, the
//! way a site configures MySQL for the original. The server is stopped and its directory removed
//! on drop, and also when the test process ends (a reaper waits on a pipe that closes then).
//!
//! Without MariaDB, [`available`] prints why the tests skip; with `CEDAR_REQUIRE_POSTGRES=1` it
//! panics instead.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::ext;
use crate::reaper::Reaper;

/// A user with every privilege the dumps need and a password with a space, `;` and `"`.
pub const BACKUP_USER: &str = "cback_backup";
pub const BACKUP_PASSWORD: &str = "pa ss;wo\"rd-Secret";
/// A user without RELOAD.
pub const WEAK_USER: &str = "cback_weak";
pub const WEAK_PASSWORD: &str = "weak-Secret";
/// A user that may reload and read `tiny` alone: its `--all-databases` dump holds `tiny` only,
/// as after a permissions change on a managed server.
pub const NARROW_USER: &str = "cback_narrow";
pub const NARROW_PASSWORD: &str = "narrow-Secret";
/// The sample databases.
pub const DATABASES: [&str; 2] = ["tiny", "with space"];

/// The installed server and client programs.
#[derive(Debug, Clone)]
pub struct MariadbInstall {
    pub mariadbd: PathBuf,
    pub install_db: PathBuf,
    pub client: PathBuf,
    pub mysqldump: PathBuf,
}

/// The programs, or `None` after a skip message (a panic when required).
pub fn available(test: &str) -> Option<MariadbInstall> {
    Some(MariadbInstall {
        mariadbd: ext::tool(test, "mariadbd", "mariadb-server-core")?,
        install_db: ext::tool(test, "mariadb-install-db", "mariadb-server-core")?,
        client: ext::tool(test, "mariadb", "mariadb-client-core")?,
        mysqldump: ext::tool(test, "mysqldump", "mariadb-client")?,
    })
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub install: MariadbInstall,
    pub dir: PathBuf,
    pub socket: PathBuf,
    /// A home directory whose `.my.cnf` points clients at the socket.
    pub home: PathBuf,
    server: Mutex<Option<Child>>,
    reaper: Option<Reaper>,
}

fn checked(cmd: &mut Command, what: &str) -> Vec<u8> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed with {}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

impl Server {
    pub fn start(install: &MariadbInstall) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("cback-mariadb-")
            .tempdir()
            .unwrap()
            .keep();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.join("data");
        let home = dir.join("home");
        fs::create_dir(&home).unwrap();
        let socket = dir.join("mysqld.sock");
        fs::write(
            home.join(".my.cnf"),
            format!("[client]\nsocket={}\n", socket.display()),
        )
        .unwrap();
        let user = if ext::running_as_root() {
            "root".to_string()
        } else {
            ext::backup_owner().0
        };
        checked(
            Command::new(&install.install_db)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--user={user}"))
                .args([
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ]),
            "mariadb-install-db",
        );
        let mut server = Server {
            install: install.clone(),
            socket: socket.clone(),
            home,
            server: Mutex::new(None),
            reaper: None,
            dir: dir.clone(),
        };
        server.reaper = Some(server.spawn_reaper());
        let child = Command::new(&install.mariadbd)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--user={user}"))
            .args([
                "--skip-networking",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--skip-name-resolve",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start mariadbd");
        *server.server.lock().unwrap() = Some(child);
        let started = Instant::now();
        loop {
            let ok = server
                .client()
                .args(["-e", "SELECT 1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                break;
            }
            if started.elapsed() > Duration::from_secs(90) {
                let log = fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                panic!("mariadbd did not come up within 90 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The reaper that kills the server and removes the directory: on drop, or when this
    /// process ends in any way.
    fn spawn_reaper(&self) -> Reaper {
        Reaper::spawn(
            "MariaDB",
            "if [ -f \"$DIR/mariadbd.pid\" ]; then kill -9 \"$(cat \"$DIR/mariadbd.pid\")\" 2>/dev/null; fi; \
             sleep 0.5; rm -rf \"$DIR\"",
            [("DIR", self.dir.as_os_str())],
        )
    }

    /// The client as root over the socket, no option files read.
    pub fn client(&self) -> Command {
        let mut cmd = Command::new(&self.install.client);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .arg("--user=root");
        cmd
    }

    /// Runs SQL as root; returns the tab-separated rows.
    pub fn sql(&self, sql: &str) -> String {
        let out = checked(
            self.client()
                .args(["--batch", "--skip-column-names", "-e", sql]),
            "mariadb",
        );
        String::from_utf8_lossy(&out).into_owned()
    }

    /// What mysqldump itself prints with `args` (the socket from [`Server::home`]).
    pub fn mysqldump(&self, args: &[&str]) -> Vec<u8> {
        checked(
            Command::new(&self.install.mysqldump)
                .env("HOME", &self.home)
                .args(args),
            "mysqldump",
        )
    }

    /// The sample databases, the backup user with its password, the weak user and the narrow one.
    pub fn load_sample_data(&self) {
        let password = BACKUP_PASSWORD.replace('\\', "\\\\").replace('\'', "\\'");
        self.sql(&format!(
            "CREATE DATABASE tiny; CREATE TABLE tiny.items (id INT PRIMARY KEY, name VARCHAR(40));\n\
             INSERT INTO tiny.items VALUES (1, 'apple'), (2, 'pear'), (3, 'plum');\n\
             CREATE DATABASE `with space`; CREATE TABLE `with space`.t (x INT, y TEXT);\n\
             INSERT INTO `with space`.t VALUES (1, 'one'), (2, 'two');\n\
             CREATE USER '{BACKUP_USER}'@'localhost' IDENTIFIED BY '{password}';\n\
             GRANT SELECT, LOCK TABLES, RELOAD, SHOW VIEW, EVENT, TRIGGER ON *.* TO '{BACKUP_USER}'@'localhost';\n\
             CREATE USER '{WEAK_USER}'@'localhost' IDENTIFIED BY '{WEAK_PASSWORD}';\n\
             GRANT SELECT, LOCK TABLES ON tiny.* TO '{WEAK_USER}'@'localhost';\n\
             CREATE USER '{NARROW_USER}'@'localhost' IDENTIFIED BY '{NARROW_PASSWORD}';\n\
             GRANT RELOAD ON *.* TO '{NARROW_USER}'@'localhost';\n\
             GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER ON tiny.* TO '{NARROW_USER}'@'localhost';"
        ));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.lock().unwrap().take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = child.wait();
        }
        if let Some(reaper) = &self.reaper {
            reaper.reap();
        }
    }
}

/// One server with the sample data per test process, never changed by a test.
pub fn shared(test: &str) -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    let install = available(test)?;
    SERVER
        .get_or_init(|| {
            let server = Server::start(&install);
            server.load_sample_data();
            Some(server)
        })
        .as_ref()
}

/// A dump without its last line (`-- Dump completed on DATE TIME`), the only one that differs
/// between two dumps of an unchanged server.
pub fn without_completion(dump: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(dump);
    text.lines()
        .filter(|l| !l.starts_with("-- Dump completed on "))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}
