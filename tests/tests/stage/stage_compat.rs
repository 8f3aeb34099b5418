//! Side by side with the original cback3 (as a black box): for the same peers and
//! configuration, `stage` makes the same staged tree (names, contents, modes, owners as root)
//! and the same indicator files, and the rcp and rsh command lines are the same.
//!
//! The original is `CB3_BIN`, else `/tmp/cback-ci-cb3/bin/cback3` (where .ci/run installs it),
//! else `/tmp/cb3/bin/cback3`; without it these tests print SKIPPED. Both run on today's date
//! (the original has no testing hook for the day).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::stage_support::*;
use cback_tests::sshd::{self, HOSTS};

fn original() -> Option<PathBuf> {
    std::env::var_os("CB3_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            ["/tmp/cback-ci-cb3/bin/cback3", "/tmp/cb3/bin/cback3"]
                .into_iter()
                .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

fn original_or_skip(test: &str) -> Option<PathBuf> {
    let found = original();
    if found.is_none() {
        skipped(
            test,
            "the original cback3 is not installed (set CB3_BIN, or install cedar-backup3 in \
             /tmp/cb3 or /tmp/cback-ci-cb3)",
        );
    }
    found
}

/// One tool's side: its own working dir, staging dir and copies of the peers.
struct Side {
    root: PathBuf,
}

impl Side {
    fn new(base: &Path, name: &str) -> Side {
        let root = base.join(name);
        for sub in ["work", "stage", "peers"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        Side { root }
    }
    fn peer(&self, name: &str) -> PathBuf {
        self.root.join("peers").join(name)
    }
    fn fill(&self, name: &str, files: &[(&str, &[u8], u32)], ready: bool) {
        let dir = self.peer(name);
        fs::create_dir_all(&dir).unwrap();
        for (file, content, mode) in files {
            fs::write(dir.join(file), content).unwrap();
            fs::set_permissions(dir.join(file), fs::Permissions::from_mode(*mode)).unwrap();
        }
        if ready {
            fs::write(dir.join("cback.collect"), b"").unwrap();
        }
    }
    /// Both sides stage one peer at a time (`<jobs>1</jobs>`, which the original ignores), so
    /// that the calls come in the original's order.
    fn config(&self, user: &str, group: &str, options_extra: &str, peers: &str) -> PathBuf {
        let path = self.root.join("cback.conf");
        fs::write(
            &path,
            format!(
                "<?xml version=\"1.0\"?>\n<cb_config>\n<options><starting_day>monday</starting_day>\
                 <working_dir>{}</working_dir><backup_user>{user}</backup_user>\
                 <backup_group>{group}</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>\
                 {options_extra}</options>\n<stage><staging_dir>{}</staging_dir>{peers}<jobs>1</jobs></stage>\n\
                 </cb_config>\n",
                self.root.join("work").display(),
                self.root.join("stage").display()
            ),
        )
        .unwrap();
        path
    }
}

/// One entry of a tree: kind (`d` or `f`), mode bits, (uid, gid), content.
type Node = (char, u32, (u32, u32), Vec<u8>);
/// A peer's indicator: its mode bits and (uid, gid), when there is one.
type Indicator = (String, Option<(u32, (u32, u32))>);

/// Everything under `dir`: relative path -> (kind, mode, owner, content).
fn tree(dir: &Path) -> BTreeMap<String, Node> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            // cback's own record of the peers' outcomes, which the original does not write
            // (doc/differences.md); the stage tests check it.
            if entry.file_name() == "cback.stage.json" {
                continue;
            }
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let owner = (meta.uid(), meta.gid());
            if meta.is_dir() {
                out.insert(rel, ('d', meta.mode() & 0o7777, owner, Vec::new()));
                walk(base, &path, out);
            } else {
                let content = fs::read(&path).unwrap();
                out.insert(rel, ('f', meta.mode() & 0o7777, owner, content));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The indicator of each peer's collect directory: its mode and owner, if there is one.
fn indicators(side: &Side, peers: &[&str]) -> Vec<Indicator> {
    peers
        .iter()
        .map(|p| {
            let meta = fs::metadata(side.peer(p).join("cback.stage")).ok();
            (
                p.to_string(),
                meta.map(|m| (m.mode() & 0o7777, (m.uid(), m.gid()))),
            )
        })
        .collect()
}

fn run_original(original: &Path, config: &Path, log: &Path, args: &[&str]) -> i32 {
    let out = std::process::Command::new(original)
        .arg("--config")
        .arg(config)
        .arg("--logfile")
        .arg(log)
        .args(args)
        .env("LANG", "C")
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

fn run_ours(config: &Path, log: &Path, args: &[&str]) -> (i32, String) {
    let out = crate::BIN
        .cback()
        .env_remove("CEDAR_TODAY")
        .arg("--config")
        .arg(config)
        .arg("--logfile")
        .arg(log)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LOCAL_FILES: &[(&str, &[u8], u32)] = &[
    ("a b.tar", b"with a space", 0o640),
    (".hidden", b"dot file", 0o600),
    ("run.sh", b"#!/bin/sh\n", 0o755),
    ("plain.tar.gz", b"gz", 0o644),
];

#[test]
fn local_peers_stage_the_same_tree_and_indicators_as_the_original() {
    let Some(original) =
        original_or_skip("local_peers_stage_the_same_tree_and_indicators_as_the_original")
    else {
        return;
    };
    let base = tempfile::tempdir().unwrap();
    fs::set_permissions(base.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let (user, group) = if is_root() {
        ("nobody".to_string(), "nogroup".to_string())
    } else {
        backup_owner()
    };
    let sides = [
        Side::new(base.path(), "cb3"),
        Side::new(base.path(), "ours"),
    ];
    let mut configs = Vec::new();
    for side in &sides {
        side.fill("alpha", LOCAL_FILES, true);
        side.fill("beta", &[("b.tar", b"beta", 0o644)], true);
        // Not ready, failure ignored: both leave its directory empty.
        side.fill("late", &[("half.tar", b"h", 0o644)], false);
        let peers = ["alpha", "beta", "late"]
            .iter()
            .map(|p| {
                let ignore = if *p == "late" {
                    "<ignore_failures>all</ignore_failures>"
                } else {
                    ""
                };
                format!(
                    "<peer><name>{p}</name><type>local</type><collect_dir>{}</collect_dir>{ignore}</peer>",
                    side.peer(p).display()
                )
            })
            .collect::<String>();
        configs.push(side.config(&user, &group, "", &peers));
    }
    for run in 1..=2 {
        if run == 2 {
            // A changed file and a removed one before the second run of the day.
            for side in &sides {
                fs::write(side.peer("alpha").join("plain.tar.gz"), b"changed").unwrap();
                fs::remove_file(side.peer("beta").join("b.tar")).unwrap();
            }
        }
        let log = base.path().join(format!("cb3-{run}.log"));
        assert_eq!(run_original(&original, &configs[0], &log, &["stage"]), 0);
        let (code, stderr) = run_ours(&configs[1], &base.path().join("ours.log"), &["stage"]);
        assert_eq!(code, 0, "run {run}: {stderr}");
        let theirs = tree(&sides[0].root.join("stage"));
        let ours = tree(&sides[1].root.join("stage"));
        // The staging_dir itself is created by the test, the tree below it by each tool.
        assert!(theirs.len() > 8, "run {run}: {theirs:?}");
        assert_eq!(ours, theirs, "run {run}: the staged trees differ");
        let peers = ["alpha", "beta", "late"];
        assert_eq!(
            indicators(&sides[1], &peers),
            indicators(&sides[0], &peers),
            "run {run}: the peers' indicators differ"
        );
    }
}

/// A wrapper a site might put in front of scp or ssh: logs its arguments and, when run
/// through `su`, su's command line, then runs the real program.
fn write_logging_wrapper(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("calls.log");
    let wrapper = dir.join("logwrap");
    cback_tests::write_executable(
        &wrapper,
        &format!(
            "#!/bin/sh\n\
             parent=$(tr '\\000' ' ' < /proc/$PPID/cmdline)\n\
             case \"$parent\" in su\\ *) printf 'SU: %s\\n' \"$parent\" >> {log} ;; esac\n\
             printf 'ARGV:' >> {log}; for a in \"$@\"; do printf ' [%s]' \"$a\" >> {log}; done; echo >> {log}\n\
             exec \"$@\"\n",
            log = log.display()
        ),
    );
    (wrapper, log)
}

/// The logged calls with each side's own directories (and cback's copy directory and the
/// peer's own directory its indicator files pass through, its deliberate differences) replaced
/// by placeholders.
fn normalized_calls(log: &Path, side: &Path) -> Vec<String> {
    let text = fs::read_to_string(log).unwrap_or_default();
    let copy_dir = regex_lite_copy_dir();
    text.lines()
        .map(|line| {
            let line = line.replace(&side.display().to_string(), "SIDE");
            copy_dir(&line)
        })
        .collect()
}

/// Replaces `WORKING_DIR/.127.0.0.X.RANDOM/cback.` (the peer's own directory in working_dir,
/// where the original uses working_dir itself) by `WORKING_DIR/cback.`, and
/// `/.127.0.0.X.RANDOM` (cback's copy directory) by `/127.0.0.X`.
fn regex_lite_copy_dir() -> impl Fn(&str) -> String {
    |line: &str| {
        let mut out = line.to_string();
        for host in HOSTS {
            let marker = format!("/.{host}.");
            while let Some(at) = out.find(&marker) {
                let end = at + marker.len() + 6;
                let scratch = out[end..].starts_with("/cback.");
                let with = if scratch {
                    String::new()
                } else {
                    format!("/{host}")
                };
                out.replace_range(at..end, &with);
            }
        }
        out
    }
}

/// What a side-by-side run with remote peers needs: the original, the ssh server, a
/// world-traversable base directory and the two sides in it.
struct RemoteRig {
    original: PathBuf,
    server: &'static sshd::Sshd,
    base: tempfile::TempDir,
    sides: [Side; 2],
}

/// The [`RemoteRig`] of `test`; `None` (after a skip message) without the original or sshd.
fn remote_rig(test: &str) -> Option<RemoteRig> {
    let original = original_or_skip(test)?;
    let server = sshd::shared(test)?;
    let base = tempfile::tempdir().unwrap();
    fs::set_permissions(base.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let sides = [
        Side::new(base.path(), "cb3"),
        Side::new(base.path(), "ours"),
    ];
    Some(RemoteRig {
        original,
        server,
        base,
        sides,
    })
}

/// Fills the two remote peers of both sides of `rig`, stages them with the original and with
/// cback, each peer with the rcp command `rcp(SIDE_INDEX)`, and checks that both succeed with
/// the same staged tree and the same pushed indicators.
fn remote_peers_staged_alike(rig: &RemoteRig, rcp: impl Fn(usize) -> String) {
    let (user, group) = backup_owner();
    let mut configs = Vec::new();
    for (index, side) in rig.sides.iter().enumerate() {
        side.fill(HOSTS[0], LOCAL_FILES, true);
        side.fill(HOSTS[1], &[("b.tar", b"beta", 0o600)], true);
        let peers: String = HOSTS
            .iter()
            .map(|host| {
                format!(
                    "<peer><name>{host}</name><type>remote</type><collect_dir>{}</collect_dir>\
                     <backup_user>{}</backup_user><rcp_command>{}</rcp_command></peer>",
                    side.peer(host).display(),
                    sshd::login_user(),
                    rcp(index)
                )
            })
            .collect();
        configs.push(side.config(&user, &group, "", &peers));
    }
    let base = rig.base.path();
    assert_eq!(
        run_original(
            &rig.original,
            &configs[0],
            &base.join("cb3.log"),
            &["stage"]
        ),
        0
    );
    let (code, stderr) = run_ours(&configs[1], &base.join("ours.log"), &["stage"]);
    assert_eq!(code, 0, "{stderr}");
    // The original copies remote files without their hidden ones (the remote glob), and so do
    // we.
    let theirs = tree(&rig.sides[0].root.join("stage"));
    let ours = tree(&rig.sides[1].root.join("stage"));
    assert!(theirs.keys().any(|k| k.ends_with("a b.tar")), "{theirs:?}");
    assert_eq!(ours, theirs, "the staged trees differ");
    assert_eq!(
        indicators(&rig.sides[1], &HOSTS),
        indicators(&rig.sides[0], &HOSTS),
        "the pushed indicators differ"
    );
}

#[test]
fn remote_peers_give_the_same_tree_and_command_lines_as_the_original() {
    let Some(rig) = remote_rig("remote_peers_give_the_same_tree_and_command_lines_as_the_original")
    else {
        return;
    };
    let wrappers: Vec<(PathBuf, PathBuf)> = rig
        .sides
        .iter()
        .map(|side| write_logging_wrapper(&side.root))
        .collect();
    remote_peers_staged_alike(&rig, |index| {
        format!(
            "{} {}",
            wrappers[index].0.display(),
            rig.server.rcp_command()
        )
    });
    let theirs = normalized_calls(&wrappers[0].1, &rig.sides[0].root);
    let ours = normalized_calls(&wrappers[1].1, &rig.sides[1].root);
    assert!(theirs.len() >= 6, "{theirs:?}");
    assert_eq!(ours, theirs, "the rcp command lines differ");
}

/// rsync as the rcp command (doc/stage.md): the original runs it in the same three calls, and
/// stages the same tree and pushes the same indicators as cback.
#[test]
fn remote_peers_staged_with_rsync_give_the_same_tree_as_the_original() {
    let test = "remote_peers_staged_with_rsync_give_the_same_tree_as_the_original";
    let Some(rig) = remote_rig(test) else {
        return;
    };
    let Some(rsync) = sshd::rsync(test) else {
        return;
    };
    remote_peers_staged_alike(&rig, |_| rig.server.rsync_rcp_command(&rsync));
}

#[test]
fn managed_calls_have_the_same_command_lines_as_the_original() {
    let test = "managed_calls_have_the_same_command_lines_as_the_original";
    let Some(original) = original_or_skip(test) else {
        return;
    };
    let Some(server) = sshd::shared(test) else {
        return;
    };
    let base = tempfile::tempdir().unwrap();
    let (user, group) = backup_owner();
    let sides = [
        Side::new(base.path(), "cb3"),
        Side::new(base.path(), "ours"),
    ];
    let mut configs = Vec::new();
    let mut logs = Vec::new();
    for side in &sides {
        let (wrapper, log) = write_logging_wrapper(&side.root);
        let peers: String = HOSTS
            .iter()
            .map(|host| {
                format!(
                    "<peer><name>{host}</name><type>remote</type><collect_dir>{}</collect_dir>\
                     <backup_user>{}</backup_user><rsh_command>{} {}</rsh_command>\
                     <cback_command>/bin/echo remote cback</cback_command><managed>Y</managed>\
                     <managed_actions>collect,purge</managed_actions></peer>",
                    side.peer(host).display(),
                    sshd::login_user(),
                    wrapper.display(),
                    server.rsh_command()
                )
            })
            .collect();
        let path = side.root.join("cback.conf");
        let text = fs::read_to_string(side.config(&user, &group, "", ""))
            .unwrap()
            .replace("<stage>", &format!("<peers>{peers}</peers><stage>"));
        fs::write(&path, text).unwrap();
        configs.push(path);
        logs.push(log);
    }
    let args = ["--full", "--managed-only", "purge", "collect"];
    assert_eq!(
        run_original(&original, &configs[0], &base.path().join("cb3.log"), &args),
        0
    );
    let (code, stderr) = run_ours(&configs[1], &base.path().join("ours.log"), &args);
    assert_eq!(code, 0, "{stderr}");
    let theirs = normalized_calls(&logs[0], &sides[0].root);
    let ours = normalized_calls(&logs[1], &sides[1].root);
    assert!(theirs.len() >= 4, "{theirs:?}");
    assert!(
        theirs
            .iter()
            .any(|l| l.contains("[/bin/echo remote cback --full collect]")),
        "{theirs:?}"
    );
    assert_eq!(ours, theirs, "the rsh command lines differ");
}

/// A remote collect directory holding a subdirectory: scp (without `-r`) copies the files and
/// fails on the directory. The original logs an ERROR and exits 0; cback fails the peer (exit
/// 6), and the staged tree is the original's: what the copy brought, `cback.collect` included.
#[test]
fn a_failed_remote_copy_stages_the_same_tree_as_the_original() {
    let Some(RemoteRig {
        original,
        server,
        base,
        sides,
    }) = remote_rig("a_failed_remote_copy_stages_the_same_tree_as_the_original")
    else {
        return;
    };
    let (user, group) = backup_owner();
    let mut configs = Vec::new();
    for side in &sides {
        side.fill(HOSTS[1], &[("b.tar", b"beta", 0o640)], true);
        let nested = side.peer(HOSTS[1]).join("nested");
        fs::create_dir(&nested).unwrap();
        fs::write(nested.join("inner"), b"i").unwrap();
        let peer = format!(
            "<peer><name>{}</name><type>remote</type><collect_dir>{}</collect_dir>\
             <backup_user>{}</backup_user><rcp_command>{}</rcp_command></peer>",
            HOSTS[1],
            side.peer(HOSTS[1]).display(),
            sshd::login_user(),
            server.rcp_command()
        );
        configs.push(side.config(&user, &group, "", &peer));
    }
    let theirs_code = run_original(
        &original,
        &configs[0],
        &base.path().join("cb3.log"),
        &["stage"],
    );
    assert_eq!(theirs_code, 0, "the original only logs the failed copy");
    let (code, stderr) = run_ours(&configs[1], &base.path().join("ours.log"), &["stage"]);
    assert_eq!(code, 6, "{stderr}");
    let theirs = tree(&sides[0].root.join("stage"));
    let ours = tree(&sides[1].root.join("stage"));
    assert!(
        theirs.keys().any(|k| k.ends_with("/cback.collect")),
        "{theirs:?}"
    );
    assert_eq!(ours, theirs, "the staged trees differ");
    assert_eq!(
        indicators(&sides[1], &[HOSTS[1]]),
        indicators(&sides[0], &[HOSTS[1]]),
        "the pushed indicators differ"
    );
}
