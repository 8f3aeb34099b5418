//! What `cback doctor` checks for the `<mysql>` section, without dumping anything: the section;
//! mysqldump and mysql found; a login with the configured user and password (the `mysql`
//! client, when it logs in as mysqldump would, [`crate::login`]); every configured database
//! present; and the grants the dumps need ([`crate::grants`]): RELOAD for `--flush-logs`,
//! SELECT and LOCK TABLES on each database (FAIL: the dump fails), SHOW VIEW where a database
//! has views (FAIL: mysqldump stops at the view), TRIGGER (WARN: mysqldump leaves the triggers
//! it cannot see out without a word) and, with `<all>Y` on a MySQL server, PROCESS (WARN:
//! MySQL 8.0.21 and later refuse to dump the tablespaces). The dumps name no `--events` or
//! `--routines`, so EVENT is not asked. The one query runs within [`CHECK_TIME_LIMIT`].

use std::path::Path;

use cedar_core::{
    check_program, last_lines, resolve_command, run_supervised_within, section_check_failure,
    CheckResult, ConfigFile, ExtensionSection, WithinError, CHECK_TIME_LIMIT,
};

use crate::config::{MysqlSection, Settings, Target};
use crate::defaults::DefaultsFile;
use crate::grants::{self, Grant, Lack};

/// One query for every check: each answer line starts with what it is (`u` the account,
/// `v` the version, `d` a database the user sees, `w` a database with views), then the
/// grants.
const QUERY: &str = "SELECT CONCAT('u', CURRENT_USER()); SELECT CONCAT('v', VERSION()); \
     SELECT CONCAT('d', SCHEMA_NAME) FROM information_schema.SCHEMATA; \
     SELECT DISTINCT CONCAT('w', TABLE_SCHEMA) FROM information_schema.TABLES WHERE TABLE_TYPE = 'VIEW'; \
     SHOW GRANTS";

/// What the server said.
#[derive(Debug, Default, PartialEq)]
struct Answer {
    account: String,
    version: String,
    databases: Vec<String>,
    with_views: Vec<String>,
    grants: Vec<Grant>,
}

fn parse_answer(text: &str) -> Answer {
    let mut answer = Answer {
        grants: grants::parse(text),
        ..Answer::default()
    };
    for line in text.lines() {
        if let Some(account) = line.strip_prefix('u') {
            answer.account = account.to_string();
        } else if let Some(version) = line.strip_prefix('v') {
            answer.version = version.to_string();
        } else if let Some(db) = line.strip_prefix('d') {
            answer.databases.push(db.to_string());
        } else if let Some(db) = line.strip_prefix('w') {
            answer.with_views.push(db.to_string());
        }
    }
    answer
}

/// Every check of the section, in order; the server is asked only when the section reads and
/// the client logs in as mysqldump would.
pub fn check(config: &ConfigFile) -> Vec<CheckResult> {
    let settings = match MysqlSection::load(config) {
        Ok(settings) => settings,
        Err(err) => return vec![section_check_failure("mysql", &config.path, &err)],
    };
    let client = resolve_command(&config.config, "mysql");
    let mysqldump = resolve_command(&config.config, "mysqldump");
    let mut results: Vec<CheckResult> = [&mysqldump, &client]
        .iter()
        .map(|path| check_program("mysql program", path))
        .collect();
    if failed(&results) {
        return results;
    }
    let defaults = match settings.password.as_deref().map(DefaultsFile::create) {
        None => None,
        Some(Ok(file)) => Some(file),
        Some(Err(err)) => {
            results.push(CheckResult::fail(
                "mysql login",
                user_subject(&settings),
                cedar_core::error_chain(&err).replace('\n', " "),
            ));
            return results;
        }
    };
    let login = crate::action::login_args(&settings, defaults.as_ref());
    if !crate::login::same_login(&client, &mysqldump, &login) {
        results.push(CheckResult::warn(
            "mysql login",
            user_subject(&settings),
            format!("not checked: `{}` and mysqldump would not log in the same way (a [mysqldump] stanza of the option files sets its own user, password, host or socket); put the connection settings in [client] so that the doctor can check them", client.display()),
        ));
        return results;
    }
    let answer = match ask(&client, &login) {
        Ok(text) => parse_answer(&text),
        Err(reason) => {
            results.push(CheckResult::fail(
                "mysql login",
                user_subject(&settings),
                format!("{reason}; check that the server runs, <mysql><user> and <password> (or the [client] stanza of ~/.my.cnf) and the socket or host the option files name"),
            ));
            return results;
        }
    };
    results.push(CheckResult::pass(
        "mysql login",
        &answer.account,
        format!("logged in; the server is {}", answer.version),
    ));
    results.extend(databases(&settings, &answer));
    results
}

fn failed(results: &[CheckResult]) -> bool {
    cedar_core::failed_checks(results) > 0
}

/// `mysql LOGIN --batch --raw --skip-column-names -e QUERY` within the time limit: its output,
/// or why there is none.
fn ask(client: &Path, login: &[std::ffi::OsString]) -> Result<String, String> {
    let mut command = cedar_core::child_command(client);
    command
        .args(login)
        .args(["--batch", "--raw", "--skip-column-names", "-e", QUERY]);
    match run_supervised_within(command, CHECK_TIME_LIMIT) {
        Ok(output) if output.status.success() => {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        }
        Ok(output) => Err(format!(
            "cannot log in: `{}` {}{}",
            client.display(),
            cedar_core::describe_exit_status(&output.status),
            cedar_core::stderr_suffix(&last_lines(&String::from_utf8_lossy(&output.stderr), 4))
                .replace('\n', " ")
        )),
        Err(WithinError::TimedOut(limit)) => Err(format!(
            "the server did not answer within {} s",
            limit.as_secs()
        )),
        Err(err) => Err(format!("cannot run `{}`: {err}", client.display())),
    }
}

/// Each configured database present, and the grants of the dumps.
fn databases(settings: &Settings, answer: &Answer) -> Vec<CheckResult> {
    let account = &answer.account;
    let all = settings.targets.contains(&Target::All);
    let mut results = Vec::new();
    let mut present = Vec::new();
    for target in &settings.targets {
        let Target::Database(name) = target else {
            continue;
        };
        if answer.databases.contains(name) {
            present.push(name.clone());
        } else {
            results.push(CheckResult::fail(
                "mysql database",
                name,
                format!("does not exist on the server, or user {account} holds no privilege on it; create it, GRANT SELECT, LOCK TABLES ON it TO {account}, or remove it from <mysql><database>"),
            ));
        }
    }
    // A database that is not there is said once, above; the grants are asked of the others.
    let wanted: Vec<String> = if all { Vec::new() } else { present.clone() };
    let lacking = grants::lacking(&answer.grants, (!all).then_some(wanted.as_slice()));
    for lack in &lacking {
        let subject = lack.database.clone().unwrap_or_else(|| "*.*".to_string());
        results.push(CheckResult::fail(
            "mysql grant",
            subject,
            format!("user {account} lacks {}, so the dump fails; run {} (or dump as a user that holds it)", lack.describe(), lack.grant_statement(account)),
        ));
    }
    // What mysqldump needs beyond: SHOW VIEW where there are views, TRIGGER everywhere.
    let scopes: Vec<Option<&str>> = if all {
        vec![None]
    } else {
        wanted.iter().map(|db| Some(db.as_str())).collect()
    };
    for scope in scopes {
        let lack = |privilege| Lack {
            privilege,
            database: scope.map(str::to_string),
        };
        let subject = scope.unwrap_or("*.*");
        let has_views = match scope {
            Some(db) => answer.with_views.iter().any(|v| v == db),
            None => !answer.with_views.is_empty(),
        };
        if has_views && !grants::has(&answer.grants, "SHOW VIEW", scope) {
            let needed = lack("SHOW VIEW");
            results.push(CheckResult::fail(
                "mysql grant",
                subject,
                format!("user {account} lacks SHOW VIEW and there are views to dump, so the dump fails; run {}", needed.grant_statement(account)),
            ));
        }
        if !grants::has(&answer.grants, "TRIGGER", scope) {
            let needed = lack("TRIGGER");
            results.push(CheckResult::warn(
                "mysql grant",
                subject,
                format!("user {account} lacks TRIGGER: mysqldump leaves out, without a word, the triggers it cannot see; run {}", needed.grant_statement(account)),
            ));
        }
    }
    let mariadb = answer.version.contains("MariaDB");
    if all && !mariadb && !grants::has(&answer.grants, "PROCESS", None) {
        let needed = Lack {
            privilege: "PROCESS",
            database: None,
        };
        results.push(CheckResult::warn(
            "mysql grant",
            "*.*",
            format!("user {account} lacks {}: MySQL 8.0.21 and later refuse to dump the tablespaces of <all>Y; run {}", needed.describe(), needed.grant_statement(account)),
        ));
    }
    if results.is_empty() {
        let what = if all {
            "all databases".to_string()
        } else {
            present.join(", ")
        };
        results.push(CheckResult::pass(
            "mysql grants",
            account,
            format!("holds what mysqldump needs to dump {what}"),
        ));
    } else {
        for name in &present {
            if !results.iter().any(|r| r.subject == *name) {
                results.push(CheckResult::pass(
                    "mysql database",
                    name,
                    "exists; the user holds what mysqldump needs",
                ));
            }
        }
    }
    results
}

/// The configured user, or where the login comes from.
fn user_subject(settings: &Settings) -> String {
    match &settings.user {
        Some(user) => format!("user {user}"),
        None => "the user of ~/.my.cnf".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{CheckStatus, Codec};

    fn settings(targets: Vec<Target>) -> Settings {
        Settings {
            user: Some("bk".into()),
            password: None,
            compress_mode: Codec::Gzip,
            targets,
        }
    }

    fn answer(grants: &str, views: &[&str]) -> Answer {
        parse_answer(&format!(
            "ubk@localhost\nv10.11.6-MariaDB\ndshop\ndwith space\n{}{grants}",
            views.iter().map(|v| format!("w{v}\n")).collect::<String>()
        ))
    }

    #[test]
    fn the_answer_is_read_line_by_line() {
        let a = answer("GRANT RELOAD ON *.* TO `bk`@`localhost`\n", &["shop"]);
        assert_eq!(a.account, "bk@localhost");
        assert_eq!(a.version, "10.11.6-MariaDB");
        assert_eq!(a.databases, vec!["shop", "with space"]);
        assert_eq!(a.with_views, vec!["shop"]);
        assert_eq!(a.grants.len(), 1);
    }

    #[test]
    fn a_missing_database_and_grant_say_what_to_run() {
        let a = answer(
            "GRANT RELOAD, TRIGGER ON *.* TO `bk`@`localhost`\nGRANT SELECT ON `shop`.* TO `bk`@`localhost`\n",
            &["shop"],
        );
        let results = databases(
            &settings(vec![
                Target::Database("shop".into()),
                Target::Database("gone".into()),
            ]),
            &a,
        );
        let text = cedar_core::render_check_lines(&results);
        assert!(
            text.contains("FAIL mysql database gone: does not exist"),
            "{text}"
        );
        assert!(
            text.contains("FAIL mysql grant shop: user bk@localhost lacks LOCK TABLES on database [shop], so the dump fails; run GRANT LOCK TABLES ON `shop`.* TO 'bk'@'localhost';"),
            "{text}"
        );
        assert!(
            text.contains("FAIL mysql grant shop: user bk@localhost lacks SHOW VIEW"),
            "{text}"
        );
        assert!(!text.contains("WARN"), "{text}");
    }

    #[test]
    fn everything_granted_passes_and_all_asks_process_of_mysql_only() {
        let full =
            "GRANT SELECT, LOCK TABLES, RELOAD, SHOW VIEW, TRIGGER ON *.* TO `bk`@`localhost`\n";
        let results = databases(
            &settings(vec![Target::Database("shop".into())]),
            &answer(full, &["shop"]),
        );
        assert_eq!(results.len(), 1, "{results:?}");
        assert_eq!(results[0].status, CheckStatus::Pass);
        let all = settings(vec![Target::All]);
        assert_eq!(
            databases(&all, &answer(full, &[]))[0].status,
            CheckStatus::Pass
        );
        let mut mysql = answer(full, &[]);
        mysql.version = "8.0.36".into();
        let results = databases(&all, &mysql);
        assert_eq!(results[0].status, CheckStatus::Warn, "{results:?}");
        assert!(
            results[0].detail.contains("GRANT PROCESS ON *.*"),
            "{results:?}"
        );
    }
}
