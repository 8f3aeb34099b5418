//! Shared support of the collect and purge end-to-end tests: a fixture tree with fixed mtimes,
//! configuration documents, and a small tar reader for member lists.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Group, Uid, User};

/// 2024-01-10T12:00:00Z, the mtime of everything in the fixture.
pub const MTIME: i64 = 1_704_888_000;

/// Member lists the original (cback3 3.12) wrote for the fixture: `### CONFIG`, `== ARCHIVE`,
/// then one `name|type|link|mode|user:group|mtime|size` line per member, in archive order.
/// `ROOT` stands for the fixture root.
pub const EXPECTED: &str = include_str!("expected_members.txt");

pub fn is_root() -> bool {
    Uid::effective().is_root()
}

/// Says that a test did not do its work, past the test harness's output capture (which hides
/// what a passing test prints), so that the line shows in every run.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}

/// A fixture: `ROOT/src` (the tree), `ROOT/outside` (link targets), `ROOT/out`, `ROOT/work`.
#[derive(Debug)]
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

pub fn set_mtime(path: &Path, secs: i64) {
    let t = TimeSpec::new(secs, 0);
    utimensat(None, path, &t, &t, UtimensatFlags::NoFollowSymlink).expect("set times");
}

fn set_all_mtimes(dir: &Path, secs: i64) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            set_all_mtimes(&path, secs);
        }
        set_mtime(&path, secs);
    }
    set_mtime(dir, secs);
}

fn write(path: &Path, text: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

impl Fixture {
    /// An empty fixture root (world-traversable, so that tests may run cback as `nobody`).
    pub fn empty() -> Fixture {
        let dir = tempfile::Builder::new().prefix("cbk").tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        fs::create_dir_all(root.join("out")).unwrap();
        fs::create_dir_all(root.join("work")).unwrap();
        Fixture { _dir: dir, root }
    }

    /// The tree the expectations were recorded on: odd names, a long path, an ignore file,
    /// excluded paths, links of every kind, a hard link, a fifo, an empty directory, modes and
    /// (as root) another owner.
    pub fn tree() -> Fixture {
        let f = Fixture::empty();
        let src = f.src();
        let outside = f.root.join("outside");
        fs::create_dir_all(&src).unwrap();
        write(&src.join("a.txt"), b"hello\n");
        write(&src.join("b with spaces.txt"), b"spaces\n");
        write(&src.join("weird:name"), b"colon\n");
        write(&src.join("ünï.txt"), b"uni\n");
        write(&src.join("new\nline"), b"nl");
        let deep = src.join("deep").join("d".repeat(60)).join("e".repeat(60));
        write(&deep.join("file.txt"), b"deep\n");
        write(&src.join("ign/.cbignore"), b"x\n");
        write(&src.join("ign/kept.txt"), b"y\n");
        write(&src.join("ign/inner/f"), b"z\n");
        write(&src.join("excl/f"), b"e\n");
        write(&src.join("rel/f"), b"r\n");
        write(&src.join("rel2/f"), b"r2\n");
        write(&src.join("x.tmp"), b"t\n");
        write(&src.join("tmpd.tmp/f"), b"td\n");
        write(&src.join("sub/s.txt"), b"s\n");
        write(&src.join("sub/subsub/ss.txt"), b"ss\n");
        write(&src.join("sub/y.tmp"), b"t\n");
        write(&src.join("sub/excl2/f"), b"e2\n");
        symlink("a.txt", src.join("link_to_file")).unwrap();
        symlink("sub", src.join("link_to_dir")).unwrap();
        symlink("nowhere", src.join("broken_link")).unwrap();
        symlink(&outside, src.join("abs_link_dir")).unwrap();
        symlink("L".repeat(120), src.join("long_target_link")).unwrap();
        fs::hard_link(src.join("a.txt"), src.join("hardlink_a")).unwrap();
        nix::unistd::mkfifo(
            &src.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        fs::create_dir_all(src.join("emptydir")).unwrap();
        for (name, mode) in [("mode600", 0o600), ("mode755", 0o755), ("setuid", 0o4755)] {
            write(
                &src.join(name),
                if name == "setuid" { b"su\n" } else { b"m\n" },
            );
            fs::set_permissions(src.join(name), fs::Permissions::from_mode(mode)).unwrap();
        }
        write(&src.join("owned"), b"o\n");
        if is_root() {
            let uid = User::from_name("nobody").unwrap().map(|u| u.uid);
            let gid = Group::from_name("nogroup").unwrap().map(|g| g.gid);
            nix::unistd::chown(&src.join("owned"), uid, gid).unwrap();
        }
        write(&outside.join("of"), b"out\n");
        write(&outside.join("od/f"), b"odf\n");
        symlink("../of", outside.join("od/uplink")).unwrap();
        symlink(outside.join("od"), outside.join("dlink")).unwrap();
        symlink("od", outside.join("od2link")).unwrap();
        set_all_mtimes(&src, MTIME);
        set_all_mtimes(&outside, MTIME);
        f
    }

    pub fn src(&self) -> PathBuf {
        self.root.join("src")
    }
    pub fn out(&self) -> PathBuf {
        self.root.join("out")
    }
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }
    pub fn config_path(&self) -> PathBuf {
        self.root.join("cback.conf")
    }
    pub fn log(&self) -> PathBuf {
        self.root.join("cback.log")
    }

    /// The member name prefix of the fixture root: its path without the leading `/`.
    pub fn member_root(&self) -> String {
        self.root
            .to_string_lossy()
            .trim_start_matches('/')
            .to_string()
    }

    /// The normalized name of the fixture root, as in archive names.
    pub fn normalized_root(&self) -> String {
        self.member_root().replace('/', "-")
    }

    /// Writes a configuration with `collect` (the inside of `<collect>`, with `{ROOT}` for the
    /// fixture root) or a purge section, and returns its path.
    pub fn write_config(&self, sections: &str, starting_day: &str) -> PathBuf {
        let root = self.root.to_string_lossy();
        let body = sections.replace("{ROOT}", &root);
        let (user, group) = backup_owner();
        let text = format!(
            "<?xml version=\"1.0\"?>\n<cb_config>\n <options>\n  <starting_day>{starting_day}</starting_day>\n  <working_dir>{root}/work</working_dir>\n  <backup_user>{user}</backup_user>\n  <backup_group>{group}</backup_group>\n  <rcp_command>/usr/bin/scp -B</rcp_command>\n </options>\n{body}\n</cb_config>\n"
        );
        let path = self.config_path();
        fs::write(&path, text).unwrap();
        path
    }

    /// `cback --config C --logfile L ARGS...` with today pinned.
    pub fn cback(&self, today: &str, args: &[&str]) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command(today, args))
    }

    /// [`Fixture::cback`] as a standard command (to run on a terminal).
    pub fn command(&self, today: &str, args: &[&str]) -> std::process::Command {
        let mut cmd = crate::BIN.cback_command();
        cmd.env("CEDAR_TODAY", today)
            .arg("--config")
            .arg(self.config_path())
            .arg("--logfile")
            .arg(self.log())
            .args(args);
        cmd
    }

    /// `cback --config C --logfile L ARGS...` with today pinned, started and left running (to
    /// be signalled), standard output discarded and standard error to `stderr`.
    pub fn spawn(
        &self,
        today: &str,
        args: &[&str],
        stderr: std::process::Stdio,
    ) -> std::process::Child {
        std::process::Command::new(crate::BIN.cback_path())
            .env_remove("CEDAR_LOG")
            .env("CEDAR_TODAY", today)
            .arg("--config")
            .arg(self.config_path())
            .arg("--logfile")
            .arg(self.log())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap()
    }

    /// The original's `cback3 --config C --logfile ROOT/cb3.log ACTION`, which must succeed.
    pub fn original(&self, cb3: &Path, action: &str) {
        let out = std::process::Command::new(cb3)
            .arg("--config")
            .arg(self.config_path())
            .arg("--logfile")
            .arg(self.root.join("cb3.log"))
            .arg(action)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{out:?}\n{}",
            fs::read_to_string(self.root.join("cb3.log")).unwrap_or_default()
        );
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// The regular files in `out`, sorted.
    /// Empties collect_dir (between runs).
    pub fn clear_out(&self) {
        for entry in std::fs::read_dir(self.out()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }

    pub fn out_files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.out())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// The backup user and group to configure: `backup` when it exists (as on Debian), else the
/// current user's.
pub fn backup_owner() -> (String, String) {
    if let (Ok(Some(_)), Ok(Some(_))) = (User::from_name("backup"), Group::from_name("backup")) {
        return ("backup".into(), "backup".into());
    }
    let user = User::from_uid(Uid::effective()).unwrap().unwrap();
    let group = Group::from_gid(Gid::effective()).unwrap().unwrap();
    (user.name, group.name)
}

/// A monday and a wednesday.
pub const MONDAY: &str = "2026-11-23";
pub const WEDNESDAY: &str = "2026-11-25";

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub typeflag: char,
    pub linkname: String,
    pub mode: u32,
    pub uname: String,
    pub gname: String,
    pub mtime: i64,
    pub size: u64,
    pub data: Vec<u8>,
}

impl Member {
    /// The expectation line format.
    pub fn line(&self) -> String {
        format!(
            "{}|{}|{}|{:o}|{}:{}|{}|{}",
            self.name.replace('\n', "\\n"),
            self.typeflag,
            self.linkname,
            self.mode,
            self.uname,
            self.gname,
            self.mtime,
            self.size
        )
    }
}

fn octal(field: &[u8]) -> u64 {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return field[1..]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    }
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0 && b != b' ')
        .map(|&b| b as char)
        .collect();
    u64::from_str_radix(text.trim(), 8).unwrap_or(0)
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Decompresses an archive by its extension.
pub fn archive_bytes(path: &Path) -> Vec<u8> {
    let raw = fs::read(path).unwrap();
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else if name.ends_with(".bz2") {
        bzip2::read::MultiBzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
    } else {
        out = raw;
    }
    out
}

/// The members of a (possibly compressed) tar archive, in order.
pub fn members(path: &Path) -> Vec<Member> {
    let data = archive_bytes(path);
    assert_eq!(
        data.len() % 10240,
        0,
        "{} padded to a record",
        path.display()
    );
    let mut out = Vec::new();
    let mut pos = 0;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    while pos + 512 <= data.len() {
        let h = &data[pos..pos + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        assert_eq!(octal(&h[148..156]), sum, "header checksum");
        let size = octal(&h[124..136]);
        let typeflag = h[156] as char;
        let body_start = pos + 512;
        let body_len = size.div_ceil(512) as usize * 512;
        let body = data[body_start..body_start + size as usize].to_vec();
        pos = body_start + body_len;
        match typeflag {
            'L' => long_name = Some(text(&body)),
            'K' => long_link = Some(text(&body)),
            _ => out.push(Member {
                name: long_name.take().unwrap_or_else(|| text(&h[0..100])),
                typeflag,
                linkname: long_link.take().unwrap_or_else(|| text(&h[157..257])),
                mode: octal(&h[100..108]) as u32,
                uname: text(&h[265..297]),
                gname: text(&h[297..329]),
                mtime: octal(&h[136..148]) as i64,
                size,
                data: body,
            }),
        }
    }
    out
}

/// The expected archives of `config` (a `### NAME` block of [`EXPECTED`]) for fixture `f`:
/// archive file name → member lines.
pub fn expected(f: &Fixture, config: &str) -> Vec<(String, Vec<String>)> {
    let mut archives: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    let root = f.member_root();
    let me = if is_root() {
        "root:root".to_string()
    } else {
        let (u, g) = (
            User::from_uid(Uid::effective()).unwrap().unwrap().name,
            Group::from_gid(Gid::effective()).unwrap().unwrap().name,
        );
        format!("{u}:{g}")
    };
    for line in EXPECTED.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            inside = name == config;
        } else if !inside {
        } else if let Some(archive) = line.strip_prefix("== ") {
            archives.push((archive.replace("ROOT", &f.normalized_root()), Vec::new()));
        } else if let Some((_, lines)) = archives.last_mut() {
            let mut l = line.replace("ROOT", &root);
            if !is_root() {
                l = l.replace("root:root", &me).replace("nobody:nogroup", &me);
            }
            lines.push(l);
        }
    }
    assert!(!archives.is_empty(), "no expectation for {config}");
    archives
}

/// Member lines of an archive with the two names of a hard-linked pair made comparable: which
/// of them is stored as the file depends on the directory's listing order.
pub fn canonical(lines: &[String], pair: (&str, &str)) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| {
            let parts: Vec<&str> = l.split('|').collect();
            if parts[0].ends_with(pair.0) || parts[0].ends_with(pair.1) {
                format!("{}|hardlinked|{}|{}", parts[0], parts[3], parts[4])
            } else {
                l.clone()
            }
        })
        .collect();
    out.sort();
    out
}
