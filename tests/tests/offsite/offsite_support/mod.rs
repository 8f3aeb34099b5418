//! Shared support of the off-site tests (encrypt, split, amazons3, the sync tool): a master's
//! working and staging directories, a configuration declaring the three extensions, staged
//! days, and readers for the tree.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};

/// The day the tests pin with `CEDAR_TODAY`: a Wednesday.
pub const TODAY: &str = "2026-03-04";
pub const TODAY_DIR: &str = "2026/03/04";
pub const YESTERDAY_DIR: &str = "2026/03/03";
pub const TOMORROW_DIR: &str = "2026/03/05";

pub fn is_root() -> bool {
    Uid::effective().is_root()
}

/// Says that a test did not do its work, past the output capture of the test harness.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}

/// backup_user and backup_group: the user running the tests and its group.
pub fn backup_owner() -> (String, String) {
    let user = User::from_uid(Uid::effective()).unwrap().unwrap();
    let group = Group::from_gid(Gid::effective()).unwrap().unwrap();
    (user.name, group.name)
}

/// The `<extensions>` section declaring the three off-site actions at the original's indices.
pub const EXTENSIONS: &str = "<extensions>\
<action><name>amazons3</name><module>CedarBackup3.extend.amazons3</module><function>executeAction</function><index>201</index></action>\
<action><name>split</name><module>CedarBackup3.extend.split</module><function>executeAction</function><index>299</index></action>\
<action><name>encrypt</name><module>CedarBackup3.extend.encrypt</module><function>executeAction</function><index>301</index></action>\
</extensions>";

/// A master in one temporary directory: `ROOT/work`, `ROOT/stage`, `ROOT/cback.log`.
#[derive(Debug)]
pub struct OffsiteMaster {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Default for OffsiteMaster {
    fn default() -> Self {
        OffsiteMaster::new()
    }
}

impl OffsiteMaster {
    pub fn new() -> OffsiteMaster {
        let dir = tempfile::Builder::new()
            .prefix("cback-offsite-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["work", "stage", "collect"] {
            fs::create_dir(root.join(sub)).unwrap();
        }
        OffsiteMaster { _dir: dir, root }
    }

    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    pub fn staging(&self) -> PathBuf {
        self.root.join("stage")
    }

    /// `STAGING/REL`.
    pub fn day(&self, rel: &str) -> PathBuf {
        self.staging().join(rel)
    }

    /// Writes `files` (relative path, content) into the day `rel`; with `staged`, also the
    /// `cback.stage` indicator and a peer's `cback.collect`, as stage leaves them.
    pub fn stage_day(&self, rel: &str, files: &[(&str, &[u8])], staged: bool) -> PathBuf {
        let day = self.day(rel);
        fs::create_dir_all(&day).unwrap();
        for (name, content) in files {
            let path = day.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, content).unwrap();
        }
        if staged {
            fs::write(day.join("cback.stage"), b"").unwrap();
        }
        day
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.join("cback.log")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Writes `cback.conf`: options, a stage section with one local peer, the extensions,
    /// then `sections`.
    pub fn config(&self, options_extra: &str, sections: &str) -> PathBuf {
        let (user, group) = backup_owner();
        self.config_as(&user, &group, options_extra, sections)
    }

    /// [`OffsiteMaster::config`] with another backup user and group.
    pub fn config_as(
        &self,
        user: &str,
        group: &str,
        options_extra: &str,
        sections: &str,
    ) -> PathBuf {
        let text = format!(
            "<?xml version=\"1.0\"?>\n<cb_config>\n<options><starting_day>monday</starting_day>\
             <working_dir>{}</working_dir><backup_user>{user}</backup_user>\
             <backup_group>{group}</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>\
             {options_extra}</options>\n{}\n<stage><staging_dir>{}</staging_dir><peer><name>host1</name>\
             <type>local</type><collect_dir>{}</collect_dir></peer></stage>\n{sections}\n</cb_config>\n",
            self.work().display(),
            EXTENSIONS,
            self.staging().display(),
            self.root.join("collect").display(),
        );
        let path = self.root.join("cback.conf");
        fs::write(&path, text).unwrap();
        path
    }

    /// `cback --config CONFIG --logfile LOG ARGS` with the day pinned to [`TODAY`].
    pub fn cback(&self, config: &Path, args: &[&str]) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command(config, args))
    }

    /// `cback` as [`Self::cback`] runs it, as a standard command (to run on a terminal).
    pub fn command(&self, config: &Path, args: &[&str]) -> std::process::Command {
        let mut cmd = crate::BIN.cback_command();
        cmd.env("CEDAR_TODAY", TODAY)
            .arg("--config")
            .arg(config)
            .arg("--logfile")
            .arg(self.log_path())
            .args(args);
        cmd
    }

    /// The run's `cback-status.json`.
    pub fn status(&self) -> serde_json::Value {
        let text = fs::read_to_string(self.work().join("cback-status.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// Every regular file below `dir`, by relative path, with its content.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut map = BTreeMap::new();
    walk(dir, dir, &mut map);
    map
}

fn walk(root: &Path, dir: &Path, map: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            walk(root, &path, map);
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            map.insert(rel, fs::read(&path).unwrap());
        }
    }
}

/// The mode bits of `path`.
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

/// Deterministic pseudo-random bytes (a small xorshift), incompressible enough.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Decrypts age `data` with `identity`.
pub fn age_decrypt(identity: &dyn age::Identity, data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let decryptor = age::Decryptor::new(data).expect("an age file");
    let mut reader = decryptor
        .decrypt(std::iter::once(identity))
        .expect("decrypt with the test identity");
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).unwrap();
    plain
}

/// The `<amazons3>` section storing into `bucket/staging`, with `extra` elements.
pub fn amazons3_section(bucket: &str, extra: &str) -> String {
    format!("<amazons3><s3_bucket>{bucket}/staging</s3_bucket>{extra}</amazons3>")
}

/// The object key of `rel` in the day `day` (`YYYY/MM/DD`) under `staging`.
pub fn day_key(day: &str, rel: &str) -> String {
    format!("staging/{day}/{rel}")
}

/// The upload marker amazons3 keeps in each day it uploads (`DAY/.cback-upload.json`).
pub const MARKER: &str = cedar_core::UPLOAD_MARKER_FILE;

/// `objects` without the days' upload markers: the copies of the staged files.
pub fn copies(objects: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    objects
        .into_iter()
        .filter(|(k, _)| !k.ends_with(&format!("/{MARKER}")))
        .collect()
}

/// The upload marker of the day `day` (`YYYY/MM/DD`) under `staging`, as JSON.
pub fn marker_of(moto: &cback_tests::s3::Moto, bucket: &str, day: &str) -> serde_json::Value {
    serde_json::from_slice(&moto.get(bucket, &day_key(day, MARKER))).expect("a JSON marker")
}

/// The object key of `rel` in today's day under `staging`.
pub fn key(rel: &str) -> String {
    day_key(TODAY_DIR, rel)
}

/// Whether the amazons3 action can run here (as the original, only as root); says why not.
pub fn amazons3_may_run(test: &str) -> bool {
    if is_root() {
        return true;
    }
    skipped(test, "amazons3 runs only as root, as the original");
    false
}

/// A site, the binary's moto server and a fresh bucket of the test's own on it, or `None`
/// when the test cannot run here.
pub fn moto_site(test: &str) -> Option<(OffsiteMaster, &'static cback_tests::s3::Moto, String)> {
    cback_tests::s3::available(test)?;
    if !amazons3_may_run(test) {
        return None;
    }
    let moto = cback_tests::s3::shared(test)?;
    let bucket = moto.new_bucket(test);
    Some((OffsiteMaster::new(), moto, bucket))
}

/// [`moto_site`] with a fault proxy of the test's own (passing everything) in front of the
/// shared server.
pub fn moto_site_with_proxy(
    test: &str,
) -> Option<(
    OffsiteMaster,
    &'static cback_tests::s3::Moto,
    String,
    cback_tests::s3::Proxy,
)> {
    let (site, moto, bucket) = moto_site(test)?;
    let proxy = cback_tests::s3::Proxy::start(moto.port, cback_tests::s3::Mode::Pass);
    Some((site, moto, bucket, proxy))
}

/// cback's own S3 client for `bucket` at `endpoint`, signing with `key` (id and secret) read
/// from `HOME/.aws/credentials` as a run reads it; `home` is the test's temporary directory.
pub fn s3_client(
    endpoint: String,
    key: (&str, &str),
    bucket: &str,
    home: &Path,
) -> cedar_ext_amazons3::S3 {
    fs::create_dir_all(home.join(".aws")).unwrap();
    fs::write(
        home.join(".aws/credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key.0, key.1
        ),
    )
    .unwrap();
    cedar_ext_amazons3::S3::connect(
        &cedar_ext_amazons3::ConnectOptions {
            endpoint: Some(endpoint),
            region: Some(cback_tests::s3::REGION.into()),
            home: Some(home.to_path_buf()),
        },
        bucket,
    )
    .unwrap()
}

/// The SHA-256 of `data` in hex, computed by `sha256sum` (independent of cback's own code).
pub fn sha256_hex(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// The SHA-256 of `data` in base64, as S3 gives a checksum.
pub fn sha256_b64(data: &[u8]) -> String {
    let hex = sha256_hex(data);
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    // base64 by hand (the tests crate has no base64 dependency).
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `cback --full amazons3` through `proxy` in front of `moto`, as a child (to be signalled),
/// its output dropped (the log file has it).
pub fn spawn_amazons3(
    site: &OffsiteMaster,
    config: &Path,
    moto: &cback_tests::s3::Moto,
    proxy: &cback_tests::s3::Proxy,
) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new(crate::BIN.cback_path())
        .env_remove("CEDAR_LOG")
        .env("LANG", "C")
        .env("CEDAR_TODAY", TODAY)
        .arg("--config")
        .arg(config)
        .arg("--logfile")
        .arg(site.log_path())
        .args(["--full", "amazons3"])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", cback_tests::s3::REGION)
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env("AWS_ACCESS_KEY_ID", &moto.key.0)
        .env("AWS_SECRET_ACCESS_KEY", &moto.key.1)
        .env("AWS_CONFIG_FILE", moto.dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", moto.dir.path().join("none"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
