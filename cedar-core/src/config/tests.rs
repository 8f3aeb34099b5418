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
