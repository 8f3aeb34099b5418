//! What the Debian package installs: `cback.conf(5)` names every element the parser reads,
//! the sample `/etc/cback3.conf` loads, the systemd units verify, and the package itself builds,
//! installs (`dpkg -i` as root, else `dpkg-deb -x`) and works: `cback --version`, the man pages
//! render without warnings, the bash completion loads.

use std::path::{Path, PathBuf};
use std::process::Command;

use cback_tests::{pg, workspace_root};
use cedar_core::ConfigFile;

/// A tool the checks need: its absence fails under `CEDAR_REQUIRE_POSTGRES=1` (CI, and the
/// README's test command, which installs it) and skips elsewhere.
pub(crate) fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !pg::required(),
            "{name} is not installed; scripts/setup.sh installs it (apt-get install {})",
            match name {
                "systemd-analyze" => "systemd",
                "man" => "man-db",
                "dpkg-deb" => "dpkg",
                other => other,
            }
        );
        eprintln!("SKIPPED: {name} is not installed");
    }
    found
}

/// The words set in bold by each roff line of `text` (`.B`, the odd arguments of `.BR` and
/// `.BI`, the even ones of `.RB` and `.IB`), with `\-` read as `-`.
fn bold_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for line in text.lines() {
        let (macro_name, rest) = line.split_once(' ').unwrap_or((line, ""));
        let args = roff_args(rest);
        let bold: Vec<&String> = match macro_name {
            ".B" => args.iter().collect(),
            ".BR" | ".BI" => args.iter().step_by(2).collect(),
            ".RB" | ".IB" => args.iter().skip(1).step_by(2).collect(),
            _ => continue,
        };
        for arg in bold {
            words.extend(
                arg.replace("\\-", "-")
                    .split_whitespace()
                    .map(str::to_string),
            );
        }
    }
    words
}

/// A roff macro's arguments: blank-separated, double quotes group.
fn roff_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    args.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        args.push(cur);
    }
    args
}

/// The `.SS NAME` subsection of `page`, up to the next subsection or section.
fn subsection<'a>(page: &'a str, name: &str) -> &'a str {
    let start = page
        .find(&format!("\n.SS {name}\n"))
        .unwrap_or_else(|| panic!("cback.conf.5 has no `.SS {name}`"));
    let body = &page[start + 1..];
    let end = body[4..].find("\n.S").map_or(body.len(), |i| i + 4);
    &body[..end]
}

#[test]
fn cback_conf_5_names_every_element_the_parser_reads() {
    let page = std::fs::read_to_string(workspace_root().join("dist/cback.conf.5")).unwrap();
    let paths = cedar_cli::config_element_paths();
    let postgresql = paths
        .iter()
        .filter(|p| p.starts_with("<postgresql>"))
        .count();
    assert!(postgresql > 10, "{paths:?}");
    let mut missing = Vec::new();
    for path in &paths {
        let names: Vec<&str> = path
            .trim_start_matches('<')
            .trim_end_matches('>')
            .split("><")
            .collect();
        let (section, leaf) = (names[0], names[names.len() - 1]);
        if names.len() == 1 {
            subsection(&page, section);
            continue;
        }
        if !bold_words(subsection(&page, section))
            .iter()
            .any(|w| w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_')) == leaf)
        {
            missing.push(path.clone());
        }
    }
    assert!(paths.len() > 100, "{}", paths.len());
    assert!(
        missing.is_empty(),
        "cback.conf.5 does not name: {missing:?}"
    );
    // The elements the original does not have are marked.
    for cback_only in [
        "metrics_file",
        "failure_hook",
        "shrink_warning",
        "shrink_fail",
        "jobs",
        "verify",
        "manifest",
        "split",
    ] {
        let at = page
            .find(&format!(".B {cback_only}\n"))
            .unwrap_or_else(|| panic!("{cback_only}"));
        assert!(
            page[at..]
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("(cback only)"),
            "{cback_only}"
        );
    }
}

#[test]
fn the_packaged_sample_configuration_loads_and_plans() {
    let sample = workspace_root().join("dist/cback3.conf");
    let file = ConfigFile::load(&sample).unwrap();
    assert!(file.config.collect.is_some() && file.config.stage.is_some());
    crate::BIN
        .cback()
        .args(["--config"])
        .arg(&sample)
        .args(["--dry-run", "collect", "stage", "purge"])
        .assert()
        .success()
        .stdout(predicates::str::starts_with(
            "run collect\nrun stage\n  stage localhost (local): /var/backups/cback/collect -> \
             /var/backups/cback/staging/",
        ))
        .stdout(predicates::str::ends_with("/localhost\nrun purge\n"));
}

/// `systemd-analyze verify` of `units`, with `cback` standing for `/usr/bin/cback` and
/// `libexec` for `/usr/libexec/cback`.
pub(crate) fn verify_units(units: &[PathBuf], cback: &Path, libexec: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for unit in units {
        let text = std::fs::read_to_string(unit).unwrap();
        let copy = dir.path().join(unit.file_name().unwrap());
        std::fs::write(
            &copy,
            text.replace("/usr/bin/cback", &cback.display().to_string())
                .replace("/usr/libexec/cback", &libexec.display().to_string()),
        )
        .unwrap();
        copies.push(copy);
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .args(&copies)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Outside a booted systemd (a container), verify also reports on the host's own units;
    // only lines about ours count.
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("cback")).collect();
    assert!(ours.is_empty(), "{stderr}");
    assert!(out.status.success() || !stderr.is_empty(), "{stderr}");
}

#[test]
fn the_systemd_units_verify() {
    if !tool("systemd-analyze") {
        return;
    }
    let dist = workspace_root().join("dist");
    verify_units(
        &[
            dist.join("cback.service"),
            dist.join("cback.timer"),
            dist.join("cback-failure@.service"),
        ],
        crate::BIN.cback_path(),
        &dist,
    );
    let service = std::fs::read_to_string(dist.join("cback.service")).unwrap();
    assert!(service.contains("Type=oneshot"));
    assert!(service.contains("EnvironmentFile=-/etc/default/cback"));
    assert!(service.contains("ExecStart=/usr/bin/cback $CBACK_ARGS"));
    assert!(service.contains("\nOnFailure=cback-failure@%n.service\n"));
    let timer = std::fs::read_to_string(dist.join("cback.timer")).unwrap();
    assert!(timer.contains("Persistent=true") && timer.contains("RandomizedDelaySec="));
}

/// Runs `cmd`, asserting success; its standard output and standard error.
fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{cmd:?}: {stdout}{stderr}");
    (stdout, stderr)
}

#[test]
fn the_debian_package_builds_installs_and_works() {
    if !tool("dpkg-deb") || !tool("man") || !tool("systemd-analyze") {
        return;
    }
    // The package is built by scripts/test.sh before the tests run, from the binaries cargo
    // built for them (`scripts/build-deb.sh --prebuilt`: no release build), and handed over in
    // CEDAR_DEB, so that no test runs cargo. It still proves that cargo-deb builds the package
    // from cedar-cli's metadata with every asset (binaries, generated man pages and
    // completions, units, sample configuration), that it installs without maintainer scripts,
    // and that what it installs runs; it no longer proves that the release profile (thin LTO)
    // builds, which `bash scripts/build-deb.sh` without arguments does.
    let Some(deb) = std::env::var_os("CEDAR_DEB").map(PathBuf::from) else {
        assert!(
            !pg::required(),
            "CEDAR_DEB is not set: run the tests with scripts/test.sh, which builds the package \
             first (or set CEDAR_DEB to the path scripts/build-deb.sh --prebuilt printed)"
        );
        eprintln!("SKIPPED: CEDAR_DEB is not set (scripts/test.sh builds the package first)");
        return;
    };
    assert!(deb.is_file(), "{}", deb.display());

    let (control, _) = run(Command::new("dpkg-deb").args(["-f"]).arg(&deb));
    assert!(control.contains("Package: cback"), "{control}");
    assert!(
        control.contains("Recommends: postgresql-client"),
        "{control}"
    );
    let (listing, _) = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let sample = listing
        .lines()
        .find(|l| l.ends_with("./etc/cback3.conf"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(sample.starts_with("-rw-------"), "{sample}");
    assert!(!listing.contains("postinst"));
    let (conffiles, _) = run(Command::new("dpkg-deb")
        .args(["-I"])
        .arg(&deb)
        .arg("conffiles"));
    assert!(
        conffiles.lines().any(|l| l == "/etc/cback3.conf"),
        "{conffiles}"
    );
    let (scripts, _) = run(Command::new("dpkg-deb").args(["-I"]).arg(&deb));
    // No maintainer script: the package starts and enables nothing.
    for script in ["postinst", "preinst", "prerm", "postrm"] {
        assert!(!scripts.contains(script), "{scripts}");
    }

    // As root the package is installed for real (and removed again afterwards if it was not
    // there before); otherwise it is unpacked into a temporary root.
    let unpacked = tempfile::tempdir().unwrap();
    let installed = pg::running_as_root();
    let was_installed = installed
        && Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", "cback"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"));
    let root = if installed {
        run(Command::new("dpkg").arg("-i").arg(&deb));
        PathBuf::from("/")
    } else {
        run(Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(unpacked.path()));
        unpacked.path().to_path_buf()
    };
    let checks = std::panic::catch_unwind(|| check_installed(&root));
    if installed && !was_installed {
        run(Command::new("dpkg").args(["--purge", "cback"]));
    }
    if let Err(panic) = checks {
        std::panic::resume_unwind(panic);
    }
}

fn check_installed(root: &Path) {
    for tool in ["cback-span", "cback-restore"] {
        let (help, _) = run(Command::new(root.join("usr/bin").join(tool)).arg("--help"));
        assert!(
            help.contains("Usage") || help.contains("usage"),
            "{tool}: {help}"
        );
    }
    let bin = root.join("usr/bin/cback");
    let (version, _) = run(Command::new(&bin).arg("--version"));
    assert_eq!(
        version.trim(),
        format!("cback {}", env!("CARGO_PKG_VERSION")),
        "{version}"
    );
    for page in [
        "usr/share/man/man1/cback.1.gz",
        "usr/share/man/man5/cback.conf.5.gz",
    ] {
        let (text, warnings) = run(Command::new("man")
            .args(["--warnings", "-l"])
            .arg(root.join(page))
            .env("MANWIDTH", "80")
            .env("LANG", "C.UTF-8"));
        assert!(warnings.trim().is_empty(), "{page}: {warnings}");
        assert!(text.contains("cback"), "{page}: {text}");
    }
    let completion = root.join("usr/share/bash-completion/completions/cback");
    let (complete, _) = run(Command::new("bash").arg("-c").arg(format!(
        "source '{}' && complete -p cback",
        completion.display()
    )));
    assert!(complete.contains("cback"), "{complete}");
    for (file, needle) in [
        ("usr/share/zsh/vendor-completions/_cback", "#compdef cback"),
        (
            "usr/share/fish/vendor_completions.d/cback.fish",
            "complete -c cback",
        ),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            text.contains(needle) && text.contains("postgresql"),
            "{file}"
        );
    }
    let units = root.join("usr/lib/systemd/system");
    let libexec = root.join("usr/libexec/cback");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(libexec.join("cback-failure-mail"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    verify_units(
        &[
            units.join("cback.service"),
            units.join("cback.timer"),
            units.join("cback-failure@.service"),
        ],
        &bin,
        &libexec,
    );
    let logrotate = std::fs::read_to_string(root.join("etc/logrotate.d/cback")).unwrap();
    assert!(
        logrotate.contains("/var/log/cback3.log") && logrotate.contains("create 0640 root adm")
    );
    let default = std::fs::read_to_string(root.join("etc/default/cback")).unwrap();
    assert!(
        default.lines().any(|l| l.starts_with("CBACK_ARGS=")),
        "{default}"
    );
    assert!(root.join("usr/share/doc/cback/copyright").is_file());
    assert!(root.join("usr/share/doc/cback/README.md").is_file());
    // The sample configuration parses and plans with the installed binary.
    let (plan, _) = run(Command::new(&bin)
        .arg("--config")
        .arg(root.join("etc/cback3.conf"))
        .args(["--dry-run", "collect", "stage", "purge"]));
    let steps: Vec<&str> = plan.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(steps, ["run collect", "run stage", "run purge"], "{plan}");
}
