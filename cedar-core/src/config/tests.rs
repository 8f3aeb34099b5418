use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
    ConfigFile::parse(text, Path::new("/etc/cback3.conf"))
}

#[derive(Debug, serde::Deserialize, PartialEq)]
enum CompressMode {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "gzip")]
    Gzip,
    #[serde(rename = "bzip2")]
    Bzip2,
}

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Pg {
    user: Option<String>,
    compress_mode: Option<CompressMode>,
    all: Option<bool>,
    #[serde(rename = "database", default)]
    databases: Vec<String>,
}

#[test]
fn section_reads_with_the_same_rules() {
    let f = parse(
        "<cb_config><postgresql><user/><user> u </user><compress_mode>gzip</compress_mode>\
         <compress_mode>bad</compress_mode><all>n</all><database>a</database><database/>\
         <database>b<!-- c -->x</database></postgresql></cb_config>",
    )
    .unwrap();
    assert!(f.has_section("postgresql"));
    assert!(!f.has_section("mysql"));
    let pg: Pg = f.section("postgresql").unwrap().unwrap();
    assert_eq!(
        pg,
        Pg {
            user: Some(" u ".into()),
            compress_mode: Some(CompressMode::Gzip),
            all: Some(false),
            databases: vec!["a".into(), "b".into()],
        }
    );
    assert_eq!(f.section::<Pg>("mysql").unwrap(), None);
}

#[test]
fn section_value_errors_name_the_element_and_value() {
    let f =
        parse("<cb_config><postgresql><compress_mode>zip</compress_mode></postgresql></cb_config>")
            .unwrap();
    let err = f.section::<Pg>("postgresql").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/cback3.conf: <postgresql><compress_mode>: `zip` is not one of none, gzip, bzip2"
    );
    let f = parse("<cb_config><postgresql><all>yes</all></postgresql></cb_config>").unwrap();
    let err = f.section::<Pg>("postgresql").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/cback3.conf: <postgresql><all>: `yes` is not a boolean; use Y or N"
    );
}

#[test]
fn empty_section_is_present_and_empty() {
    let f = parse("<cb_config><postgresql/></cb_config>").unwrap();
    assert!(f.has_section("postgresql"));
    let pg: Pg = f.section("postgresql").unwrap().unwrap();
    assert_eq!(pg.user, None);
    assert_eq!(pg.databases, Vec::<String>::new());
    let f = parse("<other><postgresql><user>u</user></postgresql></other>").unwrap();
    assert!(!f.has_section("postgresql"));
    assert_eq!(f.section::<Pg>("postgresql").unwrap(), None);
}

/// Every document of the compatibility table gets the original's outcome, both when only
/// parsed and when fully loaded.
#[test]
fn compatibility_table_matches_the_original() {
    let mut wrong = Vec::new();
    for (i, &(doc, parse_ok, load_ok)) in super::compat_cases::CASES.iter().enumerate() {
        let parsed = parse(doc);
        let got_parse = parsed.is_ok();
        let got_load = parsed.as_ref().is_ok_and(|f| f.validate().is_empty());
        if got_parse != parse_ok || got_load != load_ok {
            let detail = match &parsed {
                Err(e) => e.to_string(),
                Ok(f) => format!("{:?}", f.validate()),
            };
            wrong.push(format!(
                "#{i} {doc:?}\n    original: parse {parse_ok}, load {load_ok}; ours: parse {got_parse}, load {got_load}: {detail}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The reference documents from the original's test suite, when `shared/` is beside the
/// workspace. They add cases; the documents of [`OWN_DOCUMENTS`] are checked without them.
fn cb3_data() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/cb3-data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "{} is absent: checking cback's own documents only",
            dir.display()
        );
        None
    }
}

/// For each reference document: accepted by the original as it stands (full load), and
/// accepted once a valid `<options>` and an empty `<purge/>` are appended at the end of
/// `<cb_config>` (they only count where the document has none, as the first section wins).
/// Observed from the original.
const CB3_DATA: &[(&str, bool, bool)] = &[
    ("cback.conf.1", true, true),
    ("cback.conf.2", false, true),
    ("cback.conf.3", false, true),
    ("cback.conf.4", false, true),
    ("cback.conf.5", false, true),
    ("cback.conf.6", false, true),
    ("cback.conf.7", false, true),
    ("cback.conf.8", false, true),
    ("cback.conf.9", false, true),
    ("cback.conf.10", false, true),
    ("cback.conf.11", false, true),
    ("cback.conf.12", false, true),
    ("cback.conf.13", false, true),
    ("cback.conf.14", false, true),
    ("cback.conf.15", true, true),
    ("cback.conf.16", false, true),
    ("cback.conf.17", false, true),
    ("cback.conf.18", false, true),
    ("cback.conf.19", false, true),
    ("cback.conf.20", true, true),
    ("cback.conf.21", true, true),
    ("cback.conf.22", false, true),
    ("cback.conf.23", false, false),
    ("cback3.conf.sample", true, true),
    ("postgresql.conf.1", false, true),
    ("postgresql.conf.2", false, true),
    ("postgresql.conf.3", false, true),
    ("postgresql.conf.4", false, true),
    ("postgresql.conf.5", false, true),
];

/// Documents written for cback (`fixtures/`), in the same form as [`CB3_DATA`]: accepted by
/// the original as they stand, and once completed. Observed from the original (Cedar Backup
/// 3.12: `Config(xmlPath=...)` and `Config(xmlData=...)` with the completed text).
const OWN_DOCUMENTS: &[(&str, bool, bool)] = &[
    ("collect-only.conf", false, true),
    ("dependency-order.conf", true, true),
    ("other-root.conf", false, false),
    ("peers-only.conf", false, true),
    ("purge-and-stage.conf", true, true),
    ("reading-rules.conf", true, true),
    ("rejected-dereference.conf", false, false),
    ("rejected-duplicate-peer.conf", false, false),
    ("rejected-managed-peer.conf", false, false),
    ("site-complete.conf", true, true),
    ("stage-own-peers.conf", false, true),
    ("store-cd.conf", false, true),
];

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/fixtures")
}

/// Every document with the original's outcomes: cback's own, then the reference documents
/// when they are there. (label, path, load_ok, completed_ok).
fn documents() -> Vec<(String, std::path::PathBuf, bool, bool)> {
    let mut docs: Vec<_> = OWN_DOCUMENTS
        .iter()
        .map(|&(name, load, completed)| (name.to_string(), fixtures().join(name), load, completed))
        .collect();
    if let Some(dir) = cb3_data() {
        docs.extend(CB3_DATA.iter().map(|&(name, load, completed)| {
            (format!("cb3-data/{name}"), dir.join(name), load, completed)
        }));
    }
    docs
}

#[test]
fn every_fixture_has_the_originals_outcome() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = OWN_DOCUMENTS.iter().map(|&(name, _, _)| name).collect();
    assert_eq!(
        on_disk, listed,
        "OWN_DOCUMENTS lists the files of fixtures/, sorted"
    );
    // Both outcomes occur in both columns, so that the comparison can fail either way.
    for column in [|d: &(&str, bool, bool)| d.1, |d: &(&str, bool, bool)| d.2] {
        assert!(OWN_DOCUMENTS.iter().any(column));
        assert!(!OWN_DOCUMENTS.iter().all(column));
    }
}

const BASE_SECTIONS: &str =
    "<options><starting_day>monday</starting_day><working_dir>/w</working_dir>\
    <backup_user>u</backup_user><backup_group>g</backup_group><rcp_command>scp</rcp_command>\
    </options><purge/>";

fn with_base_sections(text: &str) -> String {
    match text.rfind("</cb_config>") {
        Some(i) => format!("{}{BASE_SECTIONS}{}", &text[..i], &text[i..]),
        None => text.replace(
            "<cb_config/>",
            &format!("<cb_config>{BASE_SECTIONS}</cb_config>"),
        ),
    }
}

#[test]
fn reference_documents_match_the_original() {
    let mut wrong = Vec::new();
    for (name, path, load_ok, completed_ok) in documents() {
        let loaded = ConfigFile::load(&path);
        if loaded.is_ok() != load_ok {
            wrong.push(format!("{name}: load: original {load_ok}, ours {loaded:?}"));
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let completed = ConfigFile::parse(&with_base_sections(&text), &path).map(|f| f.validate());
        if completed.as_ref().is_ok_and(|p| p.is_empty()) != completed_ok {
            wrong.push(format!(
                "{name}: completed: original {completed_ok}, ours {completed:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// parse → to_xml → parse gives the same configuration, the same extension sections and the
/// same validation outcome.
fn assert_round_trip(text: &str, what: &str) {
    let Ok(first) = parse(text) else { return };
    let xml = first.to_xml();
    let second = parse(&xml)
        .unwrap_or_else(|e| panic!("{what}: written document does not parse: {e}\n{xml}"));
    assert_eq!(first.config, second.config, "{what}:\n{xml}");
    let a: Vec<_> = first.config.raw.extension_sections().collect();
    let b: Vec<_> = second.config.raw.extension_sections().collect();
    assert_eq!(a, b, "{what}: extension sections differ:\n{xml}");
    assert_eq!(
        first.validate().is_empty(),
        second.validate().is_empty(),
        "{what}:\n{xml}"
    );
    // Writing is stable.
    assert_eq!(xml, second.to_xml(), "{what}");
}

#[test]
fn round_trip_of_every_table_document() {
    for (i, &(doc, _, _)) in super::compat_cases::CASES.iter().enumerate() {
        assert_round_trip(doc, &format!("case #{i}"));
    }
}

#[test]
fn round_trip_of_reference_documents() {
    for (name, path, _, _) in documents() {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(parse(&text).is_ok(), "{name} parses");
        assert_round_trip(&text, &name);
    }
}

#[test]
fn value_errors_name_file_element_and_value() {
    let err = parse(
        "<cb_config><collect><dir><abs_path>/x</abs_path><collect_mode>hourly</collect_mode></dir></collect></cb_config>",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/cback3.conf: <collect><dir><collect_mode>: `hourly` is not one of daily, weekly, incr"
    );
    assert_eq!(
        err.problems(),
        vec![Problem::new(
            "<collect><dir><collect_mode>",
            "`hourly` is not one of daily, weekly, incr"
        )]
    );
    let err =
        parse("<cb_config><purge><dir><retain_days>7.5</retain_days></dir></purge></cb_config>")
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/cback3.conf: <purge><dir><retain_days>: `7.5` is not an integer; write a whole number such as 7"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the integer error is kept as the source"
    );
    let err =
        parse("<cb_config><store><check_data>yes</check_data></store></cb_config>").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/cback3.conf: <store><check_data>: `yes` is not a boolean; use Y or N"
    );
    // The older spelling is named when it is the one read.
    let err =
        parse("<cb_config><collect><file><mode>x</mode></file></collect></cb_config>").unwrap_err();
    assert!(
        err.to_string()
            .contains("<collect><file><mode>: `x` is not one of"),
        "{err}"
    );
}

#[test]
fn malformed_xml_names_file_line_and_column() {
    let err = parse("<cb_config>\n  <options>\n</cb_config>").unwrap_err();
    let ConfigError::Malformed { line, column, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*line, *column), (3, 1));
    assert!(
        err.to_string()
            .starts_with("/etc/cback3.conf: line 3, column 1: malformed XML: mismatched tag"),
        "{err}"
    );
    let err = parse("<cb_config>&nbsp;</cb_config>").unwrap_err();
    assert!(
        err.to_string().contains("line 1, column 12")
            && err.to_string().contains("undefined entity"),
        "{err}"
    );
}

#[test]
fn every_whole_document_problem_is_reported_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cback3.conf");
    std::fs::write(
        &path,
        "<cb_config><options><starting_day>monday</starting_day></options>\
         <store><media_type>dvd+r</media_type></store></cb_config>",
    )
    .unwrap();
    let err = ConfigFile::load(&path).unwrap_err();
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("{err:?}")
    };
    let elements: Vec<&str> = problems.iter().map(|p| p.element.as_str()).collect();
    assert_eq!(
        elements,
        [
            "<options><working_dir>",
            "<options><backup_user>",
            "<options><backup_group>",
            "<options><rcp_command>",
            "<store><source_dir>",
            "<store><target_device>",
            "<store><media_type>",
        ]
    );
    let text = err.to_string();
    assert_eq!(text.lines().count(), problems.len());
    for line in text.lines() {
        assert!(
            line.starts_with(&format!("{}: <", path.display())),
            "{line}"
        );
    }
    assert!(
        text.contains("<store><media_type>: `dvd+r` media does not fit device type cdwriter"),
        "{text}"
    );
}

#[test]
fn read_errors_keep_the_io_error() {
    let err = ConfigFile::load(Path::new("/nonexistent/cback3.conf")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(std::error::Error::source(&err).is_some());
    assert!(
        err.to_string()
            .starts_with("/nonexistent/cback3.conf: cannot read"),
        "{err}"
    );
}

#[test]
fn reading_rules() {
    let c = Config::from_xml(
        "<cb_config><options><backup_user/><backup_user> bob </backup_user>\
         <rcp_command>scp<!-- x -->-B</rcp_command><rsh_command>a&amp;b</rsh_command>\
         <cback_command><![CDATA[ignored]]></cback_command>\
         <managed_actions> a , ,b,</managed_actions></options>\
         <extensions><action><depends/></action><action><depends><run_before>x, y</run_before></depends></action></extensions>\
         <collect><dir><mode>incr</mode><collect_mode>daily</collect_mode></dir>\
         <dir><collect_mode/><mode/></dir><exclude><rel_path>r</rel_path></exclude></collect>\
         <peers><peer><type>local</type><managed>bad</managed><backup_user>x</backup_user></peer>\
         <peer><type>other</type><collect_dir>rel</collect_dir></peer></peers></cb_config>",
    )
    .unwrap();
    let o = c.options.unwrap();
    assert_eq!(o.backup_user.as_deref(), Some(" bob "));
    assert_eq!(o.rcp_command.as_deref(), Some("scp"));
    assert_eq!(o.rsh_command.as_deref(), Some("a&b"));
    assert_eq!(o.cback_command, None);
    assert_eq!(
        o.managed_actions,
        Some(vec!["a".to_string(), "b".to_string()])
    );
    let ext = c.extensions.unwrap();
    assert_eq!(ext.actions[0].depends, Some(ActionDependencies::default()));
    assert_eq!(
        ext.actions[1].depends.as_ref().unwrap().run_before,
        ["x", "y"]
    );
    let col = c.collect.unwrap();
    assert_eq!(col.dirs[0].collect_mode, Some(CollectMode::Incr));
    assert_eq!(col.dirs[1].collect_mode, None);
    assert!(
        col.exclude.unwrap().rel_paths.is_empty(),
        "rel_path is only read under <dir>"
    );
    let peers = c.peers.unwrap().peers;
    assert_eq!(
        peers[0].backup_user, None,
        "remote-only fields are not read for local peers"
    );
    assert_eq!(
        peers[1].collect_dir, None,
        "peers of another type are ignored"
    );
    // Another root: every section absent.
    let c = Config::from_xml("<config><options><backup_user>x</backup_user></options></config>")
        .unwrap();
    assert_eq!(c, Config::default());
}

/// cback's own documents read as the original reads them (values observed from the original).
#[test]
fn own_documents_read_as_the_original_reads_them() {
    let load = |name: &str| {
        let path = fixtures().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        ConfigFile::parse(&text, &path).unwrap().config
    };
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let c = load("reading-rules.conf");
    let o = c.options.unwrap();
    assert_eq!(
        o.starting_day,
        Some(Weekday::Tuesday),
        "the first value wins"
    );
    assert_eq!(o.working_dir.as_deref(), Some("/var/harbour/work"));
    assert_eq!(o.backup_user.as_deref(), Some("backup"));
    assert_eq!(o.backup_group.as_deref(), Some("backup"));
    assert_eq!(o.cback_command, None, "CDATA is not text");
    assert_eq!(o.managed_actions, Some(strings(&["collect", "purge"])));
    let purge = c.purge.unwrap();
    assert_eq!(purge.dirs.len(), 1);
    assert_eq!(
        purge.dirs[0].abs_path.as_deref(),
        Some("/var/harbour/stage")
    );
    assert_eq!(purge.dirs[0].retain_days, Some(3));

    let peers = load("peers-only.conf").peers.unwrap().peers;
    let names: Vec<_> = peers
        .iter()
        .filter(|p| matches!(p.peer_type.as_deref(), Some("local" | "remote")))
        .filter_map(|p| p.name.as_deref())
        .collect();
    assert_eq!(names, ["nas", "laptop-anna", "build01"]);
    assert_eq!(peers[3].collect_dir, None, "the snmp peer is not read");
    assert_eq!(peers[1].backup_user.as_deref(), Some("anna"));
    assert_eq!(peers[1].managed, None);
    assert_eq!(peers[2].managed, Some(true));
    assert_eq!(peers[2].managed_actions, Some(strings(&["collect"])));

    let collect = load("collect-only.conf").collect.unwrap();
    let files: Vec<_> = collect
        .files
        .iter()
        .map(|f| (f.abs_path.as_deref(), f.collect_mode, f.archive_mode))
        .collect();
    assert_eq!(
        files,
        [
            (Some("/boot/grub/grub.cfg"), Some(CollectMode::Weekly), None),
            (
                Some("/etc/hosts"),
                Some(CollectMode::Daily),
                Some(ArchiveMode::Targz)
            ),
        ],
        "<mode> wins over <collect_mode>"
    );
    let mail = &collect.dirs[0];
    assert_eq!(mail.collect_mode, Some(CollectMode::Incr));
    assert_eq!(mail.ignore_file.as_deref(), Some(".keep-out"));
    assert_eq!((mail.link_depth, mail.recursion_level), (None, Some(-1)));
    let projects = &collect.dirs[1];
    assert_eq!(projects.archive_mode, Some(ArchiveMode::Tarbz2));
    assert_eq!(
        (projects.link_depth, projects.dereference),
        (Some(1), Some(true))
    );
    let exclude = projects.exclude.as_ref().unwrap();
    assert_eq!(exclude.rel_paths, strings(&["node_modules", "target"]));
    assert_eq!(exclude.patterns, strings(&[r".*/\.git/objects/.*"]));

    let actions = load("dependency-order.conf").extensions.unwrap().actions;
    let depends: Vec<_> = actions
        .iter()
        .map(|a| {
            let d = a.depends.clone().unwrap_or_default();
            (a.name.clone().unwrap(), d.run_before, d.run_after)
        })
        .collect();
    assert_eq!(
        depends,
        [
            ("postgresql".to_string(), strings(&["collect"]), vec![]),
            (
                "snapshot".to_string(),
                strings(&["postgresql", "collect"]),
                vec![]
            ),
            ("notify".to_string(), vec![], strings(&["store", "purge"])),
            ("audit".to_string(), vec![], vec![]),
        ]
    );
}

/// A small deterministic generator (xorshift64*), so that failures can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "/",
    "&",
    ";",
    "&amp;",
    "&#x41;",
    "&#0;",
    "&bogus;",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?pi x?>",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE cb_config [<!ENTITY e \"v\">]>",
    "&e;",
    "\"",
    "'",
    " ",
    "\n",
    "\r\n",
    "\t",
    "Y",
    "N",
    "-1",
    "0",
    "99999999999999999999",
    "1.5",
    "nan",
    ",",
    "/abs",
    "rel",
    "<dir/>",
    "<peer><type>remote</type><managed>Y</managed></peer>",
    "<depends/>",
    "<options/>",
    "<collect_mode>incr</collect_mode>",
    "<mode>weekly</mode>",
    "<pattern>(</pattern>",
    "<pattern>(?&lt;=a|bc)</pattern>",
    "\u{e9}",
    "\u{feff}",
    "\u{1}",
    "x:y",
    "xmlns:x=\"u\"",
];

const NAMES: &[&str] = &[
    "cb_config",
    "options",
    "collect",
    "stage",
    "store",
    "purge",
    "peers",
    "peer",
    "extensions",
    "action",
    "depends",
    "dir",
    "file",
    "exclude",
    "abs_path",
    "collect_mode",
    "mode",
    "index",
    "name",
    "type",
    "managed",
    "link_depth",
    "dereference",
    "blank_behavior",
    "factor",
    "postgresql",
    "database",
    "x",
    "a:b",
];

fn mutate(rng: &mut Rng, doc: &str) -> String {
    let mut chars: Vec<char> = doc.chars().collect();
    for _ in 0..1 + rng.below(2) {
        let len = chars.len();
        let mut at = rng.below(len + 1).min(len);
        if rng.below(2) == 0 {
            // Most of the time, stay between tags so that the document stays well-formed.
            while at < len && chars[at] != '<' {
                at += 1;
            }
        }
        match rng.below(9) {
            0 if at < len => {
                chars.remove(at);
            }
            1 if at < len => chars.insert(at, chars[at]),
            2 if at + 1 < len => chars.swap(at, at + 1),
            3 => chars.truncate(at),
            4 => {
                let f: Vec<char> = rng.pick(FRAGMENTS).chars().collect();
                chars.splice(at..at, f);
            }
            5 => {
                // Rename an element: replace the name after a `<` or `</`.
                let text: String = chars.iter().collect();
                let starts: Vec<usize> = text.match_indices('<').map(|(i, _)| i).collect();
                if let Some(&i) = starts.get(rng.below(starts.len())) {
                    let rest = &text[i + 1..];
                    let skip = usize::from(rest.starts_with('/'));
                    let end = rest[skip..]
                        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                        .unwrap_or(rest.len() - skip);
                    let new = format!(
                        "{}{}{}",
                        &text[..i + 1 + skip],
                        rng.pick(NAMES),
                        &rest[skip + end..]
                    );
                    chars = new.chars().collect();
                }
            }
            6 if at < len => {
                // Duplicate a span.
                let from = at;
                let to = (from + rng.below(200)).min(len);
                let span: Vec<char> = chars[from..to].to_vec();
                let at = rng.below(chars.len() + 1);
                chars.splice(at..at, span);
            }
            7 if len > 0 => {
                // Delete a span.
                let from = rng.below(len);
                let to = (from + rng.below(80)).min(len);
                chars.drain(from..to);
            }
            _ => {
                let f = format!("<{0}>{1}</{0}>", rng.pick(NAMES), rng.pick(FRAGMENTS));
                chars.splice(at..at, f.chars());
            }
        }
    }
    chars.into_iter().collect()
}

/// Thousands of mutated documents: parsing, validating, reading sections and writing back
/// never panic, and whatever parses writes back to an equal document.
#[test]
fn mutated_documents_never_panic() {
    // Two pools drawn from equally often: the small documents of the compatibility table
    // that the original accepts, and the whole documents (cback's own, then the reference
    // documents when they are there), which reach every section.
    let small: Vec<String> = super::compat_cases::CASES
        .iter()
        .filter(|(_, _, ok)| *ok)
        .map(|(d, _, _)| d.to_string())
        .collect();
    let whole: Vec<String> = documents()
        .into_iter()
        .map(|(_, path, _, _)| std::fs::read_to_string(path).unwrap())
        .collect();
    let mut rng = Rng(0x5EED_CBAC_0001);
    let (mut ok, mut err) = (0, 0);
    for round in 0..8000 {
        let pool = if round % 2 == 0 { &small } else { &whole };
        let seed = &pool[rng.below(pool.len())];
        let doc = mutate(&mut rng, seed);
        match parse(&doc) {
            Ok(f) => {
                ok += 1;
                let _ = f.validate();
                let _ = f.section::<serde_json::Value>("options");
                let _ = f.section::<std::collections::HashMap<String, String>>("postgresql");
                let _ = f.section::<Config>("options");
                let xml = f.to_xml();
                let again = parse(&xml).unwrap_or_else(|e| {
                    panic!("round {round}: written form does not parse: {e}\n{doc:?}\n{xml}")
                });
                assert_eq!(f.config, again.config, "round {round}: {doc:?}\n{xml}");
            }
            Err(e) => {
                err += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    eprintln!(
        "{} + {} seeds: {ok} mutated documents parsed, {err} refused",
        small.len(),
        whole.len()
    );
    assert!(
        ok > 500 && err > 500,
        "mutations should both pass and fail: {ok} ok, {err} errors"
    );
}

/// Differential check against a file of `[document, parse_ok, load_ok]` triples recorded from
/// the original: `CBACK_CONFIG_DIFF=cases.json cargo test -- --ignored differential`.
#[test]
#[ignore]
fn differential_from_recorded_outcomes() {
    let Ok(path) = std::env::var("CBACK_CONFIG_DIFF") else {
        return;
    };
    let cases: Vec<(String, bool, bool)> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut wrong = Vec::new();
    for (doc, parse_ok, load_ok) in &cases {
        let parsed = parse(doc);
        let got_load = parsed.as_ref().is_ok_and(|f| f.validate().is_empty());
        if parsed.is_ok() != *parse_ok || got_load != *load_ok {
            let detail = match &parsed {
                Err(e) => e.to_string(),
                Ok(f) => format!("{:?}", f.validate()),
            };
            wrong.push(format!(
                "{doc:?}\n    original: {parse_ok}/{load_ok}; ours: {}/{got_load}: {detail}",
                parsed.is_ok()
            ));
        }
    }
    println!("{} of {} differ", wrong.len(), cases.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn non_utf8_files_are_malformed_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.conf");
    std::fs::write(
        &path,
        b"<cb_config>\n<options><backup_user>\xe9</backup_user></options></cb_config>",
    )
    .unwrap();
    let err = ConfigFile::load(&path).unwrap_err();
    let ConfigError::Malformed { line, column, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*line, *column), (2, 23));
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn retention_policies_are_read_and_refused_policies_are_configuration_errors() {
    let dir = |inner: &str| {
        format!("<cb_config><purge><dir><abs_path>/s</abs_path><retain_days>7</retain_days>{inner}</dir></purge></cb_config>")
    };
    let c = parse(&dir(
        "<keep_daily>7</keep_daily><keep_monthly> 12 </keep_monthly><keep_within>30d</keep_within>",
    ))
    .unwrap()
    .config;
    let policy = c.purge.unwrap().dirs[0].policy().unwrap().unwrap();
    assert_eq!(
        policy.to_string(),
        "keep_daily 7, keep_monthly 12, keep_within 30d, keep_min 1"
    );
    let err = parse(&dir("<keep_min>2</keep_min>")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/etc/cback3.conf: <purge><dir>: the policy keeps nothing by its rules"),
        "{err}"
    );
    let err = parse(&dir(
        "<keep_daily>7</keep_daily><keep_within>a year</keep_within>",
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("<keep_within>: `a year` is not a duration"),
        "{err}"
    );
    let err = parse(&dir("<keep_weekly>-2</keep_weekly>")).unwrap_err();
    assert!(
        err.to_string().contains("<keep_weekly>: `-2` is negative"),
        "{err}"
    );
    let err = parse(&dir("<keep_last>many</keep_last>")).unwrap_err();
    assert!(err.to_string().contains("<keep_last>"), "{err}");
}

#[test]
fn stage_jobs_defaults_to_four_and_must_be_at_least_one() {
    let stage = |inner: &str| format!("<cb_config><stage>{inner}</stage></cb_config>");
    let config = parse(&stage("<staging_dir>/s</staging_dir>")).unwrap();
    assert_eq!(config.config.stage.as_ref().unwrap().jobs, None);
    assert_eq!(
        config.config.stage.unwrap().jobs(),
        StageConfig::DEFAULT_JOBS
    );
    let config = parse(&stage("<jobs>1</jobs>")).unwrap();
    assert_eq!(config.config.stage.unwrap().jobs(), 1);
    let err = parse(&stage("<jobs>0</jobs>")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/cback3.conf: <stage><jobs>: `0` is out of range; use an integer >= 1"
    );
    let err = parse(&stage("<jobs>many</jobs>")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/cback3.conf: <stage><jobs>: `many` is not an integer; write a whole number such as 7"
    );
}
