//! End-to-end: exclusions select what the original selects. The expected member lists were
//! recorded by running the original (cback3 3.12, Python 3.11) on the same trees.

use std::fs;

use crate::collect_support::*;

fn write_files(f: &Fixture, names: &[&str]) {
    for name in names {
        let path = f.src().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"x\n").unwrap();
    }
}

fn config(f: &Fixture, abs_path: &str, exclude: &str) {
    f.write_config(
        &format!(
            "<collect><collect_dir>{{ROOT}}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{abs_path}</abs_path><exclude>{exclude}</exclude></dir></collect>"
        ),
        "monday",
    );
}

/// The archives in `out` with their members, names relative to the fixture root (archive
/// order depends on the file system's listing order, so members are sorted).
fn archives(f: &Fixture) -> Vec<(String, Vec<String>)> {
    let root = f.member_root();
    let normalized = f.normalized_root();
    f.out_files()
        .into_iter()
        .filter(|n| n.contains(".tar"))
        .map(|n| {
            let mut names: Vec<String> = members(&f.out().join(&n))
                .into_iter()
                .map(|m| m.name.replacen(&root, "ROOT", 1))
                .collect();
            names.sort();
            (n.replacen(&normalized, "ROOT", 1), names)
        })
        .collect()
}

fn expect(f: &Fixture, archive: &str, members: &[&str]) {
    let mut want: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    want.sort();
    assert_eq!(
        archives(f),
        vec![(archive.to_string(), want)],
        "{}",
        f.log_text()
    );
}

/// Python's syntax and the original's anchoring (`^PATTERN$` with `re.match`): a negative
/// look-ahead, a back-reference, a first alternative that only has to match a prefix, and a
/// `$` that also matches before a final line feed.
#[test]
fn patterns_select_what_the_original_selects() {
    let f = Fixture::empty();
    write_files(
        &f,
        &[
            "a.tmp",
            "keep.tmp",
            "keepme.tmp",
            "b.txt",
            "d1/x.tmp",
            "d1/keep.tmp",
            "d1/sub/y.tmp",
            "keepdir.tmp/z",
            "other.tmp/z",
            "pre/dA/f",
            "pre/dB/f",
            "pre/e/f",
            "nl/new",
            "nl/new\n",
            "nl/newer",
            "br/aa",
            "br/ab",
        ],
    );
    config(
        &f,
        "{ROOT}/src",
        r"<pattern>.*/(?!keep)[^/]*\.tmp</pattern><pattern>{ROOT}/src/pre/d|nothing</pattern><pattern>.*/nl/new</pattern><pattern>.*/br/(.)\1</pattern>",
    );
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    expect(
        &f,
        "ROOT-src.tar",
        &[
            "ROOT/src/b.txt",
            "ROOT/src/br/ab",
            "ROOT/src/d1/keep.tmp",
            "ROOT/src/keep.tmp",
            "ROOT/src/keepdir.tmp/z",
            "ROOT/src/keepme.tmp",
            "ROOT/src/nl/newer",
            "ROOT/src/pre/e/f",
        ],
    );
}

/// `<abs_path>` and `<rel_path>` exclusions are compared with the path text as the original
/// builds it, not as parsed paths.
#[test]
fn exclusion_paths_are_compared_as_text() {
    let dirs = ["d1/f", "d2/f", "d3/f", "d4/f", "d5/f", "d6/f"];
    let f = Fixture::empty();
    write_files(&f, &dirs);
    config(
        &f,
        "{ROOT}/src",
        "<abs_path>{ROOT}/src/d1/</abs_path><abs_path>{ROOT}/src//d2</abs_path><rel_path>./d3</rel_path><rel_path>d4/</rel_path><rel_path>/d5</rel_path><abs_path>{ROOT}/src/./d6</abs_path>",
    );
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    expect(
        &f,
        "ROOT-src.tar",
        &[
            "ROOT/src/d1/f",
            "ROOT/src/d2/f",
            "ROOT/src/d3/f",
            "ROOT/src/d4/f",
            "ROOT/src/d5/f",
            "ROOT/src/d6/f",
        ],
    );

    // The entry's own text is the start of every path below it.
    let f = Fixture::empty();
    write_files(&f, &dirs);
    config(
        &f,
        "{ROOT}//src",
        "<abs_path>{ROOT}/src/d1</abs_path><rel_path>d2</rel_path><abs_path>{ROOT}//src/d3</abs_path>",
    );
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    expect(
        &f,
        "ROOT--src.tar",
        &[
            "ROOT//src/d1/f",
            "ROOT//src/d4/f",
            "ROOT//src/d5/f",
            "ROOT//src/d6/f",
        ],
    );

    let f = Fixture::empty();
    write_files(&f, &dirs);
    config(
        &f,
        "{ROOT}/src/",
        "<abs_path>{ROOT}/src/d1</abs_path><rel_path>d2</rel_path><abs_path>{ROOT}/src//d3</abs_path>",
    );
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    expect(
        &f,
        "ROOT-src-.tar",
        &[
            "ROOT/src/d3/f",
            "ROOT/src/d4/f",
            "ROOT/src/d5/f",
            "ROOT/src/d6/f",
        ],
    );
}

/// A pattern that Python accepts but cback cannot match is refused when the configuration is
/// read (exit 4), naming it, rather than failing every collect.
#[test]
fn a_pattern_cback_cannot_match_is_a_configuration_error() {
    let f = Fixture::empty();
    write_files(&f, &["a"]);
    config(
        &f,
        "{ROOT}/src",
        r"<pattern>.*/\N{LATIN SMALL LETTER A}</pattern>",
    );
    f.cback(WEDNESDAY, &["collect"]).assert().failure().code(4);
    let log = f.log_text();
    assert!(
        log.contains(r"`.*/\N{LATIN SMALL LETTER A}`") && log.contains("named character"),
        "{log}"
    );
    assert!(f.out_files().is_empty(), "{:?}", f.out_files());
}

/// Leading global flags apply to the whole pattern. Here cback differs from the original on
/// purpose: Python 3.11 refuses `(?i)` once the original puts `^` in front of the pattern, so
/// the original fails every collect of such a configuration (exit 6).
#[test]
fn leading_global_flags_apply_to_the_whole_pattern() {
    let f = Fixture::empty();
    write_files(&f, &["x.TMP", "y.tmp", "z.txt"]);
    config(&f, "{ROOT}/src", r"<pattern>(?i).*\.tmp</pattern>");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    expect(&f, "ROOT-src.tar", &["ROOT/src/z.txt"]);
}
