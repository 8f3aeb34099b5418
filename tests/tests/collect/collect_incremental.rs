//! End-to-end: the incremental collect (collect_mode incr) and its bookkeeping in working_dir:
//! a working_dir that cannot hold the temporary files, files and state files that cannot be
//! read, an entry whose normalized name repeats, an interrupt, and state files exchanged with
//! the original (its Python `pickle`, and its `cback3` when installed).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::collect_support::*;

/// The collect section of the incremental entries used here: `{ROOT}/src`, plain tar.
const INCR: &str = "<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>incr</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{ROOT}/src</abs_path></dir></collect>";

/// A starting day that is neither today (by the clock, for the original, which cannot be
/// pinned) nor [`WEDNESDAY`] (the day our runs are pinned to), so that no run resets the state.
fn ordinary_starting_day() -> String {
    let today = Command::new("date")
        .arg("+%A")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_lowercase())
        .unwrap_or_default();
    ["friday", "saturday", "sunday"]
        .into_iter()
        .find(|d| *d != today)
        .unwrap()
        .to_string()
}

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// A small world-readable tree: `src/a`, `src/b`, `src/dir/c`, and `src/link -> a`.
fn small_tree(f: &Fixture) {
    let src = f.src();
    write(&src.join("a"), b"a\n");
    write(&src.join("b"), b"b\n");
    write(&src.join("dir/c"), b"c\n");
    std::os::unix::fs::symlink("a", src.join("link")).unwrap();
}

/// A tree with the names that test a pickle: spaces, a newline, a carriage return, a
/// backslash, `\x1a`, non-ASCII and non-BMP characters, bytes that are not UTF-8, and a long
/// name; plus a link (always archived).
fn odd_tree(f: &Fixture) {
    odd_tree_but(f, b"");
}

/// [`odd_tree`] without the file named `skip`.
fn odd_tree_but(f: &Fixture, skip: &[u8]) {
    let src = f.src();
    let names: Vec<Vec<u8>> = vec![
        b"plain".to_vec(),
        b"with space".to_vec(),
        b"new\nline".to_vec(),
        b"cr\rname".to_vec(),
        b"back\\slash".to_vec(),
        b"sub\x1aname".to_vec(),
        b"colon:name".to_vec(),
        "\u{fc}n\u{ef} \u{20ac}".as_bytes().to_vec(),
        "clef \u{1d11e}".as_bytes().to_vec(),
        b"bad\xff\xfe".to_vec(),
        b"latin\xe9".to_vec(),
        "l".repeat(200).into_bytes(),
        b"dir/inner".to_vec(),
        b"dir/deeper/x".to_vec(),
    ];
    for (i, name) in names.iter().enumerate() {
        if name.as_slice() == skip {
            continue;
        }
        let path = src.join(OsStr::from_bytes(name));
        write(&path, format!("content {i}\n").as_bytes());
    }
    std::os::unix::fs::symlink("plain", src.join("link")).unwrap();
}

/// The digest file of the entry `{ROOT}/src`.
fn state_path(f: &Fixture) -> PathBuf {
    f.work().join(format!("{}-src.sha", f.normalized_root()))
}

/// The archive of the entry `{ROOT}/src`.
fn archive_path(f: &Fixture) -> PathBuf {
    f.out().join(format!("{}-src.tar", f.normalized_root()))
}

/// The members of the entry's archive, relative to `src` (`name@` for a link), sorted; empty
/// when there is no archive.
fn archived(f: &Fixture) -> Vec<String> {
    let path = archive_path(f);
    if !path.exists() {
        return Vec::new();
    }
    let prefix = format!("{}/src/", f.member_root());
    let mut names: Vec<String> = members(&path)
        .into_iter()
        .map(|m| {
            let name = m.name.strip_prefix(&prefix).unwrap_or(&m.name).to_string();
            if m.typeflag == '2' {
                format!("{name}@")
            } else {
                name
            }
        })
        .collect();
    names.sort();
    names
}

/// Temporary digest files left in working_dir.
fn digest_temporaries(f: &Fixture) -> Vec<String> {
    fs::read_dir(f.work())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cback-digest-"))
        .collect()
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs the spawned command, killing it after `limit` (a hang fails the test).
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("cback did not finish within {limit:?}: {out:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cback` as a user whom permissions bind: `nobody` when we are root (the fixture is
/// handed to it), else ourselves.
struct Runner {
    bin: PathBuf,
    as_nobody: bool,
}

impl Runner {
    fn new(f: &Fixture) -> Runner {
        if !is_root() {
            return Runner {
                bin: crate::BIN.cback_path().to_path_buf(),
                as_nobody: false,
            };
        }
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        for dir in [f.root.clone(), f.out(), f.work()] {
            nix::unistd::chown(&dir, Some(nobody.uid), None).unwrap();
        }
        // A copy nobody can execute wherever the build directory lives.
        let bin = f.root.join("cback");
        crate::BIN.cback_copy(&bin);
        Runner {
            bin,
            as_nobody: true,
        }
    }

    fn run(&self, f: &Fixture, args: &[&str]) -> Output {
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        cmd.env_remove("CEDAR_LOG")
            .env("LANG", "C")
            .env("CEDAR_TODAY", WEDNESDAY)
            .arg("--config")
            .arg(f.config_path())
            .arg("--logfile")
            .arg(f.log())
            .args(args);
        output_within(cmd, Duration::from_secs(60))
    }
}

fn ours(f: &Fixture, args: &[&str]) -> Output {
    let mut cmd = Command::new(crate::BIN.cback_path());
    cmd.env_remove("CEDAR_LOG")
        .env("LANG", "C")
        .env("CEDAR_TODAY", WEDNESDAY)
        .arg("--config")
        .arg(f.config_path())
        .arg("--logfile")
        .arg(f.log())
        .args(args);
    output_within(cmd, Duration::from_secs(60))
}

fn assert_success(out: &Output, f: &Fixture) {
    assert!(out.status.success(), "{out:?}\nlog:\n{}", f.log_text());
}

/// (a) A working_dir in which no temporary file can be made fails the entry with an error
/// naming it (exit 6, the status of a failed action), leaves no archive and does not advance
/// the state; once it is writable again, the next run archives the same changes.
#[test]
fn a_read_only_working_dir_fails_the_entry_and_the_next_run_archives_the_changes() {
    let f = Fixture::empty();
    small_tree(&f);
    f.write_config(INCR, &ordinary_starting_day());
    let runner = Runner::new(&f);
    let out = runner.run(&f, &["collect"]);
    assert_success(&out, &f);
    assert_eq!(archived(&f), ["a", "b", "dir/c", "link@"]);
    let state = fs::read(state_path(&f)).unwrap();

    f.clear_out();
    write(&f.src().join("a"), b"changed\n");
    write(&f.src().join("dir/new"), b"new\n");
    // The lock file exists from the first run: only the bookkeeping needs a new file.
    set_mode(&f.work(), 0o555);
    let out = runner.run(&f, &["collect"]);
    set_mode(&f.work(), 0o755);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let wanted = format!(
        "cannot keep the incremental bookkeeping in the working_dir {}",
        f.work().display()
    );
    assert!(stderr.contains(&wanted), "{stderr}");
    assert!(f.log_text().contains(&wanted), "{}", f.log_text());
    assert!(
        f.out_files().is_empty(),
        "no archive (final or partial), no indicator: {:?}",
        f.out_files()
    );
    assert_eq!(
        fs::read(state_path(&f)).unwrap(),
        state,
        "the state was advanced"
    );
    assert!(digest_temporaries(&f).is_empty());

    let out = runner.run(&f, &["collect"]);
    assert_success(&out, &f);
    assert_eq!(
        archived(&f),
        ["a", "dir/new", "link@"],
        "the changes of the failed run are archived"
    );
}

/// Mounts a tmpfs of `size` at `dir` (root only); false when that is not possible here.
fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    is_root()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Unmounts `dir` when dropped, whatever the test's outcome.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// (a) A full working_dir: the walk log cannot be written while the walk still sends (more
/// items than the walker's channel holds). The run ends, with an error naming working_dir, no
/// archive and the state not advanced; the next run archives the changes.
#[test]
fn a_full_working_dir_fails_the_entry_without_a_hang() {
    let f = Fixture::empty();
    small_tree(&f);
    f.write_config(INCR, &ordinary_starting_day());
    assert_success(&ours(&f, &["collect"]), &f);
    let state = fs::read(state_path(&f)).unwrap();
    // 6000 new files with long names: a walk log of about 700 kB.
    let many = f.src().join("many");
    fs::create_dir_all(&many).unwrap();
    for i in 0..6000 {
        fs::write(many.join(format!("{i:05}-{}", "n".repeat(80))), b"x").unwrap();
    }
    f.clear_out();
    // A 128 kB working_dir holding the lock file and the state of the first run.
    let saved = f.root.join("work-saved");
    fs::rename(f.work(), &saved).unwrap();
    fs::create_dir(f.work()).unwrap();
    if !mount_tmpfs(&f.work(), "128k") {
        skipped(
            "a_full_working_dir_fails_the_entry_without_a_hang",
            "cannot mount a small tmpfs here (needs root)",
        );
        return;
    }
    let mounted = Mounted(f.work());
    for entry in fs::read_dir(&saved).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), f.work().join(entry.file_name())).unwrap();
    }
    let out = ours(&f, &["collect"]);
    let temporaries = digest_temporaries(&f);
    let state_after = fs::read(state_path(&f)).unwrap();
    drop(mounted);
    fs::remove_dir(f.work()).unwrap();
    fs::rename(&saved, f.work()).unwrap();
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot keep the incremental bookkeeping in the working_dir {}",
            f.work().display()
        )) && stderr.contains("No space left on device"),
        "{stderr}"
    );
    assert!(f.out_files().is_empty(), "{:?}", f.out_files());
    assert_eq!(state_after, state, "the state was advanced");
    assert!(temporaries.is_empty(), "{temporaries:?}");

    assert_success(&ours(&f, &["collect"]), &f);
    let names = archived(&f);
    assert_eq!(names.len(), 6001, "every new file and the link");
    assert!(names.iter().all(|n| n.starts_with("many/") || n == "link@"));
}

/// (c) A file that cannot be read is named, the others' changes are archived, and the run
/// fails (exit 6, no indicator), so its state is not advanced (issue #4): once the file is
/// readable, the next run archives it with the changes of the failed run.
#[test]
fn an_unreadable_file_is_named_and_the_changes_are_archived_again_once_it_is_readable() {
    let f = Fixture::empty();
    small_tree(&f);
    f.write_config(INCR, &ordinary_starting_day());
    let runner = Runner::new(&f);
    assert_success(&runner.run(&f, &["collect"]), &f);
    let state = fs::read(state_path(&f)).unwrap();

    f.clear_out();
    write(&f.src().join("a"), b"changed a\n");
    write(&f.src().join("b"), b"changed b\n");
    set_mode(&f.src().join("b"), 0o000);
    let out = runner.run(&f, &["collect"]);
    set_mode(&f.src().join("b"), 0o644);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let b = f.src().join("b").display().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not be read") && stderr.contains(&b),
        "{stderr}"
    );
    assert_eq!(archived(&f), ["a", "link@"], "the readable changes");
    assert!(!f.out().join("cback.collect").exists());
    assert_eq!(fs::read(state_path(&f)).unwrap(), state, "state advanced");
    assert!(digest_temporaries(&f).is_empty());

    f.clear_out();
    assert_success(&runner.run(&f, &["collect"]), &f);
    assert_eq!(archived(&f), ["a", "b", "link@"]);
    f.clear_out();
    assert_success(&runner.run(&f, &["collect"]), &f);
    assert_eq!(archived(&f), ["link@"], "the state holds every file now");
}

/// A state file that cannot be read is logged as an error and taken as empty: the entry is
/// archived in full, the run succeeds and replaces the state.
#[test]
fn an_unreadable_state_file_is_logged_and_taken_as_empty() {
    let f = Fixture::empty();
    small_tree(&f);
    f.write_config(INCR, &ordinary_starting_day());
    let runner = Runner::new(&f);
    assert_success(&runner.run(&f, &["collect"]), &f);
    set_mode(&state_path(&f), 0o000);
    f.clear_out();
    assert_success(&runner.run(&f, &["collect"]), &f);
    assert_eq!(archived(&f), ["a", "b", "dir/c", "link@"]);
    let log = f.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("Failed loading digest"))
        .unwrap_or_else(|| panic!("not logged:\n{log}"));
    assert!(
        line.contains("ERROR") && line.contains(&state_path(&f).display().to_string()),
        "{line}"
    );
    f.clear_out();
    assert_success(&runner.run(&f, &["collect"]), &f);
    assert_eq!(archived(&f), ["link@"], "the state was replaced");
}

/// Two entries of one run with the same normalized name (`a b` and `a_b`): the second reads
/// the first's new state, not the file on disk, as the original does (it writes each entry's
/// state before the next entry). So both are archived in full in every run, and the archive
/// and the state are the second entry's.
#[test]
fn an_entry_whose_normalized_name_repeats_reads_the_earlier_entrys_new_state() {
    let f = Fixture::empty();
    write(&f.root.join("a b/x"), b"x\n");
    write(&f.root.join("a_b/y"), b"y\n");
    write(&f.root.join("a_b/z"), b"z\n");
    f.write_config(
        "<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>incr</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{ROOT}/a b</abs_path></dir><dir><abs_path>{ROOT}/a_b</abs_path></dir></collect>",
        &ordinary_starting_day(),
    );
    let archive = f.out().join(format!("{}-a_b.tar", f.normalized_root()));
    for run in 0..2 {
        f.clear_out();
        assert_success(&ours(&f, &["collect"]), &f);
        let mut names: Vec<String> = members(&archive)
            .into_iter()
            .map(|m| m.name.replacen(&f.member_root(), "", 1))
            .collect();
        names.sort();
        assert_eq!(names, ["/a_b/y", "/a_b/z"], "run {run}");
        let log = f.log_text();
        assert!(
            log.contains(&format!("Backing up 2 files in [{}/a_b]", f.root.display())),
            "run {run}: {log}"
        );
    }
}

/// An interrupt (SIGINT) while the files are hashed ends the run with status 5, without an
/// archive under its final name, without a temporary file, and without advancing the state.
#[test]
fn an_interrupt_while_hashing_leaves_no_archive_and_no_state() {
    let f = Fixture::empty();
    small_tree(&f);
    f.write_config(INCR, &ordinary_starting_day());
    assert_success(&ours(&f, &["collect"]), &f);
    let state = fs::read(state_path(&f)).unwrap();
    f.clear_out();
    write(&f.src().join("a"), b"changed\n");
    // Sparse files that take a while to hash: the signal comes while they are hashed (or,
    // on a very fast machine, while they are archived); either way the run is interrupted.
    // (The hashers look at the flag between files: small enough files stop them soon.)
    for i in 0..64 {
        let big = fs::File::create(f.src().join(format!("big{i:02}"))).unwrap();
        big.set_len(16 << 20).unwrap();
    }
    let mut child = f.spawn(WEDNESDAY, &["collect"], Stdio::piped());
    std::thread::sleep(Duration::from_millis(400));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let finished_early = child.try_wait().unwrap().is_some();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("cback did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!finished_early, "the run ended before the signal");
    assert_eq!(status.code(), Some(5), "{}", f.log_text());
    assert!(f.out_files().is_empty(), "{:?}", f.out_files());
    assert_eq!(fs::read(state_path(&f)).unwrap(), state);
    assert!(digest_temporaries(&f).is_empty());
}

/// The Python of the original: `CB3_PYTHON`, else `/tmp/cb3c/bin/python`.
fn cb3_python(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("CB3_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/cb3c/bin/python"));
    if python.is_file() {
        Some(python)
    } else {
        eprintln!(
            "SKIPPED {test}: the original's python is not at {} (set CB3_PYTHON)",
            python.display()
        );
        None
    }
}

/// Python that computes `want`, the state the tree `root` should have: the SHA-1 of every
/// regular file below it (links not followed), keyed by its path as the original keys it.
const PY_WANT: &str = r#"
import hashlib, os, pickle, sys
root = sys.argv[2]
want = {}
for dirpath, dirs, files in os.walk(root):
    for name in files:
        path = os.path.join(dirpath, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                want[path] = hashlib.sha1(f.read()).hexdigest()
"#;

fn python(python: &Path, script: &str, args: &[&Path]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (b) The state we write is a protocol 0 pickle that the original's Python loads into the
/// dict the original would have written.
#[test]
fn our_state_is_loaded_by_the_originals_python_as_the_same_dict() {
    let Some(py) = cb3_python("our_state_is_loaded_by_the_originals_python_as_the_same_dict")
    else {
        return;
    };
    let f = Fixture::empty();
    odd_tree(&f);
    f.write_config(INCR, &ordinary_starting_day());
    assert_success(&ours(&f, &["collect"]), &f);
    let data = fs::read(state_path(&f)).unwrap();
    assert!(data.starts_with(b"(dp0\nV"), "protocol 0 as the original");
    let check = format!(
        "{PY_WANT}
with open(sys.argv[1], 'rb') as f:
    got = pickle.load(f, fix_imports=True)
assert type(got) is dict, type(got)
for k in sorted(set(got) | set(want)):
    if got.get(k) != want.get(k):
        print('DIFF', ascii(k), got.get(k), want.get(k))
print('ENTRIES', len(got))
"
    );
    let out = python(&py, &check, &[&state_path(&f), &f.src()]);
    assert!(!out.contains("DIFF"), "{out}");
    assert!(out.contains("ENTRIES 14"), "{out}");
}

/// (b) A state the original's Python wrote (protocol 0, as the original does, and the binary
/// protocols) is honoured: nothing unchanged is archived, only the link.
#[test]
fn a_state_written_by_the_originals_python_is_honoured() {
    let Some(py) = cb3_python("a_state_written_by_the_originals_python_is_honoured") else {
        return;
    };
    for protocol in [0, 2, 4] {
        let f = Fixture::empty();
        odd_tree(&f);
        f.write_config(INCR, &ordinary_starting_day());
        let dump = format!(
            "{PY_WANT}
with open(sys.argv[1], 'wb') as f:
    pickle.dump(want, f, {protocol})
print('ENTRIES', len(want))
"
        );
        let out = python(&py, &dump, &[&state_path(&f), &f.src()]);
        assert!(out.contains("ENTRIES 14"), "{out}");
        assert_success(&ours(&f, &["collect"]), &f);
        assert_eq!(archived(&f), ["link@"], "protocol {protocol}");
        assert!(
            !f.log_text().contains("Failed loading digest"),
            "protocol {protocol}: {}",
            f.log_text()
        );
        // A change is still seen.
        f.clear_out();
        write(&f.src().join("bad\u{e9}x"), b"new\n");
        write(
            &f.src().join(OsStr::from_bytes(b"bad\xff\xfe")),
            b"changed\n",
        );
        assert_success(&ours(&f, &["collect"]), &f);
        let mut want = vec![
            String::from_utf8_lossy(b"bad\xff\xfe").into_owned(),
            "bad\u{e9}x".to_string(),
            "link@".to_string(),
        ];
        want.sort();
        assert_eq!(archived(&f), want, "protocol {protocol}");
    }
}

/// The original's `cback3`: `CB3_BIN`, else `/tmp/cb3c/bin/cback3`.
fn cb3_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("CB3_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/cb3c/bin/cback3"));
    bin.is_file().then_some(bin)
}

/// (b) Either program's incremental collect continues from the other's state: a site can
/// switch in both directions without a surprise full backup or a lost change.
#[test]
fn the_original_and_we_continue_from_each_others_state() {
    let Some(cb3) = cb3_bin() else {
        skipped(
            "the_original_and_we_continue_from_each_others_state",
            "the original cback3 is not installed (set CB3_BIN)",
        );
        return;
    };
    let f = Fixture::empty();
    // The original turns every backslash of a path into `/` (its `pathJoin`), so it never finds
    // (and never backs up) a file whose name holds one: leave that one out (a deliberate
    // difference, recorded by `differences.rs`).
    odd_tree_but(&f, b"back\\slash");
    f.write_config(INCR, &ordinary_starting_day());
    assert_success(&ours(&f, &["collect"]), &f);
    assert_eq!(archived(&f).len(), 14, "first run: every file and the link");

    f.clear_out();
    f.original(&cb3, "collect");
    assert_eq!(archived(&f), ["link@"], "the original on our state");

    f.clear_out();
    write(&f.src().join("new\nline"), b"changed\n");
    f.original(&cb3, "collect");
    assert_eq!(
        archived(&f),
        ["link@", "new\nline"],
        "the original sees a change"
    );

    f.clear_out();
    assert_success(&ours(&f, &["collect"]), &f);
    assert_eq!(archived(&f), ["link@"], "we on the original's state");

    f.clear_out();
    write(
        &f.src().join(OsStr::from_bytes(b"bad\xff\xfe")),
        b"changed\n",
    );
    assert_success(&ours(&f, &["collect"]), &f);
    let mut want = vec![
        String::from_utf8_lossy(b"bad\xff\xfe").into_owned(),
        "link@".to_string(),
    ];
    want.sort();
    assert_eq!(archived(&f), want);

    f.clear_out();
    f.original(&cb3, "collect");
    assert_eq!(archived(&f), ["link@"], "the original on our state again");
}

/// Every incremental entry keeps its new state on disk until the run succeeds; none may keep a
/// file open for it until then. A directory split into 100 entries (recursion_level 1) is
/// collected with at most 40 open files.
#[test]
fn many_split_off_incremental_entries_do_not_hold_a_file_open_each() {
    let f = Fixture::empty();
    for i in 0..100 {
        write(
            &f.src().join(format!("d{i:03}/f")),
            format!("{i}\n").as_bytes(),
        );
    }
    f.write_config(
        "<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>incr</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{ROOT}/src</abs_path><recursion_level>1</recursion_level></dir></collect>",
        &ordinary_starting_day(),
    );
    let limited = |f: &Fixture| {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"ulimit -n 40 && exec "$0" "$@""#)
            .arg(crate::BIN.cback_path())
            .env_remove("CEDAR_LOG")
            .env("LANG", "C")
            .env("CEDAR_TODAY", WEDNESDAY)
            .arg("--config")
            .arg(f.config_path())
            .arg("--logfile")
            .arg(f.log())
            .arg("collect");
        output_within(cmd, Duration::from_secs(60))
    };
    let out = limited(&f);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archives = f.out_files().iter().filter(|n| n.ends_with(".tar")).count();
    assert_eq!(archives, 100);
    let states = fs::read_dir(f.work())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sha")
        })
        .count();
    // And the parent's, collected last with what is left.
    assert_eq!(states, 101, "every entry's state is in place");
    f.clear_out();
    let out = limited(&f);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(f.out_files(), ["cback.collect"], "nothing changed");
}

#[test]
fn the_state_file_belongs_to_the_backup_user_with_the_originals_mode() {
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::empty();
    small_tree(&f);
    f.write_config(INCR, &ordinary_starting_day());
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    let state = f.work().join(format!("{}-src.sha", f.normalized_root()));
    let meta = fs::metadata(&state).unwrap();
    // The original opens it with Python's default mode (0666 less the umask).
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    nix::sys::stat::umask(old);
    assert_eq!(
        meta.mode() & 0o777,
        0o666 & !old.bits(),
        "mode of {}",
        state.display()
    );
    if is_root() {
        let (user, group) = backup_owner();
        let uid = nix::unistd::User::from_name(&user).unwrap().unwrap().uid;
        let gid = nix::unistd::Group::from_name(&group).unwrap().unwrap().gid;
        assert_eq!(
            (meta.uid(), meta.gid()),
            (uid.as_raw(), gid.as_raw()),
            "chowned like the original"
        );
    } else {
        skipped(
            "the_state_file_belongs_to_the_backup_user_with_the_originals_mode (owner part)",
            "not running as root",
        );
    }
}
