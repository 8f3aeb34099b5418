//! Unit tests of the action with verification, the manifest, split and the custom format, with
//! fake pg_dump, pg_dumpall, psql and pg_restore (the real server is in `tests/`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use cedar_core::ConfigFile;

use crate::config::Settings;
use crate::error::PgError;
use crate::manifest::{self, MANIFEST};
use cedar_core::DumpStatus;

const MARKER: &str = "--\\n-- PostgreSQL database dump complete\\n--\\n\\n\\\\unrestrict k\\n\\n";
const CLUSTER_MARKER: &str = "--\\n-- PostgreSQL database cluster dump complete\\n--\\n\\n";

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("collect")).unwrap();
        let site = Site { dir };
        // pg_dump: database `cut` stops early but exits 0; custom format writes "PGDMP".
        site.script(
            "pg_dump",
            &format!(
                "case \"$*\" in *--format=custom*) printf 'PGDMP %s' \"$PGDATABASE\"; exit 0;; esac\n\
                 printf '%b' '-- Dumped by pg_dump version 15.99 (fake)\\n'\n\
                 printf 'db=%s args=%s\\n' \"$PGDATABASE\" \"$*\"\n\
                 [ \"$PGDATABASE\" = cut ] && exit 0\n\
                 printf '%b' '{MARKER}'"
            ),
        );
        site.script(
            "pg_dumpall",
            &format!("printf 'args=%s\\n' \"$*\"\nprintf '%b' '{CLUSTER_MARKER}'"),
        );
        // psql: the version, or the database list with -0.
        site.script(
            "psql",
            "case \"$*\" in *-0*) printf 'dapp\\0dglobals\\0dscratch_1\\0dshop\\0';; \
             *) echo '150002|15.2 (fake)';; esac",
        );
        // pg_restore: rejects an archive that holds `bad`.
        site.script(
            "pg_restore",
            "f=\"$2\"; if [ \"$1\" != --list ] && grep -q bad \"$f\"; then echo 'pg_restore: error: could not read from input file: end of file' >&2; exit 1; fi\n\
             [ \"$1\" = --list ] && echo ';     Dumped by pg_dump version: 15.2'\nexit 0",
        );
        site
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn collect(&self) -> PathBuf {
        self.dir.path().join("collect")
    }

    fn config(&self, section: &str) -> ConfigFile {
        let overrides: String = ["pg_dump", "pg_dumpall", "psql", "pg_restore"]
            .iter()
            .map(|c| {
                format!(
                    "<override><command>{c}</command><abs_path>{}/{c}</abs_path></override>",
                    self.dir.path().display()
                )
            })
            .collect();
        let text = format!(
            "<cb_config><options><starting_day>monday</starting_day>\
             <working_dir>/tmp</working_dir><backup_user>root</backup_user>\
             <backup_group>root</backup_group><rcp_command>scp</rcp_command>{overrides}\
             </options><collect><collect_dir>{}</collect_dir></collect>\
             <postgresql>{section}</postgresql></cb_config>",
            self.collect().display()
        );
        ConfigFile::parse(&text, &self.dir.path().join("cback.conf")).unwrap()
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.collect())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.collect().join(name)).unwrap()
    }
}

fn run(config: &ConfigFile) -> Result<(), PgError> {
    crate::action::run(config, &cedar_core::Options::default(), &|| false)
}

#[test]
fn a_dump_cut_short_is_a_failure_and_yesterday_is_kept() {
    let site = Site::new();
    std::fs::write(
        site.collect().join("postgresqldump-cut.txt.gz"),
        "yesterday",
    )
    .unwrap();
    let config = site.config(
        "<compress_mode>gzip</compress_mode><database>shop</database><database>cut</database>",
    );
    let err = run(&config).unwrap_err().to_string();
    assert!(err.starts_with("1 of 2 PostgreSQL dumps failed"), "{err}");
    assert!(
        err.contains(
            "the dump of database [cut] failed: the new postgresqldump-cut.txt.gz failed \
             verification (checked before its rename)"
        ),
        "{err}"
    );
    assert!(err.contains("is incomplete"), "{err}");
    assert!(
        err.contains("its last line is `db=cut args=--no-password`"),
        "{err}"
    );
    assert_eq!(
        site.entries(),
        vec![
            "postgresqldump-cut.txt.gz",
            "postgresqldump-shop.txt.gz",
            MANIFEST
        ]
    );
    assert_eq!(site.read("postgresqldump-cut.txt.gz"), "yesterday");

    let found = manifest::read(&site.collect()).unwrap();
    assert_eq!(found.files.len(), 2);
    let shop = &found.files[0];
    assert_eq!(
        (shop.name.as_str(), shop.database.as_str(), shop.status),
        ("postgresqldump-shop.txt.gz", "shop", DumpStatus::Ok)
    );
    assert!(shop.verified);
    let digest = cedar_core::hash_file(&site.collect().join(&shop.name)).unwrap();
    assert_eq!(shop.size, Some(digest.size));
    assert_eq!(shop.sha256.as_deref(), Some(digest.sha256.as_str()));
    assert_eq!(
        shop.pg_dump_version.as_deref(),
        Some("pg_dump (PostgreSQL) 15.99 (fake)")
    );
    assert_eq!(shop.server_version.as_deref(), Some("15.2 (fake)"));
    assert!(shop.start.ends_with('Z') && shop.end >= shop.start);
    let cut = &found.files[1];
    assert_eq!(cut.status, DumpStatus::Failed);
    assert!(cut.error.as_deref().unwrap().contains("is incomplete"));
    assert_eq!((cut.size, cut.sha256.as_ref()), (None, None));
    let mode = std::fs::metadata(site.collect().join(MANIFEST))
        .unwrap()
        .mode()
        & 0o777;
    assert!(mode == 0o600 || mode == 0o640, "{mode:o}");
}

#[test]
fn a_failed_dump_keeps_the_previous_manifest_entry() {
    let site = Site::new();
    let config = site.config("<compress_mode>none</compress_mode><database>shop</database>");
    run(&config).unwrap();
    let first = manifest::read(&site.collect()).unwrap().files[0].clone();
    site.script(
        "pg_dump",
        "echo 'pg_dump: error: connection refused' >&2; exit 1",
    );
    run(&config).unwrap_err();
    let second = manifest::read(&site.collect()).unwrap();
    assert_eq!(second.files[0].status, DumpStatus::Kept);
    assert_eq!(second.files[0].sha256, first.sha256);
    assert!(second.files[0]
        .error
        .as_deref()
        .unwrap()
        .contains("connection refused"));
    manifest::check(&site.collect()).unwrap();
}

#[test]
fn verify_and_manifest_can_be_turned_off() {
    let site = Site::new();
    let config = site.config(
        "<compress_mode>none</compress_mode><database>cut</database>\
         <verify>N</verify><manifest>N</manifest>",
    );
    run(&config).unwrap();
    assert_eq!(site.entries(), vec!["postgresqldump-cut.txt"]);
    // Without verification, the manifest still gets a checksum.
    let config = site
        .config("<compress_mode>none</compress_mode><database>cut</database><verify>N</verify>");
    run(&config).unwrap();
    let found = manifest::read(&site.collect()).unwrap();
    assert!(!found.files[0].verified && found.files[0].sha256.is_some());
}

#[test]
fn split_writes_private_globals_and_one_file_per_database() {
    let site = Site::new();
    let config = site.config(
        "<compress_mode>none</compress_mode><all>Y</all><split>Y</split>\
         <exclude>scratch_.*</exclude><exclude>shop</exclude>",
    );
    let err = run(&config).unwrap_err().to_string();
    // A database named `globals` would overwrite the globals file.
    assert!(err.starts_with("1 of 3 PostgreSQL dumps failed"), "{err}");
    assert!(
        err.contains("database [globals] failed: its dump would be named like the globals file"),
        "{err}"
    );
    assert_eq!(
        site.entries(),
        vec![
            "postgresqldump-app.txt",
            "postgresqldump-globals.txt",
            MANIFEST
        ]
    );
    assert_eq!(
        site.read("postgresqldump-globals.txt"),
        "args=--no-password --globals-only\n--\n-- PostgreSQL database cluster dump complete\n--\n\n"
    );
    let mode = std::fs::metadata(site.collect().join("postgresqldump-globals.txt"))
        .unwrap()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the globals are never group-readable");
    let found = manifest::read(&site.collect()).unwrap();
    let names: Vec<(&str, &str)> = found
        .files
        .iter()
        .map(|e| (e.name.as_str(), e.database.as_str()))
        .collect();
    assert_eq!(
        names,
        // The clashing database has no file of its own to describe.
        vec![
            ("postgresqldump-globals.txt", "globals"),
            ("postgresqldump-app.txt", "app"),
        ]
    );
}

#[test]
fn custom_format_uses_pg_dump_fc_and_pg_restore() {
    let site = Site::new();
    std::fs::write(site.collect().join("postgresqldump-bad.dump"), "yesterday").unwrap();
    let config = site.config(
        "<compress_mode>none</compress_mode><format>custom</format>\
         <database>shop</database><database>bad</database>",
    );
    let err = run(&config).unwrap_err().to_string();
    assert!(
        err.contains("database [bad] failed") && err.contains("--file=/dev/null` rejects"),
        "{err}"
    );
    assert_eq!(site.read("postgresqldump-shop.dump"), "PGDMP shop");
    assert_eq!(site.read("postgresqldump-bad.dump"), "yesterday");
    let found = manifest::read(&site.collect()).unwrap();
    assert_eq!(
        found.files[0].pg_dump_version.as_deref(),
        Some("pg_dump (PostgreSQL) 15.2")
    );
}

#[test]
fn the_new_elements_have_rules() {
    let problems = |body: &str| {
        let site = Site::new();
        match Settings::from_section(
            site.config(body)
                .section::<crate::PostgresqlSection>("postgresql")
                .unwrap()
                .as_ref(),
        ) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        }
    };
    let found = problems(
        "<compress_mode>gzip</compress_mode><format>custom</format><database>a</database>",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("<compress_mode> must be none, not gzip"),
        "{found:?}"
    );
    let found = problems("<compress_mode>none</compress_mode><format>custom</format><all>Y</all>");
    assert!(
        found[0].contains("pg_dumpall writes plain SQL only"),
        "{found:?}"
    );
    let found =
        problems("<compress_mode>none</compress_mode><format>tar</format><database>a</database>");
    assert!(
        found[0].contains("`tar` is not one of plain, custom"),
        "{found:?}"
    );
    let found =
        problems("<compress_mode>none</compress_mode><split>Y</split><database>a</database>");
    assert!(
        found[0].contains("<split> Y applies to <all> Y only"),
        "{found:?}"
    );
    let found = problems("<compress_mode>none</compress_mode><exclude>x</exclude><all>Y</all>");
    assert!(found[0].contains("<exclude> applies to"), "{found:?}");
    let found = problems(
        "<compress_mode>none</compress_mode><all>Y</all><split>Y</split><exclude>(</exclude>",
    );
    assert!(
        found[0].contains("<exclude> `(` is not a valid regular expression"),
        "{found:?}"
    );
    assert!(problems(
        "<compress_mode>none</compress_mode><all>Y</all><split>Y</split><format>custom</format>\
         <exclude>t.*</exclude><verify>N</verify><manifest>Y</manifest>"
    )
    .is_empty());
}

#[test]
fn a_dry_run_of_split_asks_nothing() {
    let site = Site::new();
    site.script("psql", "exit 9");
    let config = site.config("<compress_mode>gzip</compress_mode><all>Y</all><split>Y</split>");
    let options = cedar_core::Options {
        dry_run: true,
        ..Default::default()
    };
    crate::action::run(&config, &options, &|| false).unwrap();
    assert!(site.entries().is_empty());
}

#[test]
fn a_listing_failure_stops_before_anything_is_written() {
    let site = Site::new();
    site.script(
        "psql",
        "case \"$*\" in *-0*) echo 'psql: error: FATAL: permission denied' >&2; exit 2;; esac\necho '150002|15.2'",
    );
    let config = site.config("<compress_mode>gzip</compress_mode><all>Y</all><split>Y</split>");
    let err = run(&config).unwrap_err();
    assert!(matches!(err, PgError::Discover(_)), "{err}");
    let action = cedar_core::ActionError::from(err);
    let source = std::error::Error::source(&action).unwrap().to_string();
    assert!(source.contains("permission denied"), "{source}");
    assert!(site.entries().is_empty());
}
