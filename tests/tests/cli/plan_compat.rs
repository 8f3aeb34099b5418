//! Plan-ordering compatibility: `cback --dry-run` must print the same plan as the original
//! Cedar Backup 3 on generated configurations and command lines.
//!
//! The expected outputs in `tests/data/plan-vectors.txt` were recorded from the original by
//! `scripts/compat/plan_vectors.py generate` (see that script for the file format). A case
//! expecting `error` must exit with status 4; any other case must exit 0 and print exactly the
//! expected lines. The indented detail lines cback adds under a step (the peers `run stage`
//! would stage, the calls of a `manage` step) are cback's own and left out of the comparison.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

/// Exit status for a rejected configuration or action list.
const EXIT_CONFIG: i32 = 4;

#[derive(Debug)]
struct PlanCase {
    /// The case heading: number and kind.
    title: String,
    /// Switches and actions, in command-line order.
    args: Vec<String>,
    /// The configuration document.
    config: String,
    /// `None` for `error`, else the expected dry-run lines.
    expect: Option<Vec<String>>,
}

fn vectors_path() -> PathBuf {
    cback_tests::workspace_root().join("tests/data/plan-vectors.txt")
}

#[derive(PartialEq)]
enum Block {
    Head,
    Config,
    Expect,
}

fn parse_vectors(text: &str) -> Vec<PlanCase> {
    let mut cases: Vec<PlanCase> = Vec::new();
    let mut block = Block::Head;
    let mut expect: Vec<String> = Vec::new();

    fn finish(cases: &mut [PlanCase], expect: &mut Vec<String>) {
        if let Some(case) = cases.last_mut() {
            let lines = std::mem::take(expect);
            case.expect = if lines.len() == 1 && lines[0] == "error" {
                None
            } else {
                Some(lines)
            };
        }
    }

    for line in text.lines() {
        if let Some(title) = line.strip_prefix("=== case ") {
            finish(&mut cases, &mut expect);
            cases.push(PlanCase {
                title: title.to_string(),
                args: Vec::new(),
                config: String::new(),
                expect: None,
            });
            block = Block::Head;
            continue;
        }
        let Some(case) = cases.last_mut() else {
            // Comments and blank lines before the first case.
            continue;
        };
        match block {
            Block::Head if line == "--- config" => block = Block::Config,
            Block::Head => {
                let args = line
                    .strip_prefix("args:")
                    .unwrap_or_else(|| panic!("case {}: unexpected line {line:?}", case.title));
                case.args = args.split_whitespace().map(str::to_string).collect();
            }
            Block::Config if line == "--- expect" => block = Block::Expect,
            Block::Config => {
                case.config.push_str(line);
                case.config.push('\n');
            }
            Block::Expect => expect.push(line.to_string()),
        }
    }
    finish(&mut cases, &mut expect);
    cases
}

fn describe_expect(expect: &Option<Vec<String>>) -> String {
    match expect {
        None => "error (exit 4)".to_string(),
        Some(lines) if lines.is_empty() => "(empty plan)".to_string(),
        Some(lines) => lines.join(" | "),
    }
}

#[test]
fn dry_run_plans_match_the_original() {
    let path = vectors_path();
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let cases = parse_vectors(&text);
    assert!(
        cases.len() >= 100,
        "only {} cases in {}",
        cases.len(),
        path.display()
    );

    let dir = tempfile::tempdir().expect("temporary directory");
    let mut mismatches: Vec<String> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let config = dir.path().join(format!("case-{}.xml", i + 1));
        fs::write(&config, &case.config).expect("write the case's document");
        let output = crate::BIN
            .cback()
            .arg("--config")
            .arg(&config)
            .arg("--dry-run")
            .args(&case.args)
            .output()
            .expect("run cback");
        let stdout: String = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.starts_with(' '))
            .map(|line| format!("{line}\n"))
            .collect();
        let code = output.status.code();
        let ok = match &case.expect {
            None => code == Some(EXIT_CONFIG),
            Some(lines) => {
                let mut want = lines.join("\n");
                if !lines.is_empty() {
                    want.push('\n');
                }
                code == Some(0) && stdout == want
            }
        };
        if !ok {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let got = if code == Some(0) {
                let lines: Vec<&str> = stdout.lines().collect();
                if lines.is_empty() {
                    "(empty plan)".to_string()
                } else {
                    lines.join(" | ")
                }
            } else {
                format!(
                    "exit {:?}: {}",
                    code,
                    stderr.lines().last().unwrap_or("").trim()
                )
            };
            let mut entry = String::new();
            let _ = writeln!(entry, "case {} — cback {}", case.title, case.args.join(" "));
            let _ = writeln!(entry, "    original: {}", describe_expect(&case.expect));
            let _ = write!(entry, "    cback:    {got}");
            mismatches.push(entry);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} plan vectors differ from the original (documents in {}):\n{}",
        mismatches.len(),
        cases.len(),
        path.display(),
        mismatches.join("\n")
    );
}

#[test]
fn vectors_file_parses() {
    let cases = parse_vectors(
        "# comment\n\n=== case 1: x\nargs: --managed collect\n--- config\n<a/>\n--- expect\n\
         run collect\n=== case 2: y\nargs: all\n--- config\n<b/>\n--- expect\nerror\n\
         === case 3: z\nargs: --managed-only pg\n--- config\n<c/>\n--- expect\n",
    );
    assert_eq!(cases.len(), 3);
    assert_eq!(cases[0].args, ["--managed", "collect"]);
    assert_eq!(cases[0].config, "<a/>\n");
    assert_eq!(cases[0].expect, Some(vec!["run collect".to_string()]));
    assert_eq!(cases[1].expect, None);
    assert_eq!(cases[2].expect, Some(vec![]));
}
