use super::*;

#[rustfmt::skip]
#[path = "python_cases.rs"]
mod python_cases;

use python_cases::{CASES, PATHS};

#[test]
fn matches_as_python_matches_the_originals_anchored_pattern() {
    let mut wrong = Vec::new();
    for (pattern, expected) in CASES {
        let compiled = match ExcludePattern::new(pattern) {
            Ok(c) => c,
            Err(err) => {
                wrong.push(format!("{pattern:?}: {err}"));
                continue;
            }
        };
        for (path, want) in PATHS.iter().zip(expected.chars()) {
            let got = compiled.is_match(path);
            if got != (want == '1') {
                wrong.push(format!(
                    "{pattern:?} ({}) on {path:?}: python {want}, ours {}",
                    compiled.translated(),
                    u8::from(got)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn ordinary_patterns_need_no_backtracking() {
    // fancy-regex hands these to the regex crate's automata; a look-around or back-reference
    // would make them run on the backtracking engine.
    for pattern in [
        r".*\.tmp",
        r".*\.tmp$",
        r"/home/[^/]+/\.cache",
        r"/a|/b$",
        r".*/(cache|tmp)/.*",
        r"(?i).*\.(jpg|png)",
    ] {
        let translated = ExcludePattern::new(pattern)
            .unwrap()
            .translated()
            .to_string();
        assert!(
            !translated.contains("(?=") && !translated.contains("(?!"),
            "{pattern}: {translated}"
        );
    }
}

#[test]
fn what_python_rejects_is_invalid() {
    for pattern in ["(unclosed", "[z-a]", "a**", "\\p{L}", "(?<n>a)"] {
        let err = ExcludePattern::new(pattern).unwrap_err();
        assert!(
            matches!(err, PatternError::Invalid { .. }),
            "{pattern}: {err}"
        );
        assert!(err.to_string().contains(&format!("`{pattern}`")), "{err}");
    }
}

#[test]
fn what_cback_cannot_do_is_refused_by_name() {
    let err = ExcludePattern::new(r"\N{LATIN SMALL LETTER A}").unwrap_err();
    assert!(matches!(err, PatternError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("named character"), "{err}");
    let err = ExcludePattern::new(r"/\udcff").unwrap_err();
    assert!(err.to_string().contains("surrogate"), "{err}");
    let err = ExcludePattern::new("a{4294967294}").unwrap_err();
    assert!(matches!(err, PatternError::Compile { .. }), "{err}");
}

/// Every pattern of the Python grammar checks that Python accepts translates and compiles,
/// except the refusals above.
#[test]
fn what_python_accepts_compiles() {
    let accepted = [
        "]",
        "a{",
        "a{1",
        "a{1,",
        "a{,3}",
        "a*?",
        "a*+",
        "a++",
        "a?+",
        "(?=x)",
        "(?!x)",
        "(?<=x)",
        "(?<!x)",
        "(a)\\1",
        "(?P<n>a)(?P=n)",
        "(?P<n>a)",
        "\\Z",
        "\\A",
        "\\d\\w\\s\\b\\B",
        "\\_",
        "\\-",
        "\\.",
        "[[:alpha:]]",
        "[a-]",
        "[]a]",
        "[^]a]",
        "a|",
        "|",
        "",
        "()",
        "(?i)a",
        "(?i:a)b",
        "(?x) a b # c",
        "(?s).",
        "(?m)^",
        "(?u)a",
        "(?a)a",
        "(?#comment)a",
        "(?>a)",
        "\\x41",
        "\\u0041",
        "\\U00000041",
        "\\0",
        "\\012",
        "a{1,2}?",
        "a{,}",
        ".*tmp.*",
        ".*\\.netscape\\/.*",
        "^/home/[^/]+/\\.cache$",
        "[a-z&&b]",
        "[a~~b]",
        "a{99999}",
        "\\b{start}",
        "(?i)(?m)a",
        "[[]",
        "a{0}",
        "(?:)*",
        "(?:a*)*",
        "(?:^a)*",
        "(?:a*b)*",
        "(a*)*",
        "()*",
        "(?=a)*",
        "(?i:a)*",
        "(?:a|b)*",
        "(?<=a|b)",
        "(?<=(a))",
        "(?<=a{2})",
        "(a)(?<=\\1)",
        "(?P<n>a)(?<=(?P=n))",
        "(a)(?(1)a|b)",
        "(?P<n>a)(?(n)a)",
        "(a(?(1)b))",
        "(?i)",
        "(?x)a b",
        "(?x)[ ]",
        "(?x)a#b\nc",
        "(?-i:a)",
        "(?u-i:a)",
        "(?ia)a",
        "(?P<\u{e9}>x)",
        "(a)\\01",
        "\\08",
        "[\\1]",
        "[\\01]",
        "(?P<n>a)|(?P=n)",
        "a{1,}",
        "a{,1}",
        "a{ 1}",
        "a{1 }",
        "a{-1}",
        "(?<=^)",
        "(?<=\\b)",
        "[--a]",
        "[\\x41-\\x5a]",
        "[\\N{LATIN SMALL LETTER A}]",
        "[\\b]",
        "\\U0010FFFF",
        "[\\u0041-\\U0001F600]",
        "[^]]",
        "(?#)",
        "(?#a)b",
        "(?>a)*",
        "(?i)(?m)",
        "(?x)(?i)a",
        "[a-]",
        "[-]",
        "[^-]",
        "[\\\\]",
        "\\ ",
        "\\#",
        "\\\u{e9}",
        "[\\\u{e9}]",
        "\\\n",
        "\\Aa",
        "a\\Z",
        "(?P<n>a)(?P<m>b)(?P=m)",
        "(?P<True>a)",
        "(?P<class>a)",
        "(?P<a1>a)",
    ];
    let mut failed = Vec::new();
    for pattern in accepted {
        assert!(
            pyre::check(pattern).is_ok(),
            "{pattern:?} is accepted by Python"
        );
        match ExcludePattern::new(pattern) {
            Ok(_) => {}
            Err(PatternError::Unsupported { what, .. }) if what.contains("named character") => {}
            Err(err) => failed.push(format!("{pattern:?}: {err}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
