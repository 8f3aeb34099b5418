//! A second real S3 server on loopback, one that checks what it receives: s3s-fs 0.17.0 from
//! crates.io, served in this process (the `s3s-fs` feature of this crate). Unlike moto, it
//! recomputes the SHA-256 of every PutObject and UploadPart body and refuses one whose
//! `x-amz-checksum-sha256` differs (`BadDigest`), and it checks the signature of every request
//! with the one access key it is given. It keeps a multipart object's checksum as that of the
//! whole object (`FULL_OBJECT`), and it does not implement ListMultipartUploads.
//!
//! [`S3sFs::start`] serves s3s-fs's file system with a temporary root on a free loopback port,
//! on a tokio runtime of its own (the workspace's tokio, hyper and rustls, no separate
//! program); the runtime, and with it the server, stops when the [`S3sFs`] is dropped, or
//! with the test process. [`shared`] is the one server of a test binary, started on first
//! use; each test takes a fresh bucket of its own on it ([`S3sFs::new_bucket`]). s3s-fs
//! keeps a bucket as the directory `ROOT/BUCKET` and an object as the file `ROOT/BUCKET/KEY`,
//! and an unfinished multipart upload as `ROOT/.upload-*` and `ROOT/.upload_id-*` files, tied
//! to its bucket by a `ROOT/.bucket-*.upload-*.metadata.json` record: the tests look at the
//! server through that directory ([`S3sFs::objects`], [`S3sFs::get`],
//! [`S3sFs::pending_uploads`]), independently of the client under test.
//!
//! s3s-fs 0.17.0 declares rust-version 1.96 (it builds and runs with 1.95, this project's
//! toolchain, which cargo allows only with `--ignore-rust-version`), and no release that does
//! allow 1.95 checks UploadPart's checksums (0.14.0, rust-version 1.92, checks PutObject's
//! only). So the server is behind the `s3s-fs` feature, which scripts/test.sh turns on with
//! `--ignore-rust-version`; a plain `cargo test` builds without it, and [`available`] then
//! prints why the checksum tests skip (with `CEDAR_REQUIRE_POSTGRES=1` it panics instead).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use crate::reaper::Reaper;

/// The only access key the server accepts.
pub const KEY: (&str, &str) = ("cbackfs", "cbackfs-secret-key");

/// How to build the tests with the server.
const ENABLE: &str = "bash scripts/test.sh, or cargo test --features cback-tests/s3s-fs \
                      --ignore-rust-version";

/// Whether the server is built in, or `false` after printing a skip line for `test` (a panic
/// when required).
pub fn available(test: &str) -> bool {
    if cfg!(feature = "s3s-fs") {
        return true;
    }
    if crate::pg::required() {
        panic!(
            "CEDAR_REQUIRE_POSTGRES=1 but s3s-fs (the checksum-checking S3 server of the tests) \
             is not built in: {ENABLE}"
        );
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED: {test}: s3s-fs is not built in ({ENABLE}); set CEDAR_REQUIRE_POSTGRES=1 to \
         fail instead"
    );
    false
}

/// A running s3s-fs.
#[derive(Debug)]
pub struct S3sFs {
    pub port: u16,
    /// The data directory: `ROOT/BUCKET/KEY`.
    pub root: tempfile::TempDir,
    /// For the (absent) AWS profile files of the commands run against it.
    pub dir: tempfile::TempDir,
    /// Serves the port; `None` once dropped.
    #[cfg(feature = "s3s-fs")]
    runtime: Option<tokio::runtime::Runtime>,
    /// Removes `root` and `dir` when this process ends (a server in a `static`, see
    /// [`shared`], is never dropped; the runtime ends with the process).
    _reaper: Reaper,
}

/// The server shared by the tests of one test binary, started on first use and stopped when
/// the process ends; `None` (after a skip message) when s3s-fs is not built in. Each test
/// stores into a bucket of its own: [`S3sFs::new_bucket`].
pub fn shared(test: &str) -> Option<&'static S3sFs> {
    static SERVER: OnceLock<S3sFs> = OnceLock::new();
    available(test).then(|| SERVER.get_or_init(S3sFs::start))
}

impl S3sFs {
    /// Starts a server that accepts only [`KEY`] (after [`available`] said it is built in).
    pub fn start() -> S3sFs {
        let root = tempfile::Builder::new()
            .prefix("cback-s3sfs-data-")
            .tempdir()
            .expect("a root for s3s-fs");
        let dir = tempfile::Builder::new()
            .prefix("cback-s3sfs-")
            .tempdir()
            .expect("a directory for s3s-fs");
        #[cfg(feature = "s3s-fs")]
        {
            let (runtime, port) = serve(root.path());
            let reaper = Reaper::spawn(
                "s3s-fs",
                "rm -rf \"$ROOT\" \"$DIR\"",
                [
                    ("ROOT", root.path().as_os_str()),
                    ("DIR", dir.path().as_os_str()),
                ],
            );
            S3sFs {
                port,
                root,
                dir,
                runtime: Some(runtime),
                _reaper: reaper,
            }
        }
        #[cfg(not(feature = "s3s-fs"))]
        {
            drop((root, dir));
            panic!("s3s-fs is not built in: {ENABLE}")
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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

    /// Creates a bucket no other test of this process uses, named after `test`; returns its
    /// name.
    pub fn new_bucket(&self, test: &str) -> String {
        let name = crate::s3::bucket::unique_name(test);
        self.create_bucket(&name);
        name
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

    /// The files of the unfinished multipart uploads into `bucket`: the upload's record of
    /// its object (`.bucket-B.object-K.upload-ID.metadata.json`, B the bucket's name in
    /// URL-safe base64), and everything else named with its ID (`.upload-ID.json`, the parts
    /// and their records). Writes in progress (`.tmp.*`) name no bucket, and are transient
    /// on a server other tests use at the same time: they are not counted.
    pub fn pending_uploads(&self, bucket: &str) -> Vec<String> {
        use base64::Engine;
        let names: Vec<String> = std::fs::read_dir(self.root.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let record = format!(
            ".bucket-{}.object-",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bucket)
        );
        let ids: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with(&record))
            .filter_map(|n| n.strip_suffix(".metadata.json")?.rsplit_once(".upload-"))
            .map(|(_, id)| id.to_string())
            .collect();
        let mut pending: Vec<String> = names
            .into_iter()
            .filter(|n| ids.iter().any(|id| n.contains(id.as_str())))
            .collect();
        pending.sort();
        pending
    }
}

/// Serves s3s-fs on `root` at a free loopback port, on a runtime of its own.
#[cfg(feature = "s3s-fs")]
fn serve(root: &Path) -> (tokio::runtime::Runtime, u16) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("s3s-fs")
        .enable_all()
        .build()
        .expect("a tokio runtime for s3s-fs");
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs on its root");
    let mut service = s3s::service::S3ServiceBuilder::new(fs);
    service.set_auth(s3s::auth::SimpleAuth::from_single(KEY.0, KEY.1.to_owned()));
    let service = service.build();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
        .expect("a loopback port for s3s-fs");
    let port = listener.local_addr().expect("the port of s3s-fs").port();
    runtime.spawn(async move {
        let http = Builder::new(TokioExecutor::new());
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    (runtime, port)
}

#[cfg(feature = "s3s-fs")]
impl Drop for S3sFs {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
