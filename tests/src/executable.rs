//! Programs the tests put in place (fake or wrapping commands, a copy of `cback` another user
//! can run), written by a child process rather than by the test process.
//!
//! A file the test process holds open for writing is inherited by any child another test's
//! thread forks meanwhile, and stays open for writing until that child execs; executing the
//! file in that window fails with "Text file busy" (ETXTBSY). Writing through `sh`/`cp`
//! keeps the only writable descriptor in a process no test forks from.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Writes `text` to `path` as an executable (mode 0755).
pub fn write_executable(path: &Path, text: &str) {
    let mut child = Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh runs");
    child
        .stdin
        .take()
        .expect("sh's standard input")
        .write_all(text.as_bytes())
        .expect("the text reaches sh");
    let status = child.wait().expect("sh ends");
    assert!(status.success(), "writing {}: {status}", path.display());
}

/// Copies the program `source` to `dest`, mode 0755.
pub fn copy_executable(source: &Path, dest: &Path) {
    let status = Command::new("sh")
        .args(["-c", "cp -- \"$1\" \"$2\" && chmod 755 \"$2\"", "sh"])
        .arg(source)
        .arg(dest)
        .status()
        .expect("sh runs");
    assert!(
        status.success(),
        "copying {} to {}: {status}",
        source.display(),
        dest.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_written_program_runs_and_a_copy_too() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hello");
        write_executable(&script, "#!/bin/sh\necho \"hello $1\"\n");
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        let out = Command::new(&script).arg("there").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello there\n");

        let copy = dir.path().join("copy");
        copy_executable(&script, &copy);
        let out = Command::new(&copy).arg("again").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello again\n");
    }
}
