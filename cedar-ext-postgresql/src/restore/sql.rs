//! Reading a plain SQL dump as it streams to psql: which tables it creates, how many rows its
//! data section holds for each (`COPY … FROM stdin;` blocks, one row a line), whether it ends
//! with pg_dump's completion marker, and, when it is restored under another name, the lines
//! of a `pg_dump --create` dump that name the original database rewritten.
//!
//! A `--create` dump starts with `CREATE DATABASE orig …` and `\connect orig`, and may say
//! `ALTER DATABASE orig …`, `COMMENT ON DATABASE orig …`, `GRANT … ON DATABASE orig …`.
//! Restored as they stand, they would create or change the original database. So outside data
//! blocks `CREATE DATABASE` and `\connect` lines are dropped (the restore is already connected
//! to the target) and the other statements name the target instead.
//!
//! A statement is recognised only inside the entry pg_dump (or pg_restore) announces for it
//! with its `-- Name: …; Type: …;` comment (`TABLE` for `CREATE TABLE`, `TABLE DATA` for
//! `COPY`, `DATABASE` for `CREATE DATABASE`, …): a function body whose lines look like these
//! statements is left alone and not counted.

use std::collections::BTreeMap;

/// pg_dump's (and pg_dumpall's) last comment, written only when the dump completed.
const COMPLETE_MARKERS: [&str; 2] = [
    "-- PostgreSQL database dump complete",
    "-- PostgreSQL database cluster dump complete",
];

/// The line filter and counter.
#[derive(Debug)]
pub struct SqlScan {
    /// The original database's name as the dump may spell it (bare and quoted), with the
    /// target's quoted name to put instead; `None` leaves every line as it is.
    rewrite: Option<(Vec<String>, String)>,
    copying: Option<String>,
    /// The `Type:` of the entry whose lines are being read.
    entry: String,
    partial: Vec<u8>,
    /// Every table the dump creates or loads, with the rows its data section holds.
    pub tables: BTreeMap<String, u64>,
    /// The completion marker was seen.
    pub complete: bool,
    /// Lines dropped or rewritten (for the log).
    pub rewritten: u64,
}

/// `name` quoted as an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as an SQL string literal (standard_conforming_strings on).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl SqlScan {
    /// A scan that only counts.
    pub fn counting() -> SqlScan {
        SqlScan {
            rewrite: None,
            copying: None,
            entry: String::new(),
            partial: Vec::new(),
            tables: BTreeMap::new(),
            complete: false,
            rewritten: 0,
        }
    }

    /// A scan that also points the statements naming `original` at `target`.
    pub fn retargeting(original: &str, target: &str) -> SqlScan {
        let mut scan = SqlScan::counting();
        scan.rewrite = Some((
            vec![original.to_string(), quote_ident(original)],
            quote_ident(target),
        ));
        scan
    }

    /// Scans `data`, appending what psql is to get to `out`. A line split between calls is
    /// held back until its end arrives.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let (line, after) = rest.split_at(pos + 1);
            rest = after;
            if self.partial.is_empty() {
                self.line(line, out);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole, out);
            }
        }
        self.partial.extend_from_slice(rest);
    }

    /// Scans the last line (one without a newline), if any.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let last = std::mem::take(&mut self.partial);
        if !last.is_empty() {
            self.line(&last, out);
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        if let Some(table) = &self.copying {
            if line == b"\\.\n" || line == b"\\." {
                self.copying = None;
            } else if let Some(rows) = self.tables.get_mut(table) {
                *rows += 1;
            }
            out.extend_from_slice(line);
            return;
        }
        let text = String::from_utf8_lossy(line);
        let trimmed = text.trim_end_matches(['\n', '\r']);
        if trimmed.starts_with("-- Name: ") || trimmed.starts_with("-- Data for Name: ") {
            self.entry = entry_type(trimmed).to_string();
        } else if let Some(rest) = trimmed.strip_prefix("COPY ") {
            if self.entry == "TABLE DATA" && trimmed.ends_with(" FROM stdin;") {
                let table = qualified_name(rest).to_string();
                self.tables.entry(table.clone()).or_insert(0);
                self.copying = Some(table);
            }
        } else if let Some(rest) = ["CREATE TABLE ", "CREATE UNLOGGED TABLE "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        {
            if self.entry == "TABLE" {
                self.tables
                    .entry(qualified_name(rest).to_string())
                    .or_insert(0);
            }
        } else if COMPLETE_MARKERS.contains(&trimmed) {
            self.complete = true;
        }
        if let Some((names, target)) = &self.rewrite {
            let creates = self.entry == "DATABASE" && trimmed.starts_with("CREATE DATABASE ");
            if creates || trimmed.starts_with("\\connect ") {
                self.rewritten += 1;
                return;
            }
            let database_entry = matches!(
                self.entry.as_str(),
                "DATABASE" | "DATABASE PROPERTIES" | "COMMENT" | "ACL" | "SECURITY LABEL"
            );
            let names_database = database_entry
                && [
                    "ALTER DATABASE ",
                    "COMMENT ON DATABASE ",
                    "GRANT ",
                    "REVOKE ",
                    "SECURITY LABEL ",
                ]
                .iter()
                .any(|p| trimmed.starts_with(p));
            if names_database {
                for name in names {
                    let from = format!("DATABASE {name}");
                    if let Some(at) = trimmed.find(&from) {
                        let after = &trimmed[at + from.len()..];
                        if after.starts_with([' ', ';']) {
                            let new = format!("{}DATABASE {target}{after}\n", &trimmed[..at]);
                            out.extend_from_slice(new.as_bytes());
                            self.rewritten += 1;
                            return;
                        }
                    }
                }
            }
        }
        out.extend_from_slice(line);
    }
}

/// The `Type:` of a `-- Name: t; Type: TABLE; Schema: public; Owner: o` comment.
fn entry_type(header: &str) -> &str {
    header
        .split("; ")
        .find_map(|part| part.strip_prefix("Type: "))
        .unwrap_or("")
}

/// The qualified name at the start of `text` (`public.t`, `"my schema"."T 1"`), up to the
/// first space or parenthesis outside quotes.
fn qualified_name(text: &str) -> &str {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '(' | ';' if !quoted => return &text[..i],
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE_DUMP: &str =
        "--\n\\restrict K\n-- Name: shop; Type: DATABASE; Schema: -; Owner: postgres\n\
CREATE DATABASE shop WITH TEMPLATE = template0;\n\n\
ALTER DATABASE shop OWNER TO postgres;\n\\unrestrict K\n\\connect shop\n\\restrict K\n\
-- Name: f(); Type: FUNCTION; Schema: public; Owner: postgres\n\
CREATE FUNCTION public.f() RETURNS text AS $$\nCREATE TABLE public.not_a_table (\n\
COPY public.not_data FROM stdin;\nCREATE DATABASE not_this;\nALTER DATABASE shop OWNER TO x;\n$$;\n\
-- Name: t; Type: TABLE; Schema: public; Owner: postgres\n\
CREATE TABLE public.t (\n    a integer\n);\n\
-- Name: T (x); Type: TABLE; Schema: my s; Owner: postgres\n\
CREATE TABLE \"my s\".\"T (x)\" (\n);\n\
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: postgres\n\
COPY public.t (a, b) FROM stdin;\n1\tx\nALTER DATABASE shop SET x TO 1;\n\\connect shop\n\\.\n\
-- Name: DATABASE shop; Type: COMMENT; Schema: -; Owner: postgres\n\
COMMENT ON DATABASE shop IS 'c';\n\
-- Name: DATABASE shop; Type: ACL; Schema: -; Owner: postgres\n\
GRANT CONNECT ON DATABASE shop TO bob;\n\
ALTER DATABASE shopping OWNER TO postgres;\n-- PostgreSQL database dump complete\n";

    fn scan_in_pieces(mut scan: SqlScan, piece: usize) -> (SqlScan, String) {
        let mut out = Vec::new();
        for chunk in CREATE_DUMP.as_bytes().chunks(piece) {
            scan.feed(chunk, &mut out);
        }
        scan.finish(&mut out);
        (scan, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_create_dump_is_pointed_at_the_target_and_data_left_alone() {
        for piece in [1, 7, 4096] {
            let (scan, out) = scan_in_pieces(SqlScan::retargeting("shop", "scratch 1"), piece);
            assert!(!out.contains("CREATE DATABASE shop"), "{out}");
            // A function body is not touched, and defines no table.
            assert!(
                out.contains("$$\nCREATE TABLE public.not_a_table (\nCOPY public.not_data FROM stdin;\nCREATE DATABASE not_this;\nALTER DATABASE shop OWNER TO x;\n$$;"),
                "{out}"
            );
            assert_eq!(scan.tables.len(), 2, "{:?}", scan.tables);
            assert!(
                out.contains("ALTER DATABASE \"scratch 1\" OWNER TO postgres;\n"),
                "{out}"
            );
            assert!(
                out.contains("COMMENT ON DATABASE \"scratch 1\" IS 'c';\n"),
                "{out}"
            );
            assert!(
                out.contains("GRANT CONNECT ON DATABASE \"scratch 1\" TO bob;\n"),
                "{out}"
            );
            // Another database whose name starts the same is not touched.
            assert!(out.contains("ALTER DATABASE shopping OWNER"), "{out}");
            // The data lines pass unchanged, even when they look like statements.
            assert!(
                out.contains("1\tx\nALTER DATABASE shop SET x TO 1;\n\\connect shop\n\\.\n"),
                "{out}"
            );
            assert_eq!(out.matches("\\connect").count(), 1, "{out}");
            assert!(scan.complete);
            assert_eq!(scan.tables.get("public.t"), Some(&3));
            assert_eq!(scan.tables.get("\"my s\".\"T (x)\""), Some(&0));
            assert_eq!(scan.rewritten, 5);
        }
    }

    #[test]
    fn counting_changes_nothing_and_sees_a_cut_dump() {
        let (scan, out) = scan_in_pieces(SqlScan::counting(), 13);
        assert_eq!(out, CREATE_DUMP);
        assert!(scan.complete);
        let cut = &CREATE_DUMP[..CREATE_DUMP.len() - 10];
        let mut scan = SqlScan::counting();
        let mut out = Vec::new();
        scan.feed(cut.as_bytes(), &mut out);
        scan.finish(&mut out);
        assert!(!scan.complete);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
