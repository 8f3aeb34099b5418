//! The parser's limits, each at its bound and one past it, and the length of every message
//! that quotes a value.

use std::path::Path;

use super::dom::limits;
use super::{ConfigError, ConfigFile};

fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
    ConfigFile::parse(text, Path::new("test.conf"))
}

/// `text` is refused for a limit, and the message says which.
fn assert_limit(text: &str, message: &str) {
    match parse(text) {
        Err(ConfigError::Limit { message: m, .. }) => {
            assert!(m.contains(message), "{m}");
            let shown = parse(text).unwrap_err().to_string();
            assert!(shown.contains("refused: "), "{shown}");
            assert_eq!(shown.lines().count(), 1, "{shown}");
        }
        other => panic!("expected a limit error with {message:?}, got {other:?}"),
    }
}

fn assert_accepted(text: &str) {
    if let Err(e) = parse(text) {
        panic!("refused: {e}");
    }
}

fn nested(depth: usize) -> String {
    format!(
        "<cb_config>{}{}</cb_config>",
        "<a>".repeat(depth - 1),
        "</a>".repeat(depth - 1)
    )
}

#[test]
fn nesting_is_bounded() {
    assert_accepted(&nested(limits::MAX_NESTING));
    assert_limit(
        &nested(limits::MAX_NESTING + 1),
        "elements are nested deeper than 100",
    );
}

#[test]
fn elements_are_bounded() {
    let siblings = |n: usize| format!("<cb_config>{}</cb_config>", "<a/>".repeat(n - 1));
    assert_accepted(&siblings(limits::MAX_ELEMENTS));
    assert_limit(
        &siblings(limits::MAX_ELEMENTS + 1),
        "the document has more than 100000 elements",
    );
}

#[test]
fn nodes_are_bounded() {
    let comments = |n: usize| format!("<cb_config>{}</cb_config>", "<!--c-->".repeat(n - 1));
    assert_accepted(&comments(limits::MAX_NODES));
    assert_limit(
        &comments(limits::MAX_NODES + 1),
        "the document has more than 300000 nodes",
    );
    // Runs of text count too: half the nodes here are text.
    let texts = format!(
        "<cb_config>{}</cb_config>",
        "t<!--c-->".repeat(limits::MAX_NODES / 2)
    );
    assert_limit(&texts, "more than 300000 nodes");
}

#[test]
fn attributes_are_bounded() {
    let attrs = |n: usize| {
        let a: String = (0..n).map(|i| format!(" a{i}='v'")).collect();
        format!("<cb_config{a}/>")
    };
    assert_accepted(&attrs(limits::MAX_ATTRIBUTES));
    assert_limit(
        &attrs(limits::MAX_ATTRIBUTES + 1),
        "an element has more than 256 attributes",
    );
}

#[test]
fn entity_declarations_are_bounded() {
    let decls = |n: usize| {
        let d: String = (0..n).map(|i| format!("<!ENTITY e{i} 'v'>")).collect();
        format!("<!DOCTYPE cb_config [{d}]><cb_config>&e0;</cb_config>")
    };
    assert_accepted(&decls(limits::MAX_ENTITY_DECLARATIONS));
    assert_limit(
        &decls(limits::MAX_ENTITY_DECLARATIONS + 1),
        "declares more than 10000 entities",
    );
}

#[test]
fn entity_expansion_is_bounded_in_content_attributes_and_declarations() {
    let value = "x".repeat(1024);
    let uses = |n: usize, at: &str| {
        let refs = "&e;".repeat(n);
        let body = match at {
            "text" => format!("<cb_config>{refs}</cb_config>"),
            _ => format!("<cb_config a='{refs}'/>"),
        };
        format!("<!DOCTYPE cb_config [<!ENTITY e '{value}'>]>{body}")
    };
    for at in ["text", "attribute"] {
        let exact = limits::MAX_ENTITY_EXPANSION / value.len();
        let root = parse(&uses(exact, at)).unwrap().config.raw.root.unwrap();
        let got = match at {
            "text" => root.first_text().unwrap().len(),
            _ => root.attrs[0].1.len(),
        };
        assert_eq!(got, limits::MAX_ENTITY_EXPANSION);
        assert_limit(
            &uses(exact + 1, at),
            "entity expansion exceeds 1048576 bytes",
        );
    }
    // Entities that refer to entities grow when they are declared: refused there, before any
    // of the document's content is read.
    let mut decls = String::from("<!ENTITY l0 'lol'>");
    for i in 1..10 {
        decls.push_str(&format!(
            "<!ENTITY l{i} '{}'>",
            format!("&l{};", i - 1).repeat(10)
        ));
    }
    assert_limit(
        &format!("<!DOCTYPE cb_config [{decls}]><cb_config/>"),
        "entity expansion exceeds",
    );
}

#[test]
fn limits_report_where_they_were_hit() {
    let text = format!("<cb_config>\n\n{}</cb_config>", "<a>".repeat(200));
    let Err(ConfigError::Limit { line, column, .. }) = parse(&text) else {
        panic!("expected a limit error")
    };
    assert_eq!((line, column), (3, 1 + 3 * (limits::MAX_NESTING - 1)));
}

#[test]
fn external_entities_are_refused_by_name() {
    for decl in [
        "<!ENTITY s SYSTEM '/etc/shadow'>",
        "<!ENTITY s PUBLIC 'p' 'file:///etc/shadow'>",
        // The first declaration binds: an internal one after it does not replace it.
        "<!ENTITY s SYSTEM '/etc/shadow'><!ENTITY s 'fine'>",
    ] {
        let err = parse(&format!(
            "<!DOCTYPE cb_config [{decl}]><cb_config>&s;</cb_config>"
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("`&s;` names an external entity, which cback never reads"),
            "{err}"
        );
    }
    let text =
        "<!DOCTYPE cb_config [<!ENTITY s 'fine'><!ENTITY s SYSTEM 'x'>]><cb_config>&s;</cb_config>";
    assert_eq!(
        parse(text).unwrap().config.raw.root.unwrap().first_text(),
        Some("fine")
    );
}

/// Replaces the text of every element of `doc` in turn by a 100,000-character value (plain,
/// and as an absolute path); whatever the parser and the validation report quotes the value
/// in at most a few hundred characters.
#[test]
fn messages_quote_long_values_short() {
    let doc = include_str!("../../../config-samples/full.conf");
    let texts: Vec<(usize, usize)> = doc
        .match_indices('>')
        .filter_map(|(i, _)| {
            let end = doc[i + 1..].find('<')? + i + 1;
            (end > i + 1 && !doc[i + 1..end].trim().is_empty()).then_some((i + 1, end))
        })
        .collect();
    assert!(texts.len() > 40, "{}", texts.len());
    let long = "x".repeat(100_000);
    let mut checked = 0;
    for &(start, end) in &texts {
        for value in [long.clone(), format!("/{long}"), format!("{long}\n")] {
            let text = format!("{}{value}{}", &doc[..start], &doc[end..]);
            let messages: Vec<String> = match parse(&text) {
                Err(e) => vec![e.to_string()],
                Ok(f) => f.validate().iter().map(ToString::to_string).collect(),
            };
            for m in messages {
                checked += 1;
                assert!(
                    m.len() < 600,
                    "element at byte {start}: a {} byte message: {}…",
                    m.len(),
                    &m[..300]
                );
            }
        }
    }
    assert!(checked > 40, "only {checked} messages were checked");
}
