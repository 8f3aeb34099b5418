//! A throwaway OpenSSH server on loopback for the stage and managed-peer tests.
//!
//! [`Sshd::start`] makes a host key and a client key with `ssh-keygen` in a temporary
//! directory, writes an `sshd_config` there (listening on the [`ALL_HOSTS`] loopback addresses only, on a
//! free port; `AuthorizedKeysFile` in the directory; `StrictModes no`; keys only; the internal
//! sftp server, which Debian's scp uses), and runs `sshd -D -e -f CONFIG` as a child. The child
//! is killed when the [`Sshd`] is dropped. The clients get their options on the command line,
//! as a site's wrapper would: [`Sshd::rcp_command`], [`Sshd::rsh_command`].
//!
//! As root, sshd logs in root with the key (`PermitRootLogin prohibit-password`) and needs its
//! privilege separation directory `/run/sshd`, created when missing. As an ordinary user, sshd
//! can only log that user in, which is all the tests need.
//!
//! Without sshd, ssh, scp or ssh-keygen, [`available`] prints why the tests skip and returns
//! `None`; with `CEDAR_REQUIRE_POSTGRES=1` (which CI sets for every external component) it
//! panics instead. The same holds for rsync ([`rsync`]), which the tests of an rsync
//! `rcp_command` need ([`Sshd::rsync_rcp_command`]).

use std::ffi::OsString;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::program::find;
use crate::reaper::Reaper;

/// Two loopback addresses the server listens on (two "hosts").
pub const HOSTS: [&str; 2] = ["127.0.0.1", "127.0.0.2"];
/// Every loopback address the server listens on: [`HOSTS`] and three more, for tests that
/// stage several peers at once.
pub const ALL_HOSTS: [&str; 5] = [
    "127.0.0.1",
    "127.0.0.2",
    "127.0.0.4",
    "127.0.0.5",
    "127.0.0.6",
];
/// One more address the server listens on, for the one test that counts the connections made
/// to a host ([`Sshd::connections_to`]); no other test uses it.
pub const COUNTED_HOST: &str = "127.0.0.7";

/// Every address the server listens on.
fn listen_hosts() -> impl Iterator<Item = &'static str> {
    ALL_HOSTS.into_iter().chain([COUNTED_HOST])
}

/// A loopback address nothing listens on (an unreachable peer).
pub const UNREACHABLE: &str = "127.0.0.3";

/// The OpenSSH programs the tests use.
#[derive(Debug, Clone)]
pub struct SshPrograms {
    pub sshd: PathBuf,
    pub ssh: PathBuf,
    pub scp: PathBuf,
    pub keygen: PathBuf,
}

/// The programs, when all are installed (sshd is looked for in `/usr/sbin` too).
pub fn find_programs() -> Option<SshPrograms> {
    Some(SshPrograms {
        sshd: find("sshd")?,
        ssh: find("ssh")?,
        scp: find("scp")?,
        keygen: find("ssh-keygen")?,
    })
}

/// Whether a missing component fails the tests instead of skipping them.
pub fn required() -> bool {
    crate::pg::required()
}

/// The programs, or `None` after printing a skip line for `test` (a panic when required).
pub fn available(test: &str) -> Option<SshPrograms> {
    match find_programs() {
        Some(programs) => Some(programs),
        None if required() => panic!(
            "CEDAR_REQUIRE_POSTGRES=1 but OpenSSH is not installed (sshd, ssh, scp and ssh-keygen \
             are needed; apt-get install openssh-server openssh-client)"
        ),
        None => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: {test}: OpenSSH is not installed (no sshd, ssh, scp or ssh-keygen); \
                 install openssh-server, or set CEDAR_REQUIRE_POSTGRES=1 to fail instead"
            );
            None
        }
    }
}

/// rsync, for the tests of an rsync `rcp_command`: its path, or `None` after printing a skip
/// line for `test` (a panic when required).
pub fn rsync(test: &str) -> Option<PathBuf> {
    crate::program::find_or_skip(test, "rsync", "rsync")
}

/// The user sshd logs in: root as root, else the user running the tests.
pub fn login_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::effective())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| std::env::var("USER").unwrap_or_default())
}

/// A running server.
#[derive(Debug)]
pub struct Sshd {
    pub programs: SshPrograms,
    /// Everything of the server and its clients: keys, config, known_hosts, log.
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub client_key: PathBuf,
    pub known_hosts: PathBuf,
    child: Child,
    /// Kills the server and removes `dir` when this process ends (see [`shared`]).
    reaper: Reaper,
}

/// The server shared by the tests of one test binary, started on first use and stopped when
/// the process ends; `None` (after a skip message) when OpenSSH is not installed.
pub fn shared(test: &str) -> Option<&'static Sshd> {
    static SERVER: OnceLock<Sshd> = OnceLock::new();
    let programs = available(test)?;
    Some(SERVER.get_or_init(|| Sshd::start(&programs)))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

fn keygen(programs: &SshPrograms, path: &Path) {
    let status = Command::new(&programs.keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "cback-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen -f {} failed", path.display());
}

impl Sshd {
    /// Starts a server (a few attempts, in case another process takes the port first).
    pub fn start(programs: &SshPrograms) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("cback-sshd-")
            .tempdir()
            .expect("a directory for sshd");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let host_key = dir.path().join("host_key");
        let client_key = dir.path().join("client_key");
        keygen(programs, &host_key);
        keygen(programs, &client_key);
        fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        if nix::unistd::Uid::effective().is_root() {
            // sshd's privilege separation directory.
            let _ = fs::create_dir_all("/run/sshd");
            let _ = fs::set_permissions("/run/sshd", fs::Permissions::from_mode(0o755));
        }
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let config = dir.path().join("sshd_config");
            fs::write(&config, sshd_config(dir.path(), &host_key, port)).unwrap();
            let log = dir.path().join("sshd.log");
            let mut child = Command::new(&programs.sshd)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap())
                .spawn()
                .expect("start sshd");
            if wait_listening(&mut child, port) {
                let reaper = Reaper::spawn(
                    "sshd",
                    "kill -9 \"$PID\" 2>/dev/null; rm -rf \"$DIR\"",
                    [
                        ("PID", OsString::from(child.id().to_string()).as_os_str()),
                        ("DIR", dir.path().as_os_str()),
                    ],
                );
                let server = Sshd {
                    programs: programs.clone(),
                    port,
                    client_key,
                    known_hosts: dir.path().join("known_hosts"),
                    child,
                    dir,
                    reaper,
                };
                server.write_known_hosts(&host_key);
                return server;
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("sshd did not start:\n{last_log}");
    }

    fn write_known_hosts(&self, host_key: &Path) {
        let public = fs::read_to_string(host_key.with_extension("pub")).unwrap();
        let key: Vec<&str> = public.split_whitespace().take(2).collect();
        let text: String = listen_hosts()
            .map(|host| format!("[{host}]:{} {}\n", self.port, key.join(" ")))
            .collect();
        fs::write(&self.known_hosts, text).unwrap();
    }

    /// The client options a site's wrapper would add: the key, the known hosts (checked
    /// strictly), no user configuration.
    pub fn client_options(&self) -> String {
        format!(
            "-i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -F /dev/null",
            self.client_key.display(),
            self.known_hosts.display()
        )
    }

    /// An `rcp_command` for peers of this server: `scp -B -q -C -P PORT OPTIONS`.
    pub fn rcp_command(&self) -> String {
        self.rcp_command_with("")
    }

    /// [`Sshd::rcp_command`] with more scp options (e.g. `-l 800` to slow a copy down).
    pub fn rcp_command_with(&self, extra: &str) -> String {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("{extra} ")
        };
        format!(
            "{} -B -q -C {extra}-P {} {}",
            self.programs.scp.display(),
            self.port,
            self.client_options()
        )
    }

    /// An `rcp_command` that copies with `rsync` over this server, in the form doc/stage.md
    /// gives: `RSYNC -t -e "ssh -p PORT -o BatchMode=yes -o ConnectTimeout=5 OPTIONS"`.
    pub fn rsync_rcp_command(&self, rsync: &Path) -> String {
        format!(
            "{} -t -e \"{} -p {} -o BatchMode=yes -o ConnectTimeout=5 {}\"",
            rsync.display(),
            self.programs.ssh.display(),
            self.port,
            self.client_options()
        )
    }

    /// An `rsh_command` for peers of this server: `ssh -p PORT -o BatchMode=yes OPTIONS`.
    pub fn rsh_command(&self) -> String {
        format!(
            "{} -p {} -o BatchMode=yes {}",
            self.programs.ssh.display(),
            self.port,
            self.client_options()
        )
    }

    /// How many connections the server accepted on `host` so far (its log's `Connection from
    /// ... on HOST port` lines).
    pub fn connections_to(&self, host: &str) -> usize {
        let on = format!(" on {host} port {}", self.port);
        self.log()
            .lines()
            .filter(|l| l.starts_with("Connection from") && l.contains(&on))
            .count()
    }

    /// What sshd logged so far (for assertion messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

/// Waits until every address accepts connections, or the child exits.
fn wait_listening(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        let up = listen_hosts().all(|host| {
            let addr: SocketAddr = format!("{host}:{port}").parse().unwrap();
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        if up {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn sshd_config(dir: &Path, host_key: &Path, port: u16) -> String {
    let listen: String = listen_hosts()
        .map(|h| format!("ListenAddress {h}\n"))
        .collect();
    format!(
        "# cback test server\n\
         Port {port}\n\
         {listen}\
         HostKey {}\n\
         AuthorizedKeysFile {}\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         PidFile none\n\
         MaxStartups 64\n\
         MaxSessions 64\n\
         LogLevel VERBOSE\n\
         Subsystem sftp internal-sftp\n",
        host_key.display(),
        dir.join("authorized_keys").display()
    )
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // The reaper kills the server (still our unwaited child, so its pid is not reused).
        self.reaper.reap();
        let _ = self.child.wait();
    }
}
