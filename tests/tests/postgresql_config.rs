//! The `<postgresql>` section: the original's documents and rules, and what cback does with a
//! bad section (the action fails with exit 6; `cback validate` reports every problem). No
//! PostgreSQL server is needed.

use std::path::Path;

use cback_tests::pg::{self, Site};
use cedar_core::ConfigFile;
use cedar_ext_postgresql::{load_settings, CompressMode, PgError, Target};
use predicates::prelude::*;

fn settings_of(path: &Path) -> Result<cedar_ext_postgresql::Settings, PgError> {
    let text = std::fs::read_to_string(path).unwrap();
    load_settings(&ConfigFile::parse(&text, path).unwrap())
}

#[test]
fn the_originals_documents_read_the_same() {
    let Some(data) = cback_tests::cb3_data() else {
        eprintln!("SKIPPED: ../shared/cb3-data is not there");
        return;
    };
    let err = settings_of(&data.join("postgresql.conf.1")).unwrap_err();
    assert!(
        err.to_string().contains("<postgresql> section is required"),
        "{err}"
    );

    let two = settings_of(&data.join("postgresql.conf.2")).unwrap();
    assert_eq!(two.user.as_deref(), Some("user"));
    assert_eq!(two.compress_mode, CompressMode::None);
    assert_eq!(two.targets, vec![Target::All]);

    let three = settings_of(&data.join("postgresql.conf.3")).unwrap();
    assert_eq!(three.compress_mode, CompressMode::Gzip);
    assert_eq!(three.targets, vec![Target::Database("database".into())]);

    let db = |n: &str| Target::Database(n.to_string());
    let four = settings_of(&data.join("postgresql.conf.4")).unwrap();
    assert_eq!(four.compress_mode, CompressMode::Bzip2);
    assert_eq!(four.targets, vec![db("database1"), db("database2")]);
    assert_eq!(four.user.as_deref(), Some("user"));

    let five = settings_of(&data.join("postgresql.conf.5")).unwrap();
    assert_eq!(five.user, None);
    assert_eq!(five.targets, vec![db("database1"), db("database2")]);
}

#[test]
fn an_invalid_section_fails_the_action_with_every_problem() {
    let site = Site::new();
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
    let site = Site::new();
    site.config("", &[]);
    site.cback(None, &["postgresql"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("<postgresql> section is required"));
}

#[test]
fn a_bad_boolean_fails_the_action() {
    let site = Site::new();
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
    let site = Site::new();
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
    let site = Site::new();
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
