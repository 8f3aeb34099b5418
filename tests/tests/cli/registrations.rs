//! Registration that cannot silently vanish: every built-in action and every extension module
//! registers through `inventory`, and a crate the linker drops takes its registration with it
//! without a compile error. `cback --diagnostics` lists what is registered; this test holds it to
//! the full list.

use std::process::Command;

/// The built-in actions of the original, each registered by cedar-actions.
const BUILTINS: [&str; 8] = [
    "collect",
    "doctor",
    "initialize",
    "purge",
    "rebuild",
    "stage",
    "store",
    "validate",
];

/// The extension modules, one per extension crate.
const EXTENSIONS: [&str; 9] = [
    "CedarBackup3.extend.amazons3.executeAction",
    "CedarBackup3.extend.capacity.executeAction",
    "CedarBackup3.extend.encrypt.executeAction",
    "CedarBackup3.extend.mbox.executeAction",
    "CedarBackup3.extend.mysql.executeAction",
    "CedarBackup3.extend.postgresql.executeAction",
    "CedarBackup3.extend.split.executeAction",
    "CedarBackup3.extend.subversion.executeAction",
    "CedarBackup3.extend.sysinfo.executeAction",
];

/// The comma-separated values of the diagnostics line that starts with `label`.
fn listed(stdout: &str, label: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in:\n{stdout}"));
    line.split_once(": ")
        .map_or("", |(_, v)| v)
        .split(", ")
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn cback_lists_every_builtin_action_and_extension() {
    let out = Command::new(crate::BIN.cback_path())
        .arg("--diagnostics")
        .output()
        .expect("run cback --diagnostics");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed(&stdout, "Actions......."), BUILTINS, "{stdout}");
    let modules = listed(&stdout, "Extensions....");
    for module in EXTENSIONS {
        assert!(
            modules.iter().any(|m| m == module),
            "{module} missing: {stdout}"
        );
    }
}
