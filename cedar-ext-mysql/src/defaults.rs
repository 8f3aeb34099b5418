//! The configured password goes to mysqldump in an option file of its own, never in argv:
//! `--defaults-extra-file=FILE`, the first argument, names a 0600 temporary file holding a
//! `[client]` stanza with the password; the file is removed when the run is done (also when it
//! fails or is interrupted). MySQL still reads its usual option files, `~/.my.cnf` included.
//!
//! MySQL reads the extra file before `~/.my.cnf`, so a password in `~/.my.cnf` would win; a
//! warning says so when both set one.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary option file with the password.
#[derive(Debug)]
pub struct DefaultsFile {
    file: tempfile::NamedTempFile,
}

/// Why the option file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the temporary MySQL option file for the password in {}; check that it is writable", dir.display())]
pub struct DefaultsError {
    dir: PathBuf,
    #[source]
    source: std::io::Error,
}

impl DefaultsFile {
    /// Writes `[client]` with `password` to a new 0600 file in the temporary directory.
    pub fn create(password: &str) -> Result<DefaultsFile, DefaultsError> {
        let dir = std::env::temp_dir();
        let fail = |source| DefaultsError {
            dir: dir.clone(),
            source,
        };
        // NamedTempFile creates the file 0600 before anything is written.
        let mut file = tempfile::Builder::new()
            .prefix("cback-mysql-")
            .suffix(".cnf")
            .tempfile_in(&dir)
            .map_err(fail)?;
        file.write_all(contents(password).as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(fail)?;
        Ok(DefaultsFile { file })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// `--defaults-extra-file=PATH`: must be the first argument of the MySQL program.
    pub fn argument(&self) -> OsString {
        let mut arg = OsString::from("--defaults-extra-file=");
        arg.push(self.path());
        arg
    }
}

/// The option file's text: the password quoted, with MySQL's escapes for `\` and `"`.
pub fn contents(password: &str) -> String {
    let mut quoted = String::with_capacity(password.len() + 2);
    for c in password.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    format!(
        "# Written by cback for one run; removed afterwards.\n[client]\npassword=\"{quoted}\"\n"
    )
}

/// Whether the running user's `~/.my.cnf` sets a password too (which MySQL reads later, so it
/// wins over the configured one).
pub fn home_sets_password() -> bool {
    let Some(home) = std::env::var_os("HOME") else {
        return false;
    };
    std::fs::read_to_string(Path::new(&home).join(".my.cnf")).is_ok_and(|text| {
        text.lines()
            .map(str::trim_start)
            .any(|line| line.starts_with("password"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_file_is_private_quoted_and_removed() {
        let file = DefaultsFile::create("pa ss;wo\"rd\\x").unwrap();
        let path = file.path().to_path_buf();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("[client]\npassword=\"pa ss;wo\\\"rd\\\\x\"\n"),
            "{text}"
        );
        assert!(file
            .argument()
            .to_string_lossy()
            .starts_with("--defaults-extra-file=/"));
        drop(file);
        assert!(!path.exists());
    }
}
