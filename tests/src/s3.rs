//! A real S3 server on loopback for the off-site tests: moto in server mode, from PyPI
//! (`moto[server]` in a virtual environment that `.ci/run` creates).
//!
//! [`Moto::start`] runs `moto_server -H 127.0.0.1 -p PORT` as a child on a free port and
//! waits until it answers; the child is killed when the [`Moto`] is dropped, or when the test
//! process ends (a reaper). [`shared`] is the one server of a test binary, started on first
//! use; each test takes a fresh bucket of its own on it ([`Moto::new_bucket`]), so that tests
//! running in parallel never see each other's objects. moto accepts any credentials;
//! [`Moto::start_with_auth`] starts one that checks them (moto's
//! `INITIAL_NO_AUTH_ACTION_COUNT`): the first requests create an IAM user with an access key
//! and the bucket, every later request must be signed with that key; a test that needs it
//! starts one of its own.
//!
//! The tests look at the server with boto3 from the same virtual environment (a client
//! independent of the one under test): [`Moto::objects`], [`Moto::get`], [`Moto::put`],
//! [`Moto::pending_uploads`].
//!
//! [`Proxy`] sits between cback and the server to inject faults: it forwards, or stops
//! forwarding after a number of bytes (the server "goes away" in the middle of an upload,
//! while moto keeps its state for the test to inspect), or refuses every connection, or
//! forwards slowly, or cuts the requests of one kind, or goes away at one of them, or
//! changes one byte of every request body (`flip.rs`), or hides the checksums the server
//! echoes (`hide.rs`). It keeps the request line of every request ([`Proxy::requests`]) and
//! the most connections it held open at once ([`Proxy::peak_connections`]).
//!
//! The virtual environment is `CEDAR_MOTO_VENV`, else `/tmp/cback-ci-moto`; without it, a
//! `moto_server` and a `python3` with boto3 on PATH. Without any, [`available`] prints why the
//! tests skip; with `CEDAR_REQUIRE_POSTGRES=1` (set by CI for every external component) it
//! panics instead.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::reaper::Reaper;

pub(crate) mod bucket;
mod flip;
mod hide;

/// The access key every test uses with a server that accepts any.
pub const ANY_KEY: (&str, &str) = ("cbacktest", "cbacktestsecret");
/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// The programs of the server and of the test-side client.
#[derive(Debug, Clone)]
pub struct S3Programs {
    pub moto_server: PathBuf,
    pub python: PathBuf,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The programs, when installed (see the module documentation); looked for once per process.
pub fn find_programs() -> Option<S3Programs> {
    static PROGRAMS: OnceLock<Option<S3Programs>> = OnceLock::new();
    PROGRAMS.get_or_init(look_for_programs).clone()
}

fn look_for_programs() -> Option<S3Programs> {
    let venv = std::env::var_os("CEDAR_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/cback-ci-moto"));
    let in_venv = S3Programs {
        moto_server: venv.join("bin/moto_server"),
        python: venv.join("bin/python"),
    };
    let candidates = [
        Some(in_venv),
        on_path("moto_server")
            .zip(on_path("python3"))
            .map(|(m, p)| S3Programs {
                moto_server: m,
                python: p,
            }),
    ];
    candidates.into_iter().flatten().find(|p| {
        p.moto_server.is_file()
            && Command::new(&p.python)
                .args(["-c", "import boto3, moto"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}

/// The programs, or `None` after printing a skip line for `test` (a panic when required).
pub fn available(test: &str) -> Option<S3Programs> {
    match find_programs() {
        Some(programs) => Some(programs),
        None if crate::pg::required() => panic!(
            "CEDAR_REQUIRE_POSTGRES=1 but no S3 server for the tests: create the virtual \
             environment with `python3 -m venv /tmp/cback-ci-moto && /tmp/cback-ci-moto/bin/pip \
             install 'moto[server]'` (scripts/test.sh installs it into target/moto), or set CEDAR_MOTO_VENV"
        ),
        None => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: {test}: no S3 server (moto[server] in /tmp/cback-ci-moto or \
                 CEDAR_MOTO_VENV); run scripts/test.sh, or set CEDAR_REQUIRE_POSTGRES=1 to fail \
                 instead"
            );
            None
        }
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    pub programs: S3Programs,
    pub port: u16,
    /// The access key to sign with.
    pub key: (String, String),
    pub dir: tempfile::TempDir,
    child: Child,
    /// Kills the server and removes `dir` when dropped, or when this process ends (a server
    /// in a `static`, see [`shared`], is never dropped).
    reaper: Reaper,
}

/// The server shared by the tests of one test binary (it accepts any credentials), started on
/// first use and stopped when the process ends; `None` (after a skip message) when moto is not
/// installed. Each test stores into a bucket of its own: [`Moto::new_bucket`].
pub fn shared(test: &str) -> Option<&'static Moto> {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    let programs = available(test)?;
    Some(SERVER.get_or_init(|| Moto::start(&programs)))
}

impl Moto {
    /// Starts a server that accepts any credentials.
    pub fn start(programs: &S3Programs) -> Moto {
        Moto::spawn(programs, None)
    }

    /// Starts a server that checks credentials; `bucket` is created, and [`Moto::key`] is
    /// the only key it accepts.
    pub fn start_with_auth(programs: &S3Programs, bucket: &str) -> Moto {
        let mut moto = Moto::spawn(programs, Some(4));
        let out = moto.python(&format!(
            r#"
import json
iam = boto3.client("iam", **KW)
iam.create_user(UserName="backup")
iam.put_user_policy(UserName="backup", PolicyName="all", PolicyDocument=json.dumps(
    {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "*"}}]}}))
key = iam.create_access_key(UserName="backup")["AccessKey"]
s3.create_bucket(Bucket="{bucket}")
print(key["AccessKeyId"], key["SecretAccessKey"])
"#
        ));
        let mut words = out.split_whitespace();
        moto.key = (
            words.next().expect("access key id").to_string(),
            words.next().expect("secret access key").to_string(),
        );
        moto
    }

    fn spawn(programs: &S3Programs, no_auth_actions: Option<u32>) -> Moto {
        let dir = tempfile::Builder::new()
            .prefix("cback-moto-")
            .tempdir()
            .expect("a directory for moto");
        let mut last = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("moto.log")).unwrap();
            let mut cmd = Command::new(&programs.moto_server);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .env_remove("AWS_ENDPOINT_URL");
            if let Some(n) = no_auth_actions {
                cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
            }
            let mut child = cmd.spawn().expect("start moto_server");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                let ready = if no_auth_actions.is_some() {
                    // A probe request would use up one of the unauthenticated actions.
                    TcpStream::connect(("127.0.0.1", port)).is_ok()
                } else {
                    http_ok(port)
                };
                if ready {
                    let reaper = Reaper::spawn(
                        "moto",
                        "kill -9 \"$PID\" 2>/dev/null; rm -rf \"$DIR\"",
                        [
                            ("PID", OsString::from(child.id().to_string()).as_os_str()),
                            ("DIR", dir.path().as_os_str()),
                        ],
                    );
                    return Moto {
                        programs: programs.clone(),
                        port,
                        key: (ANY_KEY.0.to_string(), ANY_KEY.1.to_string()),
                        dir,
                        child,
                        reaper,
                    };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(dir.path().join("moto.log")).unwrap_or_default();
        }
        panic!("moto_server did not start; its log:\n{last}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sets the environment a cback run needs to reach this server with [`Moto::key`], and
    /// nothing of the machine's own AWS configuration (no metadata service either).
    pub fn env(&self, cmd: &mut assert_cmd::Command) {
        self.env_with(cmd, &self.endpoint());
    }

    /// [`Moto::env`] with another endpoint (a [`Proxy`] in front of the server).
    pub fn env_with(&self, cmd: &mut assert_cmd::Command, endpoint: &str) {
        for (name, value) in self.environment(endpoint) {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
    }

    /// [`Moto::env`] for a standard command (one run on a terminal, say).
    pub fn env_command(&self, cmd: &mut std::process::Command) {
        for (name, value) in self.environment(&self.endpoint()) {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
    }

    /// The variables that point a command at this server through `endpoint` (`Some`) and
    /// those removed (`None`).
    fn environment(&self, endpoint: &str) -> Vec<(&'static str, Option<OsString>)> {
        let mut vars = isolated(self.dir.path());
        vars.push(("AWS_ENDPOINT_URL", Some(endpoint.into())));
        vars.push(("AWS_ACCESS_KEY_ID", Some(self.key.0.clone().into())));
        vars.push(("AWS_SECRET_ACCESS_KEY", Some(self.key.1.clone().into())));
        vars
    }

    /// Runs `body` in the test-side Python with `s3` (a boto3 client for this server) and
    /// `KW` (its keyword arguments) defined; returns its standard output.
    pub fn python(&self, body: &str) -> String {
        let script = format!(
            "import boto3, sys\nKW = dict(endpoint_url={:?}, region_name={REGION:?}, \
             aws_access_key_id={:?}, aws_secret_access_key={:?})\ns3 = boto3.client('s3', **KW)\n{body}",
            self.endpoint(),
            self.key.0,
            self.key.1
        );
        let output = Command::new(&self.programs.python)
            .arg("-c")
            .arg(&script)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run the test-side python");
        assert!(
            output.status.success(),
            "test-side boto3 failed: {}\nscript:\n{script}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.python(&format!("s3.create_bucket(Bucket={bucket:?})"));
    }

    /// Creates a bucket no other test of this process uses, named after `test`; returns its
    /// name.
    pub fn new_bucket(&self, test: &str) -> String {
        let name = bucket::unique_name(test);
        self.create_bucket(&name);
        name
    }

    /// A file of its own in `dir` for one transfer (tests run in parallel against one server).
    fn scratch_file(&self) -> tempfile::NamedTempFile {
        tempfile::NamedTempFile::new_in(self.dir.path()).expect("a scratch file for boto3")
    }

    /// Every object under `prefix`: key and size.
    pub fn objects(&self, bucket: &str, prefix: &str) -> BTreeMap<String, u64> {
        let out = self.python(&format!(
            r#"
import json
p = s3.get_paginator("list_objects_v2")
out = {{}}
for page in p.paginate(Bucket={bucket:?}, Prefix={prefix:?}):
    for o in page.get("Contents", []):
        out[o["Key"]] = o["Size"]
print(json.dumps(out))
"#
        ));
        parse_map(&out)
    }

    /// The content of an object.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let file = self.scratch_file();
        self.python(&format!(
            "s3.download_file({bucket:?}, {key:?}, {:?})",
            file.path().display().to_string()
        ));
        std::fs::read(file.path()).unwrap()
    }

    /// Stores `data` as an object.
    pub fn put(&self, bucket: &str, key: &str, data: &[u8]) {
        let file = self.scratch_file();
        std::fs::write(file.path(), data).unwrap();
        self.python(&format!(
            "s3.put_object(Bucket={bucket:?}, Key={key:?}, Body=open({:?}, 'rb').read())",
            file.path().display().to_string()
        ));
    }

    /// The keys of unfinished multipart uploads in `bucket`.
    pub fn pending_uploads(&self, bucket: &str) -> Vec<String> {
        let out = self.python(&format!(
            "r = s3.list_multipart_uploads(Bucket={bucket:?})\n\
             print('\\n'.join(u['Key'] for u in r.get('Uploads', [])))"
        ));
        out.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The SHA-256 checksum the server keeps for an object (`None` when it keeps none).
    pub fn checksum(&self, bucket: &str, key: &str) -> Option<String> {
        let out = self.python(&format!(
            "r = s3.head_object(Bucket={bucket:?}, Key={key:?}, ChecksumMode='ENABLED')\n\
             print(r.get('ChecksumSHA256', ''))"
        ));
        Some(out.trim().to_string()).filter(|s| !s.is_empty())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // The reaper kills the server (still our unwaited child, so its pid is not reused).
        self.reaper.reap();
        let _ = self.child.wait();
    }
}

/// A command's environment without the machine's AWS settings: no variables, no profile
/// files (they point into `dir`, where a test may write some), no metadata service.
pub fn isolate(cmd: &mut assert_cmd::Command, dir: &Path) {
    for (name, value) in isolated(dir) {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
}

/// The variables [`isolate`] sets (`Some`) and removes (`None`).
fn isolated(dir: &Path) -> Vec<(&'static str, Option<OsString>)> {
    let mut vars: Vec<(&'static str, Option<OsString>)> = [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .into_iter()
    .map(|name| (name, None))
    .collect();
    vars.push(("AWS_EC2_METADATA_DISABLED", Some("true".into())));
    vars.push(("AWS_REGION", Some(REGION.into())));
    vars.push(("AWS_CONFIG_FILE", Some(dir.join("aws-config").into())));
    vars.push((
        "AWS_SHARED_CREDENTIALS_FILE",
        Some(dir.join("aws-credentials").into()),
    ));
    vars
}

pub(crate) fn http_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    stream.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.")
}

/// A flat JSON object of string keys and integer values.
fn parse_map(text: &str) -> BTreeMap<String, u64> {
    let value: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON from boto3");
    value
        .as_object()
        .expect("a JSON object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("a size")))
        .collect()
}

/// Requests picked by [`Mode::FailRequests`] and [`Mode::DownAt`]: those whose head (request
/// line and headers) contains every one of `all_of`, ignoring case, once `skip` of them went
/// through. The SDK names the operation in the query (`?x-id=CopyObject`), and a copy's
/// source is in its `x-amz-copy-source` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requests {
    pub all_of: &'static [&'static str],
    pub skip: u64,
}

/// What a [`Proxy`] does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything.
    Pass,
    /// Forward until this many bytes went from clients to the server in all, then cut every
    /// connection and refuse new ones (as a server that went away).
    CutAfter(u64),
    /// Refuse every connection (close it at once).
    Refuse,
    /// Like `CutAfter`, but only once: the connections open at that moment are cut, later
    /// ones are forwarded again (a network hiccup in the middle of a part).
    CutOnceAfter(u64),
    /// Forward at most this many bytes per second from clients to the server (a slow link).
    Throttle(u64),
    /// Cut the connection of each picked request before the server sees it (retries too);
    /// every other request goes through.
    FailRequests(Requests),
    /// Forward until the first picked request: then, before the server sees it, cut every
    /// connection and refuse new ones (the server goes away at that point).
    DownAt(Requests),
    /// Forward, but invert the body byte at this offset of every request whose body is
    /// longer: lengths and headers stay as sent, checksums no longer match (see `flip.rs`).
    FlipAfter(u64),
    /// Answer the first `times` requests that contain every one of `all_of` (as
    /// [`Requests`]) with `503 SlowDown` and S3's XML error body, without forwarding them
    /// (their bodies are read and dropped); then forward everything (a throttling server).
    SlowDown {
        all_of: &'static [&'static str],
        times: u64,
    },
    /// Forward, but hide the SHA-256 checksums the server's answers echo (see `hide.rs`): a
    /// server that echoes none.
    HideChecksums,
}

/// S3's answer to a request it throttles; a HEAD request's answer carries no body.
fn slow_down_answer(head: &[u8]) -> Vec<u8> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                <Message>Please reduce your request rate.</Message>\
                <RequestId>cback-test-slowdown</RequestId></Error>";
    let body = if head.starts_with(b"HEAD ") { "" } else { body };
    format!(
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The state a [`Proxy`] shares with its threads.
#[derive(Debug)]
struct Shared {
    mode: Mutex<Mode>,
    sent: AtomicU64,
    down: AtomicBool,
    stop: AtomicBool,
    cuts: AtomicU64,
    matched: AtomicU64,
    /// The request line of every request since the mode was set.
    requests: Mutex<Vec<String>>,
    /// Connections open now, and the most open at once since the mode was set.
    open: AtomicU64,
    peak: AtomicU64,
}

/// A TCP proxy on loopback in front of a server, for faults.
#[derive(Debug)]
pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:upstream`.
    pub fn start(upstream: u16, mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            sent: AtomicU64::new(0),
            down: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            cuts: AtomicU64::new(0),
            matched: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            open: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        });
        let proxy = Proxy {
            port,
            shared: shared.clone(),
        };
        std::thread::spawn(move || {
            let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
            while !shared.stop.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        if shared.down.load(Ordering::SeqCst) {
                            for c in conns.lock().unwrap().drain(..) {
                                let _ = c.shutdown(Shutdown::Both);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                let _ = client.set_nonblocking(false);
                if shared.down.load(Ordering::SeqCst)
                    || *shared.mode.lock().unwrap() == Mode::Refuse
                {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                conns.lock().unwrap().push(client.try_clone().unwrap());
                conns.lock().unwrap().push(server.try_clone().unwrap());
                let up = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let counting = shared.clone();
                let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
                shared.peak.fetch_max(open, Ordering::SeqCst);
                std::thread::spawn(move || pump_up(up.0, up.1, &counting));
                let answering = shared.clone();
                std::thread::spawn(move || {
                    pump(server, client, &answering);
                    answering.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        proxy
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes what the proxy does from now on (`Pass` also brings a cut proxy back).
    pub fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
        self.shared.sent.store(0, Ordering::SeqCst);
        self.shared.matched.store(0, Ordering::SeqCst);
        self.shared.down.store(false, Ordering::SeqCst);
        self.shared.requests.lock().unwrap().clear();
        let open = self.shared.open.load(Ordering::SeqCst);
        self.shared.peak.store(open, Ordering::SeqCst);
    }

    /// The request line (`METHOD PATH?QUERY HTTP/1.1`) of every request forwarded or picked
    /// since the proxy started or its mode was last set, in the order they came.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The most connections open through the proxy at once since it started or its mode was
    /// last set (idle connections a client keeps for later included).
    pub fn peak_connections(&self) -> u64 {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Whether a [`Mode::CutAfter`] or [`Mode::DownAt`] has cut.
    pub fn has_cut(&self) -> bool {
        self.shared.down.load(Ordering::SeqCst)
    }

    /// How many connections a [`Mode::CutOnceAfter`] cut.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// How many request bodies a [`Mode::FlipAfter`] changed (kept in the same counter).
    pub fn flips(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// How many requests the [`Requests`] of the mode (or a [`Mode::SlowDown`]) picked since
    /// it was set (the skipped and the forwarded ones included).
    pub fn matched(&self) -> u64 {
        self.shared.matched.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Server to client: everything as it comes, but with the echoed checksums hidden under
/// [`Mode::HideChecksums`].
fn pump(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let mut buf = vec![0u8; 64 << 10];
    let mut hider = hide::Hider::default();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let written = if *shared.mode.lock().unwrap() == Mode::HideChecksums {
            to.write_all(&hider.apply(&buf[..n]))
        } else {
            to.write_all(&buf[..n])
        };
        if written.is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// What becomes of one request.
enum Verdict {
    Pass,
    Cut,
    Down,
    SlowDown,
}

fn verdict(shared: &Shared, head: &[u8]) -> Verdict {
    let mode = *shared.mode.lock().unwrap();
    let all_of = match mode {
        Mode::FailRequests(rule) | Mode::DownAt(rule) => rule.all_of,
        Mode::SlowDown { all_of, .. } => all_of,
        _ => return Verdict::Pass,
    };
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if !all_of
        .iter()
        .all(|p| text.contains(&p.to_ascii_lowercase()))
    {
        return Verdict::Pass;
    }
    // The how-manieth picked request this is, from 1.
    let seen = shared.matched.fetch_add(1, Ordering::SeqCst) + 1;
    match mode {
        Mode::FailRequests(rule) if seen > rule.skip => Verdict::Cut,
        Mode::DownAt(rule) if seen > rule.skip => Verdict::Down,
        Mode::SlowDown { times, .. } if seen <= times => Verdict::SlowDown,
        _ => Verdict::Pass,
    }
}

/// The length of the body a request head announces; `None` for a chunked body.
fn body_length(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut length = Some(0);
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("content-length:") {
            length = value.trim().parse().ok();
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return None;
        }
    }
    length
}

/// Client to server: bytes counted for `CutAfter` / `CutOnceAfter`, requests told apart (by
/// their `Content-Length`) for `FailRequests` / `DownAt`, and `Throttle` applied.
fn pump_up(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let mut buf = vec![0u8; 64 << 10];
    let mut flipper = flip::Flipper::default();
    let mut head: Vec<u8> = Vec::new();
    let mut body_left = 0u64;
    // The body of a request answered `SlowDown`, dropped, and the answer sent after it.
    let mut dropped_left = 0u64;
    let mut answer: Option<Vec<u8>> = None;
    // After a chunked body, requests are no longer told apart.
    let mut raw = false;
    'read: loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if shared.down.load(Ordering::SeqCst) {
            break;
        }
        let total = shared.sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        let current = *shared.mode.lock().unwrap();
        match current {
            Mode::CutAfter(limit) if total > limit => {
                shared.down.store(true, Ordering::SeqCst);
                break;
            }
            Mode::CutOnceAfter(limit) if total > limit => {
                *shared.mode.lock().unwrap() = Mode::Pass;
                shared.cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
            Mode::FlipAfter(at) => {
                let flipped = flipper.apply(&mut buf[..n], at);
                shared.cuts.fetch_add(flipped, Ordering::SeqCst);
            }
            _ => {}
        }
        let mut data = &buf[..n];
        let mut out: Vec<u8> = Vec::with_capacity(n);
        let mut stop = false;
        while !data.is_empty() || answer.is_some() {
            if dropped_left > 0 {
                if data.is_empty() {
                    break;
                }
                let take = dropped_left.min(data.len() as u64);
                dropped_left -= take;
                data = &data[take as usize..];
                continue;
            }
            if let Some(bytes) = answer.take() {
                if from.write_all(&bytes).is_err() {
                    break 'read;
                }
                continue;
            }
            if raw || body_left > 0 {
                let take = if raw {
                    data.len()
                } else {
                    (body_left.min(data.len() as u64)) as usize
                };
                out.extend_from_slice(&data[..take]);
                if !raw {
                    body_left -= take as u64;
                }
                data = &data[take..];
                continue;
            }
            let before = head.len();
            head.extend_from_slice(data);
            let Some(end) = head
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4)
            else {
                data = &[];
                continue;
            };
            head.truncate(end);
            data = &data[end - before..];
            if let Some(line) = head.split(|&b| b == b'\r').next() {
                let line = String::from_utf8_lossy(line).into_owned();
                shared.requests.lock().unwrap().push(line);
            }
            match verdict(shared, &head) {
                Verdict::Pass => {
                    out.extend_from_slice(&head);
                    match body_length(&head) {
                        Some(length) => body_left = length,
                        None => raw = true,
                    }
                }
                Verdict::Cut => stop = true,
                Verdict::SlowDown => match body_length(&head) {
                    Some(length) => {
                        dropped_left = length;
                        answer = Some(slow_down_answer(&head));
                    }
                    // A chunked body cannot be skipped here: answer and close.
                    None => {
                        let _ = from.write_all(&slow_down_answer(&head));
                        stop = true;
                    }
                },
                Verdict::Down => {
                    shared.down.store(true, Ordering::SeqCst);
                    stop = true;
                }
            }
            head.clear();
            if stop {
                break;
            }
        }
        for slice in out.chunks(16 << 10) {
            if to.write_all(slice).is_err() {
                break 'read;
            }
            if let Mode::Throttle(rate) = *shared.mode.lock().unwrap() {
                std::thread::sleep(Duration::from_secs_f64(slice.len() as f64 / rate as f64));
            }
        }
        if stop {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
