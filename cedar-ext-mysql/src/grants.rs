//! Before any file is written: can the configured user make the dumps? mysqldump with
//! `--flush-logs` needs RELOAD on `*.*`, and `--opt` locks tables, so each named database needs
//! SELECT and LOCK TABLES (on `*.*` or on the database). Without them mysqldump fails only after
//! writing part of a file; this check says what is missing up front.
//!
//! The grants come from `SHOW GRANTS`, which on MariaDB lists the privileges of the enabled
//! roles too.

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `*.*`
    Global,
    /// `` `db`.* ``: a database name pattern (`%`, `_`, `\` escapes).
    Database(String),
    /// A table, a routine, a proxy: not what the dumps need.
    Other,
}

/// One `GRANT` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Upper case, column lists dropped: `SELECT`, `ALL PRIVILEGES`, ...
    pub privileges: Vec<String>,
    pub scope: Scope,
}

/// The grants of `SHOW GRANTS` output (one statement per line); other lines are skipped.
pub fn parse(text: &str) -> Vec<Grant> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Grant> {
    let rest = line.trim().strip_prefix("GRANT ")?;
    let on = top_level_find(rest, " ON ")?;
    let privileges = split_top_level(&rest[..on])
        .into_iter()
        .map(|p| {
            let p = p.split('(').next().unwrap_or_default();
            p.trim().to_ascii_uppercase()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let after = &rest[on + 4..];
    let to = after.find(" TO ")?;
    Some(Grant {
        privileges,
        scope: scope(after[..to].trim()),
    })
}

fn top_level_find(text: &str, needle: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 && text[i..].starts_with(needle) => return Some(i),
            _ => {}
        }
    }
    None
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn scope(text: &str) -> Scope {
    if text == "*.*" {
        return Scope::Global;
    }
    let Some(db) = text.strip_suffix(".*") else {
        return Scope::Other;
    };
    let name = match db.strip_prefix('`').and_then(|d| d.strip_suffix('`')) {
        Some(quoted) => quoted.replace("``", "`"),
        None => db.to_string(),
    };
    if name.contains('.') && !db.starts_with('`') {
        return Scope::Other;
    }
    Scope::Database(name)
}

/// SQL `LIKE`: `%` any run, `_` one character, `\` makes the next one literal.
pub fn like(name: &str, pattern: &str) -> bool {
    fn go(name: &[char], pattern: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('%', rest)) => (0..=name.len()).any(|i| go(&name[i..], rest)),
            Some(('_', rest)) => !name.is_empty() && go(&name[1..], rest),
            Some(('\\', rest)) if !rest.is_empty() => {
                name.first() == Some(&rest[0]) && go(&name[1..], &rest[1..])
            }
            Some((c, rest)) => name.first() == Some(c) && go(&name[1..], rest),
        }
    }
    let name: Vec<char> = name.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    go(&name, &pattern)
}

/// Whether `grants` give `privilege` globally, or on `database` when one is named.
pub fn has(grants: &[Grant], privilege: &str, database: Option<&str>) -> bool {
    grants.iter().any(|grant| {
        let applies = match (&grant.scope, database) {
            (Scope::Global, _) => true,
            (Scope::Database(pattern), Some(db)) => like(db, pattern),
            _ => false,
        };
        applies
            && grant
                .privileges
                .iter()
                .any(|p| p == privilege || p == "ALL PRIVILEGES" || p == "ALL")
    })
}

/// One privilege the dumps need that the grants do not give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lack {
    pub privilege: &'static str,
    /// `None`: needed on `*.*`.
    pub database: Option<String>,
}

impl Lack {
    /// `RELOAD on *.* (mysqldump --flush-logs needs it)`, `SELECT on database [shop]`.
    pub fn describe(&self) -> String {
        match &self.database {
            None => format!(
                "{} on *.* (mysqldump {} needs it)",
                self.privilege,
                needed_by(self.privilege)
            ),
            Some(db) => format!("{} on database [{db}]", self.privilege),
        }
    }

    /// The statement that gives it to `account` (as `CURRENT_USER()` says it: `user@host`).
    pub fn grant_statement(&self, account: &str) -> String {
        let on = match &self.database {
            None => "*.*".to_string(),
            Some(db) => format!("{}.*", database_pattern(db)),
        };
        format!(
            "GRANT {} ON {on} TO {};",
            self.privilege,
            quote_account(account)
        )
    }
}

/// The mysqldump option a global privilege is needed for.
fn needed_by(privilege: &str) -> &'static str {
    match privilege {
        "RELOAD" => "--flush-logs",
        "PROCESS" => "--all-databases, dumping the tablespaces,",
        _ => "",
    }
}

/// `db` as a literal database name in a `GRANT ... ON`: quoted, its `_` and `%` escaped (they
/// are patterns there).
fn database_pattern(db: &str) -> String {
    let escaped = db
        .replace('`', "``")
        .replace('\\', "\\\\")
        .replace('_', "\\_")
        .replace('%', "\\%");
    format!("`{escaped}`")
}

/// `user@host` as `'user'@'host'`.
fn quote_account(account: &str) -> String {
    let quote = |part: &str| format!("'{}'", part.replace('\\', "\\\\").replace('\'', "''"));
    match account.rsplit_once('@') {
        Some((user, host)) => format!("{}@{}", quote(user), quote(host)),
        None => quote(account),
    }
}

/// What is lacking for dumps of `databases` (`None`: all databases): RELOAD on `*.*`, then
/// SELECT and LOCK TABLES on each database.
pub fn lacking(grants: &[Grant], databases: Option<&[String]>) -> Vec<Lack> {
    let mut found = Vec::new();
    if !has(grants, "RELOAD", None) {
        found.push(Lack {
            privilege: "RELOAD",
            database: None,
        });
    }
    for db in databases.unwrap_or_default() {
        for privilege in ["SELECT", "LOCK TABLES"] {
            if !has(grants, privilege, Some(db)) {
                found.push(Lack {
                    privilege,
                    database: Some(db.clone()),
                });
            }
        }
    }
    found
}

/// What is missing for dumps of `databases` (`None`: all databases), each said with where it
/// is needed.
pub fn missing(grants: &[Grant], databases: Option<&[String]>) -> Vec<String> {
    lacking(grants, databases)
        .iter()
        .map(Lack::describe)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLED: &str = "GRANT `dumper` TO `roled`@`localhost`\n\
        GRANT USAGE ON *.* TO `roled`@`localhost` IDENTIFIED BY PASSWORD '*7B84'\n\
        GRANT SELECT, LOCK TABLES ON `tiny`.* TO `roled`@`localhost`\n\
        GRANT RELOAD ON *.* TO `dumper`\n\
        SET DEFAULT ROLE `dumper` FOR `roled`@`localhost`\n";

    #[test]
    fn grants_of_the_user_and_its_roles() {
        let grants = parse(ROLED);
        assert_eq!(grants.len(), 3);
        assert!(has(&grants, "RELOAD", None));
        assert!(has(&grants, "SELECT", Some("tiny")));
        assert!(!has(&grants, "SELECT", Some("other")));
        let dbs = vec!["tiny".to_string(), "other".to_string()];
        assert_eq!(
            missing(&grants, Some(&dbs)),
            vec![
                "SELECT on database [other]",
                "LOCK TABLES on database [other]"
            ]
        );
    }

    #[test]
    fn all_privileges_patterns_and_columns() {
        let grants = parse(
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION\n\
             GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
        );
        assert!(missing(&grants, Some(&["x".to_string()])).is_empty());
        let grants = parse(
            "GRANT SELECT (a, b), LOCK TABLES ON `shop\\_%`.* TO `u`@`%`\n\
             GRANT SELECT ON `db`.`table` TO `u`@`%`",
        );
        assert_eq!(grants[0].privileges, vec!["SELECT", "LOCK TABLES"]);
        assert!(has(&grants, "SELECT", Some("shop_eu")));
        assert!(!has(&grants, "SELECT", Some("shopx")));
        assert!(!has(&grants, "SELECT", Some("db")));
        assert_eq!(
            missing(&grants, None),
            vec!["RELOAD on *.* (mysqldump --flush-logs needs it)"]
        );
        assert!(like("with space", "with space"));
        let lack = Lack {
            privilege: "SELECT",
            database: Some("with_space`".into()),
        };
        assert_eq!(
            lack.grant_statement("cback_weak@localhost"),
            "GRANT SELECT ON `with\\_space```.* TO 'cback_weak'@'localhost';"
        );
        let reload = Lack {
            privilege: "RELOAD",
            database: None,
        };
        assert_eq!(
            reload.grant_statement("o'k@%"),
            "GRANT RELOAD ON *.* TO 'o''k'@'%';"
        );
        assert!(like("a`b", "a`b"));
        assert_eq!(
            parse("GRANT SELECT ON `a``b`.* TO x")[0].scope,
            Scope::Database("a`b".into())
        );
    }
}
