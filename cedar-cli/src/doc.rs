//! The reference documentation in `doc/`: one Markdown file per topic, installed under
//! `/usr/share/doc/cback/` and named by the SEE ALSO sections of `cback(1)` and `cback.conf(5)`.
//! Its tests check that every file is there, packaged and named by both pages, and that the
//! files name every configuration element the parser reads.

/// Where the Debian package installs the documentation.
pub const DOC_DIR: &str = "/usr/share/doc/cback";

/// The files of `doc/`, each with what it covers.
pub const DOC_FILES: &[(&str, &str)] = &[
    (
        "configuration.md",
        "every section and element, and the limits on a document",
    ),
    (
        "command-line.md",
        "switches, actions, exit status, --dry-run",
    ),
    (
        "differences.md",
        "what cback does differently from the original, on purpose",
    ),
    (
        "postgresql.md",
        "the postgresql extension: settings, verification, manifest, pgverify",
    ),
    ("restore.md", "cback-restore: list, restore, drill"),
    (
        "monitoring.md",
        "cback-status.json and the node_exporter textfile",
    ),
    (
        "performance.md",
        "how the dumps stream and compress, and what they cost",
    ),
    ("collect-and-purge.md", "collect and purge"),
    ("stage.md", "stage and managed peers"),
    (
        "store.md",
        "store, rebuild, initialize, capacity and cback-span",
    ),
    (
        "offsite.md",
        "encrypt, split, amazons3 and cback-amazons3-sync",
    ),
    (
        "extensions.md",
        "the mysql, sysinfo, subversion and mbox extensions",
    ),
    (
        "testing.md",
        "what scripts/demo.sh and scripts/test.sh install and run",
    ),
    ("crates.md", "the crates of the workspace"),
];

use cedar_core::{section_element_paths, Config};

/// Every element path the parser reads, each as `<section><element>…`: the standard sections
/// and each extension's own section.
pub fn config_element_paths() -> Vec<String> {
    let mut paths = section_element_paths::<Config>("");
    paths.extend(section_element_paths::<
        cedar_ext_postgresql::PostgresqlSection,
    >("<postgresql>"));
    paths.extend(section_element_paths::<cedar_ext_capacity::CapacitySection>("<capacity>"));
    paths.extend(section_element_paths::<cedar_ext_mysql::MysqlSection>(
        "<mysql>",
    ));
    paths.extend(section_element_paths::<
        cedar_ext_subversion::SubversionSection,
    >("<subversion>"));
    paths.extend(section_element_paths::<cedar_ext_mbox::MboxSection>(
        "<mbox>",
    ));
    paths.extend(section_element_paths::<cedar_ext_encrypt::EncryptSection>(
        "<encrypt>",
    ));
    paths.extend(section_element_paths::<cedar_ext_split::SplitSection>(
        "<split>",
    ));
    paths.extend(section_element_paths::<cedar_ext_amazons3::AmazonS3Section>("<amazons3>"));
    paths
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn read(path: &str) -> String {
        let path = workspace_root().join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The names of a path `<a><b><c>`: `a`, `b`, `c`.
    fn names(path: &str) -> Vec<&str> {
        path.trim_start_matches('<')
            .trim_end_matches('>')
            .split("><")
            .collect()
    }

    #[test]
    fn doc_holds_exactly_the_listed_files() {
        let mut on_disk: Vec<String> = std::fs::read_dir(workspace_root().join("doc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = DOC_FILES.iter().map(|(f, _)| f.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
        // Installed beside the README, which a file of doc/ must not replace.
        assert!(!listed.iter().any(|f| f == "README.md"));
    }

    #[test]
    fn the_package_the_readme_and_both_man_pages_name_every_doc_file() {
        let cargo_toml = read("cedar-cli/Cargo.toml");
        assert!(
            cargo_toml.contains(&format!(
                r#"["../doc/*.md", "{}/", "644"]"#,
                DOC_DIR.trim_start_matches('/')
            )),
            "the Debian package's assets do not install doc/*.md into {DOC_DIR}"
        );
        let readme = read("README.md");
        let conf_5 = read("dist/cback.conf.5").replace("\\-", "-");
        let see_also = &conf_5[conf_5.find(".SH SEE ALSO").expect("SEE ALSO")..];
        crate::link_registrations();
        let cback_1 = String::from_utf8(crate::dist::man_page())
            .unwrap()
            .replace("\\-", "-");
        for (file, _) in DOC_FILES {
            assert!(
                readme.contains(&format!("](doc/{file})")),
                "README.md: {file}"
            );
            assert!(
                see_also.contains(&format!(".I {file}\n")),
                "cback.conf.5: {file}"
            );
            assert!(cback_1.contains(file), "cback.1: {file}");
        }
    }

    /// doc/configuration.md has one table row per section, `| `<section>` | elements | files |`,
    /// where an element with children is followed by them in parentheses; every element path
    /// the parser reads must be in it, and every file named there must exist.
    #[test]
    fn doc_configuration_names_every_element_the_parser_reads() {
        let page = read("doc/configuration.md");
        let row = |section: &str| -> Option<&str> {
            page.lines()
                .find(|l| l.starts_with(&format!("| `<{section}>` |")))
        };
        let paths = config_element_paths();
        assert!(paths.len() > 150, "{}", paths.len());
        let mut missing = Vec::new();
        for path in &paths {
            let names = names(path);
            let Some(row) = row(names[0]) else {
                missing.push(path.clone());
                continue;
            };
            let (parents, leaf) = names[1..].split_at(names.len().saturating_sub(2));
            let found = names.len() == 1
                || (row.contains(&format!("`<{}>`", leaf[0]))
                    && parents.iter().all(|p| row.contains(&format!("`<{p}>` ("))));
            if !found {
                missing.push(path.clone());
            }
        }
        assert!(
            missing.is_empty(),
            "doc/configuration.md does not name: {missing:?}"
        );
        for link in page.split("](").skip(1) {
            let target = &link[..link.find(')').unwrap()];
            let file = target.split('#').next().unwrap();
            if !file.is_empty() && !file.contains("://") {
                assert!(
                    workspace_root().join("doc").join(file).exists(),
                    "doc/configuration.md links to {target}"
                );
            }
        }
    }
}
