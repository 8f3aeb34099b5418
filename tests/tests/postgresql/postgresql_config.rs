//! The `<postgresql>` section: the original's documents and rules, and what cback does with a
//! bad section (the action fails with exit 6; `cback validate` reports every problem). No
//! PostgreSQL server is needed.

use std::path::{Path, PathBuf};

use cback_tests::pg::{self, PgRunDir};
use cedar_core::{Codec, ConfigFile};
use cedar_ext_postgresql::{load_settings, PgError, Target};
use predicates::prelude::*;

fn settings_of(path: &Path) -> Result<cedar_ext_postgresql::Settings, PgError> {
    let text = std::fs::read_to_string(path).unwrap();
    load_settings(&ConfigFile::parse(&text, path).unwrap())
}

/// What the original's extension reads from a document (`LocalConfig(xmlPath=...)` of Cedar
/// Backup 3.12), or `None` where it refuses the document for want of a `<postgresql>` section.
struct Reads {
    user: Option<&'static str>,
    compress_mode: Codec,
    targets: Vec<Target>,
}

fn reads(user: Option<&'static str>, compress_mode: Codec, targets: &[&str]) -> Reads {
    let targets = targets
        .iter()
        .map(|&t| match t {
            "ALL" => Target::All,
            name => Target::Database(name.to_string()),
        })
        .collect();
    Reads {
        user,
        compress_mode,
        targets,
    }
}

/// cback's own documents (`tests/data/postgresql/`), and the original's test documents from
/// `../shared/cb3-data` when they are there, with what the original reads from each.
fn documents() -> Vec<(PathBuf, Option<Reads>)> {
    let own = cback_tests::workspace_root().join("tests/data/postgresql");
    let mut docs = vec![
        (own.join("no-section.conf"), None),
        (
            own.join("all-uncompressed.conf"),
            Some(reads(Some("pgbackup"), Codec::None, &["ALL"])),
        ),
        (
            own.join("one-database-gzip.conf"),
            Some(reads(Some("app_owner"), Codec::Gzip, &["billing"])),
        ),
        (
            own.join("two-databases-bzip2.conf"),
            Some(reads(
                Some("pgbackup"),
                Codec::Bzip2,
                &["crm", "stock 2026"],
            )),
        ),
        (
            own.join("no-user.conf"),
            Some(reads(None, Codec::Gzip, &["crm", "warehouse"])),
        ),
    ];
    match cback_tests::cb3_data() {
        Some(data) => docs.extend([
            (data.join("postgresql.conf.1"), None),
            (
                data.join("postgresql.conf.2"),
                Some(reads(Some("user"), Codec::None, &["ALL"])),
            ),
            (
                data.join("postgresql.conf.3"),
                Some(reads(Some("user"), Codec::Gzip, &["database"])),
            ),
            (
                data.join("postgresql.conf.4"),
                Some(reads(
                    Some("user"),
                    Codec::Bzip2,
                    &["database1", "database2"],
                )),
            ),
            (
                data.join("postgresql.conf.5"),
                Some(reads(None, Codec::Bzip2, &["database1", "database2"])),
            ),
        ]),
        None => eprintln!("../shared/cb3-data is not there: checking cback's own documents only"),
    }
    docs
}

#[test]
fn documents_read_as_the_original_reads_them() {
    for (path, want) in documents() {
        let what = path.display();
        match want {
            None => {
                let err = settings_of(&path).unwrap_err();
                assert!(
                    err.to_string().contains("<postgresql> section is required"),
                    "{what}: {err}"
                );
            }
            Some(want) => {
                let got = settings_of(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(got.user.as_deref(), want.user, "{what}");
                assert_eq!(got.compress_mode, want.compress_mode, "{what}");
                assert_eq!(got.targets, want.targets, "{what}");
            }
        }
    }
}

#[test]
fn an_invalid_section_fails_the_action_with_every_problem() {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        "<postgresql>\n    <compress_mode>zip</compress_mode>\n    <all>Y</all>\n    \
         <database>shop</database>\n    <port>http</port>\n  </postgresql>",
        &[],
    );
    site.cback(None, &["postgresql"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "`zip` is not one of none, gzip, bzip2",
        ))
        .stderr(predicate::str::contains(
            "no <database> may be listed when <all> is Y",
        ))
        .stderr(predicate::str::contains("<port> `http`"));
    assert!(site.entries().is_empty());
}

#[test]
fn a_missing_section_fails_the_action() {
    let site = PgRunDir::new(crate::BIN);
    site.config("", &[]);
    site.cback(None, &["postgresql"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("<postgresql> section is required"));
}

#[test]
fn a_bad_boolean_fails_the_action() {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("none", &[], "").replace("<all>Y</all>", "<all>yes</all>"),
        &[],
    );
    site.cback(None, &["postgresql"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("<postgresql>"))
        .stderr(predicate::str::contains("yes"));
}

#[test]
fn a_section_without_databases_fails_the_action() {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        "<postgresql><compress_mode>gzip</compress_mode><database/></postgresql>",
        &[],
    );
    site.cback(None, &["postgresql"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "at least one <database> must be listed when <all> is not Y",
        ));
}

#[test]
fn validate_checks_the_section() {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        "<postgresql><compress_mode>lz4</compress_mode><all>N</all></postgresql>",
        &[],
    );
    site.cback(None, &["validate"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "<postgresql>: <compress_mode> `lz4`",
        ))
        .stderr(predicate::str::contains(
            "<postgresql>: at least one <database> must be listed",
        ));

    site.config(&pg::section("bzip2", &["shop"], ""), &[]);
    site.cback(None, &["validate"]).assert().success();
}
