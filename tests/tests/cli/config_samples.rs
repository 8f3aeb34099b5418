//! Every document in `config-samples/` loads with the whole-document rules, and writing it
//! back gives a document that reads the same.

use std::path::PathBuf;

use cedar_core::ConfigFile;

fn samples() -> Vec<PathBuf> {
    let dir = cback_tests::workspace_root().join("config-samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_sample_loads_and_round_trips() {
    let files = samples();
    assert!(files.len() >= 3, "expected the samples, found {files:?}");
    for path in files {
        let file = ConfigFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let xml = file.to_xml();
        let again = ConfigFile::parse(&xml, &path).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(file.config, again.config, "{}:\n{xml}", path.display());
        assert!(
            again.validate().is_empty(),
            "{}: {:?}",
            path.display(),
            again.validate()
        );
        assert_eq!(
            file.has_section("postgresql"),
            again.has_section("postgresql")
        );
        // Extension sections survive the round trip as well.
        let before: Option<serde_json::Value> = file.section("postgresql").unwrap();
        let after: Option<serde_json::Value> = again.section("postgresql").unwrap();
        assert_eq!(before, after, "{}", path.display());
    }
}

#[test]
fn samples_have_what_their_names_promise() {
    let dir = cback_tests::workspace_root().join("config-samples");
    let full = ConfigFile::load(&dir.join("full.conf")).unwrap();
    let c = &full.config;
    assert!(c.reference.is_some() && c.options.is_some() && c.peers.is_some());
    assert!(c.collect.is_some() && c.stage.is_some() && c.store.is_some() && c.purge.is_some());
    let pg = c
        .extensions
        .as_ref()
        .and_then(|e| {
            e.actions
                .iter()
                .find(|a| a.name.as_deref() == Some("postgresql"))
        })
        .expect("postgresql extension");
    assert_eq!(pg.module.as_deref(), Some("CedarBackup3.extend.postgresql"));
    assert_eq!(pg.function.as_deref(), Some("executeAction"));
    assert!(pg.index.is_some());

    let minimal = ConfigFile::load(&dir.join("minimal-postgresql.conf")).unwrap();
    assert!(minimal.config.extensions.is_none());
    assert!(minimal.config.collect.is_some() && minimal.has_section("postgresql"));

    let dependency = ConfigFile::load(&dir.join("dependency.conf")).unwrap();
    let ext = dependency.config.extensions.as_ref().unwrap();
    assert_eq!(ext.order_mode, Some(cedar_core::OrderMode::Dependency));
    assert!(ext.actions.iter().all(|a| a.depends.is_some()));

    // A master with a local, a managed and an unmanaged remote peer, and one of its peers.
    let master = ConfigFile::load(&dir.join("master.conf")).unwrap();
    let peers = &master.config.peers.as_ref().unwrap().peers;
    assert!(peers.iter().any(|p| p.is_local()));
    assert!(peers
        .iter()
        .any(|p| p.is_remote() && p.managed == Some(true)));
    assert!(peers
        .iter()
        .any(|p| p.is_remote() && p.managed != Some(true)));
    assert!(master.config.stage.is_some() && master.config.collect.is_some());
    let peer = ConfigFile::load(&dir.join("peer.conf")).unwrap();
    assert!(peer.config.collect.is_some() && peer.config.stage.is_none());

    // The four other collect-time extensions, declared and configured.
    let others = ConfigFile::load(&dir.join("collect-extensions.conf")).unwrap();
    let declared = &others.config.extensions.as_ref().unwrap().actions;
    for name in ["sysinfo", "mysql", "subversion", "mbox"] {
        let action = declared
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} declared"));
        assert_eq!(
            action.module.as_deref(),
            Some(format!("CedarBackup3.extend.{name}").as_str())
        );
        assert!(name == "sysinfo" || others.has_section(name), "{name}");
    }
}

/// The off-site sample's extension sections are valid for the extensions themselves.
#[test]
fn the_offsite_sample_sections_are_valid() {
    let path = cback_tests::workspace_root().join("config-samples/offsite.conf");
    let file = ConfigFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let encrypt = cedar_ext_encrypt::load_settings(&file).unwrap();
    assert_eq!(encrypt.mode.suffix(), ".age");
    let split = cedar_ext_split::load_settings(&file).unwrap();
    assert_eq!(split.part_bytes(), 1 << 30);
    let s3 = cedar_ext_amazons3::load_settings(&file).unwrap();
    assert_eq!(
        (s3.bucket(), s3.prefix()),
        ("example.com-backup", "staging")
    );
    assert!(matches!(
        s3.encryption,
        cedar_ext_amazons3::Encryption::Command(_)
    ));
}
