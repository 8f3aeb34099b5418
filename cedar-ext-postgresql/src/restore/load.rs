//! Loading one chosen copy into an existing, empty database: a plain dump through
//! `psql -X -v ON_ERROR_STOP=1 --single-transaction` (retargeted, see [`super::sql`], and
//! refused before the commit when it lacks pg_dump's completion marker), a custom one through
//! `pg_restore --exit-on-error`; the globals through psql into the maintenance database.
//! The dump streams from the file through the decompressor into the client.

use std::cell::RefCell;
use std::sync::Mutex;

use cedar_core::{Progress, ProgressBar, ProgressMeasure};

use super::catalog::{DumpCopy, DumpFormat, Kind};
use super::child::{self, Client, Ended};
use super::error::RestoreError;
use super::server::{Server, MAINTENANCE_DB};
use super::sql::SqlScan;
use super::stream;

/// The error of loading `copy` into `target`, from what went wrong.
fn failure<'a>(copy: &'a DumpCopy, target: &'a str) -> impl Fn(String) -> RestoreError + 'a {
    move |message| RestoreError::Restore {
        path: copy.path.clone(),
        target: target.to_string(),
        message,
    }
}

/// Loads `copy` into `database`; returns the scan of its SQL (tables and rows of the data
/// section). For a custom dump the scan is empty unless `count` asks for a second pass over
/// the archive (`pg_restore -f -`).
pub fn load(
    server: &Server,
    copy: &DumpCopy,
    database: &str,
    count: bool,
    quiet: bool,
) -> Result<SqlScan, RestoreError> {
    let fail = failure(copy, database);
    match copy.format {
        DumpFormat::Plain => load_plain(
            server,
            copy,
            &copy.database,
            database,
            SqlScan::retargeting(&copy.database, database),
            quiet,
        ),
        DumpFormat::Custom => {
            let (_display, progress) = restoring(quiet, copy);
            let client = Client {
                name: "pg_restore",
                program: server.pg_restore.clone(),
                args: vec![
                    "--exit-on-error".into(),
                    "--no-password".into(),
                    // Empty: libpq takes the database from PGDATABASE.
                    "--dbname=".into(),
                ],
                env: server.env(database),
                cleanup: false,
            };
            let ended = feed(server, copy, &client, &progress, None, &fail)?;
            check(&client, ended, &fail)?;
            database_entries(server, copy, database, &fail)?;
            if !count {
                return Ok(SqlScan::counting());
            }
            let scan = Mutex::new(SqlScan::counting());
            let lister = Client {
                name: "pg_restore",
                program: server.pg_restore.clone(),
                args: vec!["--file=-".into()],
                env: server.env(database),
                cleanup: false,
            };
            let mut content =
                stream::open(copy, &server.keys()).map_err(|source| RestoreError::Open {
                    path: copy.path.clone(),
                    source,
                })?;
            let mut sink = Vec::new();
            let ended = child::run(
                &lister,
                Some(&mut content),
                None,
                &mut |piece| {
                    let mut scan = scan.lock().unwrap_or_else(|e| e.into_inner());
                    sink.clear();
                    scan.feed(piece, &mut sink);
                },
                &|_| {},
                &mut || Ok(()),
            )
            .map_err(|e| {
                fail(format!(
                    "reading the archive's data with pg_restore -f -: {e}"
                ))
            })?;
            check(&lister, ended, &fail)?;
            let mut scan = scan.into_inner().unwrap_or_else(|e| e.into_inner());
            scan.finish(&mut Vec::new());
            Ok(scan)
        }
    }
}

/// Loads the dump of database `section` out of the cluster dump `copy` into `database`.
pub fn load_cluster_section(
    server: &Server,
    copy: &DumpCopy,
    section: &str,
    database: &str,
    quiet: bool,
) -> Result<SqlScan, RestoreError> {
    load_plain(
        server,
        copy,
        section,
        database,
        SqlScan::cluster_section(section, database),
        quiet,
    )
}

/// Reads the cluster dump `copy` through without restoring anything: the scan names the
/// databases it holds and says whether it is complete.
pub fn cluster_contents(server: &Server, copy: &DumpCopy) -> Result<SqlScan, RestoreError> {
    use std::io::Read;
    let mut content = stream::open(copy, &server.keys()).map_err(|source| RestoreError::Open {
        path: copy.path.clone(),
        source,
    })?;
    let mut scan = SqlScan::cluster_globals();
    let mut buffer = vec![0u8; 256 << 10];
    let mut sink = Vec::new();
    loop {
        let n = match content.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(RestoreError::Open {
                    path: copy.path.clone(),
                    source,
                })
            }
        };
        sink.clear();
        scan.feed(&buffer[..n], &mut sink);
    }
    scan.finish(&mut sink);
    Ok(scan)
}

/// A plain dump, or a part of one, through psql in one transaction.
fn load_plain(
    server: &Server,
    copy: &DumpCopy,
    dumped: &str,
    database: &str,
    scan: SqlScan,
    quiet: bool,
) -> Result<SqlScan, RestoreError> {
    let fail = failure(copy, database);
    let (_display, progress) = restoring(quiet, copy);
    let scan = RefCell::new(scan);
    let client = server.psql_client(
        database,
        &[
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            "-",
        ],
    );
    let ended = feed(server, copy, &client, &progress, Some(&scan), &fail)?;
    check(&client, ended, &fail)?;
    let scan = scan.into_inner();
    if scan.rewritten > 0 {
        tracing::info!(
            "{}: {} statement(s) naming database [{dumped}] were pointed at [{database}] or left out (CREATE DATABASE, \\connect).",
            copy.path.display(),
            scan.rewritten,
        );
    }
    Ok(scan)
}

/// Restores a globals file (roles, tablespaces), or the part of a cluster dump before its
/// databases, into the cluster. Roles that exist already are reported by psql and left as
/// they are; any other error fails.
pub fn load_globals(server: &Server, copy: &DumpCopy, quiet: bool) -> Result<(), RestoreError> {
    let fail = failure(copy, "(globals)");
    let (_display, progress) = restoring(quiet, copy);
    let scan = RefCell::new(if copy.kind == Kind::Cluster {
        SqlScan::cluster_globals()
    } else {
        SqlScan::counting()
    });
    let client = server.psql_client(MAINTENANCE_DB, &["-q", "-f", "-"]);
    let ended = feed(server, copy, &client, &progress, Some(&scan), &fail)?;
    let unexpected: Vec<&String> = ended
        .errors
        .iter()
        .filter(|e| !e.contains("already exists"))
        .collect();
    if !ended.status.success() || !unexpected.is_empty() {
        let lines: Vec<&str> = unexpected.iter().map(|s| s.as_str()).collect();
        return Err(fail(format!(
            "psql ({}) reported errors other than roles that already exist:\n{}",
            ended.status,
            if lines.is_empty() {
                ended.stderr_tail.clone()
            } else {
                lines.join("\n")
            }
        )));
    }
    let existing = ended.errors.len();
    if existing > 0 {
        tracing::info!(
            "{}: {existing} role(s) or tablespace(s) already existed and were left as they are.",
            copy.path.display()
        );
    }
    Ok(())
}

fn feed(
    server: &Server,
    copy: &DumpCopy,
    client: &Client,
    progress: &ProgressBar,
    scan: Option<&RefCell<SqlScan>>,
    fail: &dyn Fn(String) -> RestoreError,
) -> Result<Ended, RestoreError> {
    let mut content = stream::open(copy, &server.keys()).map_err(|source| RestoreError::Open {
        path: copy.path.clone(),
        source,
    })?;
    let mut filter = |data: &[u8], out: &mut Vec<u8>| {
        if let Some(scan) = scan {
            let mut scan = scan.borrow_mut();
            if data.is_empty() {
                scan.finish(out);
            } else {
                scan.feed(data, out);
            }
        }
    };
    let mut at_end = || {
        let Some(scan) = scan else { return Ok(()) };
        let scan = scan.borrow();
        if let Some(database) = scan.section_missing() {
            return Err(std::io::Error::other(format!(
                "the cluster dump {} holds no database [{database}] (it holds {}); nothing was committed",
                copy.path.display(),
                if scan.databases.is_empty() {
                    "none".to_string()
                } else {
                    scan.databases.join(", ")
                }
            )));
        }
        if !scan.complete {
            return Err(std::io::Error::other(format!(
                "{} ends without pg_dump's completion marker: the dump was cut short; nothing was committed",
                copy.path.display()
            )));
        }
        Ok(())
    };
    let result = child::run(
        client,
        Some(&mut content),
        if scan.is_some() {
            Some(&mut filter)
        } else {
            None
        },
        &mut |_| {},
        &|n| progress.add_bytes(n),
        &mut at_end,
    );
    progress.clear();
    result.map_err(|e| fail(e.to_string()))
}

/// The database-level entries of a custom archive (owner, `ALTER DATABASE … SET`, comment,
/// privileges), which pg_restore leaves out when it does not create the database itself:
/// `pg_restore --create` with a list that selects no other entry turns them into SQL, which is
/// pointed at `database` like a plain `--create` dump and run there.
fn database_entries(
    server: &Server,
    copy: &DumpCopy,
    database: &str,
    fail: &dyn Fn(String) -> RestoreError,
) -> Result<(), RestoreError> {
    let written = (|| {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new()?;
        // pg_restore -l never lists the database entries: a list of nothing keeps just them.
        file.write_all(b"; the database-level entries only\n")?;
        Ok::<_, std::io::Error>(file)
    })();
    let file = written.map_err(|e| fail(format!("cannot write a pg_restore list: {e}")))?;
    let use_list = format!("--use-list={}", file.path().display());
    let sql = pg_restore_output(
        server,
        copy,
        database,
        &["--create".into(), use_list.into(), "--file=-".into()],
        fail,
    )?;
    let mut scan = SqlScan::retargeting(&copy.database, database);
    let mut out = Vec::new();
    scan.feed(sql.as_bytes(), &mut out);
    scan.finish(&mut out);
    let doing = format!(
        "setting the database-level properties of {} on database [{database}]",
        copy.path.display()
    );
    server.query(database, &String::from_utf8_lossy(&out), &doing)?;
    Ok(())
}

/// pg_restore with `args` reading the archive on standard input; its standard output.
fn pg_restore_output(
    server: &Server,
    copy: &DumpCopy,
    database: &str,
    args: &[std::ffi::OsString],
    fail: &dyn Fn(String) -> RestoreError,
) -> Result<String, RestoreError> {
    let client = Client {
        name: "pg_restore",
        program: server.pg_restore.clone(),
        args: args.to_vec(),
        env: server.env(database),
        cleanup: false,
    };
    let mut content = stream::open(copy, &server.keys()).map_err(|source| RestoreError::Open {
        path: copy.path.clone(),
        source,
    })?;
    let mut output = Vec::new();
    let ended = child::run(
        &client,
        Some(&mut content),
        None,
        &mut |piece| output.extend_from_slice(piece),
        &|_| {},
        &mut || Ok(()),
    )
    .map_err(|e| fail(format!("pg_restore: {e}")))?;
    check(&client, ended, fail)?;
    Ok(String::from_utf8_lossy(&output).into_owned())
}

fn check(
    client: &Client,
    ended: Ended,
    fail: &dyn Fn(String) -> RestoreError,
) -> Result<(), RestoreError> {
    if ended.status.success() {
        return Ok(());
    }
    Err(fail(format!(
        "{} exited with {}; its standard error ends with:\n{}",
        client.name, ended.status, ended.stderr_tail
    )))
}

/// The display of the restore of `copy`, and its line: the bytes of SQL fed so far, drawn on a
/// terminal unless `quiet`.
fn restoring(quiet: bool, copy: &DumpCopy) -> (Progress, ProgressBar) {
    let display = Progress::for_terminal(quiet);
    let line = display.start(ProgressMeasure::bytes(
        format!("restoring {}", copy.path.display()),
        "of SQL",
    ));
    (display, line)
}
