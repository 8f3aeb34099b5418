//! A second real S3 server on loopback, one that checks what it receives: s3s-fs from
//! crates.io, which `scripts/setup.sh` installs (`cargo install --locked s3s-fs --version
//! 0.17.0 --features binary --ignore-rust-version`). Unlike moto, it recomputes the SHA-256
//! of every PutObject and UploadPart body and refuses one whose `x-amz-checksum-sha256`
//! differs (`BadDigest`), and it checks the signature of every request with the one access
//! key it is given. It keeps a multipart object's checksum as that of the whole object
//! (`FULL_OBJECT`), and it does not implement ListMultipartUploads.
//!
//! [`S3sFs::start`] runs `s3s-fs --host 127.0.0.1 --port PORT --access-key .. --secret-key ..
//! ROOT` on a free port with a temporary root and waits until it answers; the child is killed
//! when the [`S3sFs`] is dropped. s3s-fs keeps a bucket as the directory `ROOT/BUCKET` and an
//! object as the file `ROOT/BUCKET/KEY`, and an unfinished multipart upload as `ROOT/.upload-*`
//! and `ROOT/.upload_id-*` files: the tests look at the server through that directory
//! ([`S3sFs::objects`], [`S3sFs::get`], [`S3sFs::pending_uploads`]), independently of the
//! client under test.
//!
//! The program is `CEDAR_S3S_FS`, else `s3s-fs` on PATH, else in `$CARGO_HOME/bin` (cargo's
//! default install directory). Without it, [`available`] prints why the tests skip; with
//! `CEDAR_REQUIRE_POSTGRES=1` it panics instead.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The only access key the server accepts.
pub const KEY: (&str, &str) = ("cbackfs", "cbackfs-secret-key");

/// The version `scripts/setup.sh` installs.
pub const VERSION: &str = "0.17.0";

fn install_command() -> String {
    format!(
        "cargo install --locked s3s-fs --version {VERSION} --features binary --ignore-rust-version"
    )
}

/// The program, when installed and runnable.
pub fn find_program() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let candidates = std::env::var_os("CEDAR_S3S_FS")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::split_paths(&path).map(|d| d.join("s3s-fs")))
        .chain(cargo_home.map(|h| h.join("bin/s3s-fs")));
    candidates.into_iter().find(|p| {
        p.is_file()
            && Command::new(p)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}

/// The program, or `None` after printing a skip line for `test` (a panic when required).
pub fn available(test: &str) -> Option<PathBuf> {
    match find_program() {
        Some(program) => Some(program),
        None if crate::pg::required() => panic!(
            "CEDAR_REQUIRE_POSTGRES=1 but s3s-fs (the checksum-checking S3 server of the tests) \
             was not found: run `bash scripts/setup.sh s3s-fs` or `{}`, or set CEDAR_S3S_FS",
            install_command()
        ),
        None => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: {test}: no s3s-fs ({}; or set CEDAR_S3S_FS); set \
                 CEDAR_REQUIRE_POSTGRES=1 to fail instead",
                install_command()
            );
            None
        }
    }
}

/// A running s3s-fs.
#[derive(Debug)]
pub struct S3sFs {
    pub port: u16,
    /// The data directory: `ROOT/BUCKET/KEY`.
    pub root: tempfile::TempDir,
    /// For the log and the (absent) AWS profile files of the commands run against it.
    pub dir: tempfile::TempDir,
    child: Child,
}

impl S3sFs {
    /// Starts a server that accepts only [`KEY`].
    pub fn start(program: &Path) -> S3sFs {
        let root = tempfile::Builder::new()
            .prefix("cback-s3sfs-data-")
            .tempdir()
            .expect("a root for s3s-fs");
        let dir = tempfile::Builder::new()
            .prefix("cback-s3sfs-")
            .tempdir()
            .expect("a directory for s3s-fs");
        let log_path = dir.path().join("s3s-fs.log");
        for _attempt in 0..5 {
            let port = crate::s3::free_port();
            let log = std::fs::File::create(&log_path).unwrap();
            let mut child = Command::new(program)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", KEY.0, "--secret-key", KEY.1])
                .arg(root.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .env("RUST_LOG", "s3s_fs=info,s3s=warn")
                .spawn()
                .expect("start s3s-fs");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if crate::s3::http_ok(port) {
                    return S3sFs {
                        port,
                        root,
                        dir,
                        child,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "s3s-fs did not start; its log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("s3s-fs.log")).unwrap_or_default()
    }

    /// Sets the environment a run needs to reach this server (or `endpoint`, a proxy in front
    /// of it) with [`KEY`], and nothing of the machine's own AWS configuration.
    pub fn env_with(&self, cmd: &mut assert_cmd::Command, endpoint: &str) {
        crate::s3::isolate(cmd, self.dir.path());
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", KEY.1);
    }

    /// [`S3sFs::env_with`] this server itself.
    pub fn env(&self, cmd: &mut assert_cmd::Command) {
        self.env_with(cmd, &self.endpoint());
    }

    /// Creates a bucket (s3s-fs: a directory of the root).
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir(self.root.path().join(bucket)).expect("create the bucket directory");
    }

    /// Every object of `bucket`: key and size.
    pub fn objects(&self, bucket: &str) -> BTreeMap<String, u64> {
        fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, u64>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let meta = entry.metadata().unwrap();
                if meta.is_dir() {
                    walk(&entry.path(), &format!("{prefix}{name}/"), out);
                } else {
                    out.insert(format!("{prefix}{name}"), meta.len());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root.path().join(bucket), "", &mut out);
        out
    }

    /// The content of an object.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        std::fs::read(self.root.path().join(bucket).join(key)).expect("read the object's file")
    }

    /// The files of unfinished multipart uploads (their records and their parts) and of
    /// writes in progress.
    pub fn pending_uploads(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.starts_with(".upload-")
                    || n.starts_with(".upload_id-")
                    || n.starts_with(".upload_part_info-")
                    || n.starts_with(".tmp.")
                    || n.contains(".upload-")
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
