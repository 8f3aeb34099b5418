//! What a package installs beside the binary, generated from the clap definition so that it
//! never drifts from `--help`: the `cback(1)` man page and the bash, zsh and fish completions.
//! (`cback.conf(5)` is written by hand in `dist/cback.conf.5`; a test checks that it names every
//! element the parser reads.) Both pages name the documentation of [`crate::doc`].

use std::io::Write;

use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use crate::cli;
use crate::doc::{DOC_DIR, DOC_FILES};

/// The exit statuses, as the original defines them.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Every action succeeded (or --help, --version, --diagnostics, --dry-run)."),
    ("2", "Usage error: an unknown switch, no action, or switches that may not be combined."),
    ("3", "The log file cannot be opened or created."),
    ("4", "The configuration cannot be read or is invalid, or the actions cannot be planned; nothing ran."),
    ("5", "Interrupted by SIGINT, SIGTERM, SIGHUP or SIGQUIT; the running step stopped its children and removed what it was writing."),
    ("6", "An action or a hook failed (cback also exits 6 where the original only logs an error)."),
    ("status", "cback status exits by the monitoring-plugins convention instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (2 also for a usage error)."),
];

const FILES: &[(&str, &str)] = &[
    (
        "/etc/cback3.conf",
        "The configuration, the original's format; see cback.conf(5). Change it with --config.",
    ),
    (
        "/var/log/cback3.log",
        "The log, appended to; created root:adm 0640 (see --logfile, --owner, --mode).",
    ),
    (
        "/etc/default/cback",
        "The actions and switches the systemd service runs (CBACK_ARGS).",
    ),
    (
        "/usr/lib/systemd/system/cback-failure@.service",
        "Started by cback.service's OnFailure=cback-failure@%n.service: mails the failed run's journal to root (Environment=CBACK_MAILTO) through the local sendmail, with /usr/libexec/cback/cback-failure-mail.",
    ),
    (
        "WORKING_DIR/cback.lock",
        "Held while a run changes anything; a second run refuses at once.",
    ),
    (
        "WORKING_DIR/cback-status.json",
        "What the last run did, per action, database and peer, the last restore drill and the newest S3 copy; read by cback status.",
    ),
    (
        "WORKING_DIR/cback.prom",
        "The same as a node_exporter textfile (or <options><metrics_file>).",
    ),
    (
        "COLLECT_DIR/cback.collect, STAGING_DIR/YYYY/MM/DD/cback.stage, .../cback.store",
        "The indicators the original writes, with the same names.",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("PATH", "Where external programs are looked up, unless an <override> names them."),
    ("TMPDIR", "Temporary files of external programs (cback's own go into working_dir)."),
    ("LANG, LC_*", "External commands run with every LC_* variable removed and LANG changed to C where it is set, as the original runs them."),
    ("PGHOST, PGPORT, PGUSER, PGPASSFILE, PGCONNECT_TIMEOUT", "Read by the PostgreSQL client programs; the <postgresql> section's user, host, port and password_file override them."),
    ("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE", "The amazons3 extension's credentials, profile, region and endpoint, read as the aws program reads them (then ~/.aws/credentials and ~/.aws/config, then the instance metadata service)."),
    ("HOME", "The home of the user running cback, where ~/.pgpass, ~/.my.cnf, ~/.ssh, ~/.gnupg and ~/.aws are found."),
    ("CEDAR_TODAY", "Testing only: a date YYYY-MM-DD that replaces today; a run that uses it logs a warning."),
];

/// `cback(1)`, in roff.
pub fn man_page() -> Vec<u8> {
    let man = Man::new(cli::command())
        .section("1")
        .manual("cback manual")
        .source(format!("cback {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    // The standard sections, except the extra text after the options: that is the `--help`
    // summary of the actions and exit codes, which the sections below give in full.
    let rendered = (|| -> std::io::Result<()> {
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        man.render_options_section(&mut out)?;
        out.write_all(extra_sections().render().as_bytes())?;
        man.render_version_section(&mut out)
    })();
    rendered.expect("writing to a Vec cannot fail");
    out
}

fn extra_sections() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["ACTIONS"]);
    roff.text([roman(
        "Actions run in the original's order whatever order they are given in: built-in \
         actions by their fixed index, extensions by their <index> or <depends> in \
         <extensions>. rebuild, validate, doctor, initialize, status and all must be given alone.",
    )]);
    for (name, what) in action_descriptions() {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(what)]);
    }
    list_section(&mut roff, "EXIT STATUS", EXIT_STATUS);
    list_section(&mut roff, "FILES", FILES);
    list_section(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("cback.conf"),
        roman("(5), "),
        bold("pg_dump"),
        roman("(1), "),
        bold("systemd.timer"),
        roman("(5)."),
    ]);
    roff.control("PP", []);
    roff.text([
        roman("The documentation in "),
        italic(format!("{DOC_DIR}/")),
        roman(": "),
        italic("README.md"),
        roman(" (what cback is, how to install it) and, one file per topic:"),
    ]);
    for (file, what) in DOC_FILES {
        roff.control("TP", []);
        roff.text([italic(*file)]);
        roff.text([roman(format!("{what}."))]);
    }
    roff
}

fn list_section(roff: &mut Roff, title: &str, items: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

/// Each action `cback` knows, with one line on what it does.
fn action_descriptions() -> Vec<(String, String)> {
    let builtin = |name: &str| -> &'static str {
        match name {
            "all" => "collect, stage, store and purge, in that order, with their managed steps.",
            "collect" => "Archive the configured files and directories into the collect directory.",
            "stage" => "Copy each peer's collected files into the dated staging directory.",
            "store" => "Write the day's staging directory to CD or DVD.",
            "purge" => "Remove old files from the configured directories.",
            "rebuild" => "Write this week's staging directories to a new disc.",
            "validate" => {
                "Check the configuration and the machine; report every problem (exit 6 if any)."
            }
            "doctor" => {
                "Check that tonight's run can succeed, without writing any backup: the directories and their free space, the servers and tools of each configured section, the stage peers (reached with the rcp command, nothing left on them), the managed peers (cback --version through the rsh command), the store device and the newest staged day against the medium. One PASS, WARN or FAIL line per check (exit 6 if any failed); --json for tools."
            }
            "initialize" => "Label rewritable media so that store accepts it.",
            "status" => {
                "Report the last run from cback-status.json as a monitoring check: one line \
                 CBACK OK|WARNING|CRITICAL|UNKNOWN - ..., then details; exit 0, 1, 2 or 3. \
                 CRITICAL when the last run failed or the last success is older than --max-age \
                 (default 26h); WARNING past --warn-age, when the last run logged warnings or \
                 the last restore drill failed; UNKNOWN without a readable status file. Logs \
                 nothing and takes no lock."
            }
            _ => "",
        }
    };
    cli::action_names()
        .into_iter()
        .map(|name| {
            let text = match cedar_core::extension_by_name(name) {
                Some(reg) => match reg.kind {
                    cedar_core::ActionKind::Extension { module, .. } => {
                        format!("Extension, module {module} in <extensions>.")
                    }
                    cedar_core::ActionKind::Builtin => String::new(),
                },
                None => builtin(name).to_string(),
            };
            (name.to_string(), text)
        })
        .collect()
}

/// The shells completions are generated for, with the file name each expects.
pub const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "cback"),
    (Shell::Zsh, "_cback"),
    (Shell::Fish, "cback.fish"),
];

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cback", &mut out);
    if shell == Shell::Fish {
        // clap_complete's fish script completes switches only; the actions are added here.
        for (name, what) in action_descriptions() {
            let what = what.replace('\'', "\\'");
            out.extend_from_slice(
                format!("complete -c cback -f -a '{name}' -d '{what}'\n").as_bytes(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_lists_every_switch_action_and_exit_status() {
        crate::link_registrations();
        let page = String::from_utf8(man_page()).unwrap();
        for arg in cli::command().get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(
                    page.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                    "--{long}"
                );
            }
        }
        for name in cli::action_names() {
            assert!(page.contains(&format!("\\fB{name}\\fR")), "{name}");
        }
        assert!(cli::action_names().contains(&"postgresql"));
        for (code, _) in EXIT_STATUS {
            assert!(page.contains(&format!("\\fB{code}\\fR")), "{code}");
        }
        for section in ["EXIT STATUS", "FILES", "ENVIRONMENT", "ACTIONS"] {
            assert!(
                page.contains(&format!(".SH \"{section}\""))
                    || page.contains(&format!(".SH {section}")),
                "{section}"
            );
        }
    }

    #[test]
    fn completions_offer_the_actions() {
        crate::link_registrations();
        for (shell, _) in SHELLS {
            let script = String::from_utf8(completion(shell)).unwrap();
            for name in ["collect", "postgresql", "initialize"] {
                assert!(script.contains(name), "{shell}: {name}");
            }
            assert!(script.contains("dry-run"), "{shell}");
        }
    }
}
