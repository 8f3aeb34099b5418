//! Subversion repositories for the tests of the subversion extension, made with the installed
//! `svnadmin` and committed to with `svn import` over `file://`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ext;

/// `svnadmin`, `svnlook` and `svn`, or `None` after a skip message (a panic when required).
pub fn available(test: &str) -> Option<PathBuf> {
    let svnadmin = ext::tool(test, "svnadmin", "subversion")?;
    ext::tool(test, "svnlook", "subversion")?;
    ext::tool(test, "svn", "subversion")?;
    Some(svnadmin)
}

/// A repository the test made.
#[derive(Debug, Clone)]
pub struct Repo {
    pub path: PathBuf,
    commits: u32,
}

fn run(cmd: &mut Command, what: &str) -> Vec<u8> {
    let output = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

impl Repo {
    /// `svnadmin create PATH`, then `revisions` commits.
    pub fn create(path: &Path, revisions: u32) -> Repo {
        run(
            Command::new("svnadmin").arg("create").arg(path),
            "svnadmin create",
        );
        let mut repo = Repo {
            path: path.to_path_buf(),
            commits: 0,
        };
        repo.commit(revisions);
        repo
    }

    /// Adds `n` revisions, each importing one small file.
    pub fn commit(&mut self, n: u32) {
        let scratch = tempfile::tempdir().unwrap();
        for _ in 0..n {
            self.commits += 1;
            let file = scratch.path().join(format!("file{}", self.commits));
            std::fs::write(&file, format!("content {}\n", self.commits)).unwrap();
            let url = format!("file://{}/file{}", self.path.display(), self.commits);
            run(
                Command::new("svn")
                    .args(["import", "-q", "-m"])
                    .arg(format!("revision {}", self.commits))
                    .arg(&file)
                    .arg(url),
                "svn import",
            );
        }
    }

    /// The newest revision.
    pub fn youngest(&self) -> u32 {
        let out = run(
            Command::new("svnlook").arg("youngest").arg(&self.path),
            "svnlook",
        );
        String::from_utf8_lossy(&out).trim().parse().unwrap()
    }

    /// What `svnadmin dump --quiet -rSTART:END --incremental` prints.
    pub fn dump(&self, start: u32, end: u32) -> Vec<u8> {
        run(
            Command::new("svnadmin")
                .args(["dump", "--quiet"])
                .arg(format!("-r{start}:{end}"))
                .arg("--incremental")
                .arg(&self.path),
            "svnadmin dump",
        )
    }
}
