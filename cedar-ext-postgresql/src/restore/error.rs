//! The errors of `cback-restore`.

use std::path::PathBuf;

use super::child::ChildError;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("no dump of database [{database}] was found{filter} in {searched}; run `cback-restore list` to see the dumps cback can find, or give --from PATH")]
    NotFound {
        database: String,
        filter: String,
        searched: String,
    },
    #[error("no usable dump of database [{database}]; every copy was rejected:\n- {}\ngive --from PATH to restore a copy anyway only after checking it", reasons.join("\n- "))]
    NoGoodCopy {
        database: String,
        reasons: Vec<String>,
    },
    #[error("{}: {reason}", path.display())]
    Rejected { path: PathBuf, reason: String },
    #[error("{} is a pg_dumpall of the whole cluster: restore its databases one at a time (`cback-restore restore NAME`; `cback-restore drill` restores each one), with --globals to restore its roles and tablespaces first", path.display())]
    WholeCluster { path: PathBuf },
    #[error("{} is the server's configuration (pg_hba.conf, pg_ident.conf, postgresql.conf, postgresql.auto.conf and the non-default settings), not a dump: it is put back by hand; decompress it, read it, and copy each file's section into place as doc/postgresql.md (\"The server's configuration\") explains", path.display())]
    ServerConfig { path: PathBuf },
    #[error("database [{target}] already exists; give --clean to drop it and restore in its place, or --into NAME to restore under another name")]
    TargetExists { target: String },
    #[error("{}: not a dump file cback writes (postgresqldump-NAME.txt[.gz|.bz2|.zst], postgresqldump-NAME.dump, optionally .gpg)", path.display())]
    NotADump { path: PathBuf },
    #[error("no globals file (postgresqldump-globals.txt…) was found beside {} or in any other place; --globals needs a dump made with <all>Y<split>Y", path.display())]
    NoGlobals { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{command} failed {doing}: {source}")]
    Client {
        command: &'static str,
        doing: String,
        #[source]
        source: ChildError,
    },
    #[error("{command} failed {doing} ({status}); its standard error ends with:\n{tail}")]
    ClientStatus {
        command: &'static str,
        doing: String,
        status: std::process::ExitStatus,
        tail: String,
    },
    #[error("restoring {} into database [{target}] failed: {message}", path.display())]
    Restore {
        path: PathBuf,
        target: String,
        message: String,
    },
}
