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
//!
//! A pg_dumpall of the whole cluster (`<all>Y` without `<split>Y`) holds the roles and
//! tablespaces, then one `pg_dump --create` output per database, each announced by a
//! `-- Database "NAME" dump` comment. [`SqlScan::cluster_section`] passes on one database's
//! part of it (retargeted like a `--create` dump) and [`SqlScan::cluster_globals`] the part
//! before the databases; every other line is read (so that data lines are never taken for
//! announcements) and dropped. Either way [`SqlScan::databases`] names every database the
//! dump holds.

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
    /// Which part of a cluster dump passes on; `None`: every line.
    select: Option<Select>,
    /// The part selected is being read.
    selected: bool,
    /// The databases a cluster dump announces, in its order.
    pub databases: Vec<String>,
}

/// The part of a cluster dump [`SqlScan`] passes on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Select {
    /// The roles and tablespaces before the first database.
    Globals,
    /// One database's dump.
    Database(String),
}

/// The comment pg_dumpall puts before the databases.
const DATABASES_HEADER: &str = "-- Databases";
/// pg_dump's last comment for one database, also inside a cluster dump.
const DATABASE_COMPLETE: &str = "-- PostgreSQL database dump complete";

/// The database a `-- Database "NAME" dump` comment announces.
fn announced(line: &str) -> Option<&str> {
    line.strip_prefix("-- Database \"")?.strip_suffix("\" dump")
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
            select: None,
            selected: true,
            databases: Vec::new(),
        }
    }

    /// A scan of a cluster dump that passes on the dump of `database` alone, pointed at
    /// `target`. [`SqlScan::complete`] says that this database's dump was read to its end.
    pub fn cluster_section(database: &str, target: &str) -> SqlScan {
        let mut scan = SqlScan::retargeting(database, target);
        scan.select = Some(Select::Database(database.to_string()));
        scan.selected = false;
        scan
    }

    /// A scan of a cluster dump that passes on its roles and tablespaces alone.
    /// [`SqlScan::complete`] says that the whole cluster dump was read to its end.
    pub fn cluster_globals() -> SqlScan {
        let mut scan = SqlScan::counting();
        scan.select = Some(Select::Globals);
        scan
    }

    /// The database's part of a cluster dump was looked for and not found.
    pub fn section_missing(&self) -> Option<&str> {
        match &self.select {
            Some(Select::Database(name)) if !self.databases.contains(name) => Some(name),
            _ => None,
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
            } else if self.selected {
                if let Some(rows) = self.tables.get_mut(table) {
                    *rows += 1;
                }
            }
            if self.selected {
                out.extend_from_slice(line);
            }
            return;
        }
        let text = String::from_utf8_lossy(line);
        let trimmed = text.trim_end_matches(['\n', '\r']);
        if self.select.is_some() {
            self.choose_part(trimmed);
        }
        if trimmed.starts_with("-- Name: ") || trimmed.starts_with("-- Data for Name: ") {
            self.entry = entry_type(trimmed).to_string();
        } else if let Some(rest) = trimmed.strip_prefix("COPY ") {
            if self.entry == "TABLE DATA" && trimmed.ends_with(" FROM stdin;") {
                let table = qualified_name(rest).to_string();
                if self.selected {
                    self.tables.entry(table.clone()).or_insert(0);
                }
                self.copying = Some(table);
            }
        } else if let Some(rest) = ["CREATE TABLE ", "CREATE UNLOGGED TABLE "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        {
            if self.entry == "TABLE" && self.selected {
                self.tables
                    .entry(qualified_name(rest).to_string())
                    .or_insert(0);
            }
        } else if self.complete_marker(trimmed) {
            self.complete = true;
        }
        if !self.selected {
            return;
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

impl SqlScan {
    /// Follows a cluster dump's announcements: which part is being read.
    fn choose_part(&mut self, trimmed: &str) {
        if let Some(name) = announced(trimmed) {
            self.databases.push(name.to_string());
            self.entry.clear();
            self.selected = self.select == Some(Select::Database(name.to_string()));
        } else if trimmed == DATABASES_HEADER && self.select == Some(Select::Globals) {
            self.selected = false;
        } else if trimmed == COMPLETE_MARKERS[1] && self.select != Some(Select::Globals) {
            // The end of the last database's part.
            self.selected = false;
        }
    }

    /// `trimmed` is the completion marker of what is selected: the database's own dump in a
    /// cluster dump, the cluster's marker for its globals, either marker otherwise.
    fn complete_marker(&self, trimmed: &str) -> bool {
        match &self.select {
            None => COMPLETE_MARKERS.contains(&trimmed),
            Some(Select::Globals) => trimmed == COMPLETE_MARKERS[1],
            Some(Select::Database(_)) => self.selected && trimmed == DATABASE_COMPLETE,
        }
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

    fn scan_in_pieces(scan: SqlScan, piece: usize) -> (SqlScan, String) {
        scan_text(scan, CREATE_DUMP, piece)
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

    /// The shape of a pg_dumpall of PostgreSQL 15: globals, then template1, postgres and one
    /// database created with `--create`, whose data holds a line that looks like an
    /// announcement.
    const CLUSTER_DUMP: &str = "--\n-- PostgreSQL database cluster dump\n--\n\n\\restrict A\n\
SET default_transaction_read_only = off;\n--\n-- Roles\n--\n\nCREATE ROLE bob;\n\\unrestrict A\n\n\
--\n-- Databases\n--\n\n--\n-- Database \"template1\" dump\n--\n\n\\connect template1\n\n\
--\n-- PostgreSQL database dump\n--\n\n\\restrict B\nSET x = 1;\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict B\n\
--\n-- Database \"postgres\" dump\n--\n\n\\connect postgres\n\n\\restrict C\n\
-- Name: p; Type: TABLE; Schema: public; Owner: postgres\nCREATE TABLE public.p (\n    x integer\n);\n\
-- Data for Name: p; Type: TABLE DATA; Schema: public; Owner: postgres\nCOPY public.p (x) FROM stdin;\n5\n\\.\n\
--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict C\n\
--\n-- Database \"shop\" dump\n--\n\n\\restrict D\n\
-- Name: shop; Type: DATABASE; Schema: -; Owner: postgres\n\
CREATE DATABASE shop WITH TEMPLATE = template0;\nALTER DATABASE shop OWNER TO bob;\n\\unrestrict D\n\\connect shop\n\\restrict D\n\
-- Name: t; Type: TABLE; Schema: public; Owner: bob\nCREATE TABLE public.t (\n    a integer,\n    b text\n);\n\
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: bob\nCOPY public.t (a, b) FROM stdin;\n\
1\t-- Database \"x\" dump\n-- Database \"y\" dump\n2\t\\N\n\\.\n\
--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict D\n\n\
--\n-- PostgreSQL database cluster dump complete\n--\n\n";

    fn scan_text(mut scan: SqlScan, text: &str, piece: usize) -> (SqlScan, String) {
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(piece) {
            scan.feed(chunk, &mut out);
        }
        scan.finish(&mut out);
        (scan, String::from_utf8(out).unwrap())
    }

    #[test]
    fn one_database_is_taken_out_of_a_cluster_dump() {
        for piece in [1, 5, 4096] {
            let (scan, out) = scan_text(
                SqlScan::cluster_section("shop", "scratch"),
                CLUSTER_DUMP,
                piece,
            );
            assert_eq!(scan.databases, ["template1", "postgres", "shop"]);
            assert!(scan.complete);
            assert_eq!(scan.section_missing(), None);
            // Only shop's tables, with the rows of its data section.
            assert_eq!(scan.tables.len(), 1, "{:?}", scan.tables);
            assert_eq!(scan.tables.get("public.t"), Some(&3));
            assert!(!out.contains("CREATE ROLE"), "{out}");
            assert!(!out.contains("public.p"), "{out}");
            assert!(!out.contains("CREATE DATABASE"), "{out}");
            assert!(!out.contains("\\connect"), "{out}");
            assert!(!out.contains("cluster dump complete"), "{out}");
            assert!(
                out.contains("ALTER DATABASE \"scratch\" OWNER TO bob;\n"),
                "{out}"
            );
            // The data passes unchanged, including the lines that look like announcements.
            assert!(
                out.contains("1\t-- Database \"x\" dump\n-- Database \"y\" dump\n2\t\\N\n\\.\n"),
                "{out}"
            );
            assert!(out.starts_with("-- Database \"shop\" dump\n"), "{out}");
        }
    }

    #[test]
    fn another_database_and_the_globals_of_a_cluster_dump() {
        let (scan, out) = scan_text(SqlScan::cluster_section("postgres", "s"), CLUSTER_DUMP, 3);
        assert_eq!(scan.tables.get("public.p"), Some(&1));
        assert_eq!(scan.tables.len(), 1);
        assert!(scan.complete);
        assert!(!out.contains("public.t"), "{out}");

        let (scan, out) = scan_text(SqlScan::cluster_section("nope", "s"), CLUSTER_DUMP, 64);
        assert_eq!(scan.section_missing(), Some("nope"));
        assert!(!scan.complete);
        assert!(scan.tables.is_empty());
        assert_eq!(out, "");

        let (scan, out) = scan_text(SqlScan::cluster_globals(), CLUSTER_DUMP, 7);
        assert!(scan.complete);
        assert!(out.contains("CREATE ROLE bob;\n\\unrestrict A\n"), "{out}");
        assert!(!out.contains("Database \""), "{out}");
        assert!(!out.contains("public."), "{out}");

        // Cut inside shop's data: the section is not complete, nor are the globals.
        let cut = &CLUSTER_DUMP[..CLUSTER_DUMP.find("2\t\\N").unwrap()];
        let (scan, _) = scan_text(SqlScan::cluster_section("shop", "s"), cut, 4096);
        assert!(!scan.complete);
        let (scan, _) = scan_text(SqlScan::cluster_globals(), cut, 4096);
        assert!(!scan.complete);
        // Cut after shop's dump ended: shop's part is whole.
        let cut = &CLUSTER_DUMP[..CLUSTER_DUMP.find("\\unrestrict D\n\n").unwrap()];
        let (scan, _) = scan_text(SqlScan::cluster_section("shop", "s"), cut, 4096);
        assert!(scan.complete);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
