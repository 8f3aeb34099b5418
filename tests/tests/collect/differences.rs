//! The deliberate differences of collect and purge from the original, run side by side with
//! it: each test records what the original does, what cback does instead, and that
//! `doc/differences.md` lists the difference.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use cback_tests::ext::original_or_skip;

use crate::collect_support::*;

/// `doc/differences.md` says `phrase`.
fn assert_documented(phrase: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../doc/differences.md");
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(phrase),
        "{} does not list the difference ({phrase:?})",
        path.display()
    );
}

/// The members of the daily archive of `src`, relative to it, sorted.
fn archived(f: &Fixture) -> Vec<Vec<u8>> {
    let prefix = format!("{}/src/", f.member_root());
    let mut names: Vec<Vec<u8>> =
        members(&f.out().join(format!("{}-src.tar", f.normalized_root())))
            .into_iter()
            .map(|m| {
                m.name
                    .strip_prefix(&prefix)
                    .unwrap_or(&m.name)
                    .as_bytes()
                    .to_vec()
            })
            .collect();
    names.sort();
    names
}

/// The original turns every backslash of a path into `/` (its `pathJoin`), so it never finds a
/// file whose name holds one and silently leaves it out; cback backs it up.
#[test]
fn a_name_with_a_backslash_is_backed_up_where_the_original_skips_it() {
    let Some(cb3) = original_or_skip("a_name_with_a_backslash_is_backed_up") else {
        return;
    };
    let f = Fixture::empty();
    fs::create_dir_all(f.src()).unwrap();
    fs::write(f.src().join("plain"), b"p\n").unwrap();
    fs::write(
        f.src().join(std::ffi::OsStr::from_bytes(b"back\\slash")),
        b"b\n",
    )
    .unwrap();
    f.write_config(
        "<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>\
         <dir><abs_path>{ROOT}/src</abs_path></dir></collect>",
        "monday",
    );
    f.original(&cb3, "collect");
    assert_eq!(archived(&f), [b"plain".to_vec()], "the original");
    f.clear_out();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(
        archived(&f),
        [b"back\\slash".to_vec(), b"plain".to_vec()],
        "cback"
    );
    assert_documented("whose name holds a backslash");
}

/// A chain of directories emptied by one purge: the original removes only the deepest level
/// each night; cback removes the whole chain in the same run (but never the configured
/// directory itself).
#[test]
fn purge_removes_a_chain_of_emptied_directories_in_one_run() {
    let Some(cb3) = original_or_skip("purge_removes_a_chain_of_emptied_directories") else {
        return;
    };
    let config =
        "<purge><dir><abs_path>{ROOT}/p</abs_path><retain_days>5</retain_days></dir></purge>";
    // The original's ages are from the clock; cback's from noon of its pinned today.
    let today = Command::new("date").arg("+%F").output().unwrap();
    let today = String::from_utf8_lossy(&today.stdout).trim().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let tree = |f: &Fixture| {
        let deep = f.root.join("p/a/b/c");
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("old"), b"x").unwrap();
        set_mtime(&deep.join("old"), now - 30 * 86_400);
        fs::write(f.root.join("p/new"), b"x").unwrap();
    };
    let left = |f: &Fixture| {
        let mut dirs = Vec::new();
        let mut dir = f.root.join("p");
        for name in ["a", "b", "c"] {
            dir = dir.join(name);
            if dir.is_dir() {
                dirs.push(name);
            }
        }
        dirs
    };

    let f = Fixture::empty();
    tree(&f);
    f.write_config(config, "monday");
    f.original(&cb3, "purge");
    assert_eq!(left(&f), ["a", "b"], "the original, first night");
    f.original(&cb3, "purge");
    assert_eq!(left(&f), ["a"], "the original, second night");

    let f = Fixture::empty();
    tree(&f);
    f.write_config(config, "monday");
    f.cback(&today, &["purge"]).assert().success();
    assert!(left(&f).is_empty(), "cback, one run: {:?}", left(&f));
    assert!(f.root.join("p/new").is_file());
    assert_documented("removes directories it emptied in the same run");
}
