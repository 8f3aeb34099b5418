//! The gpg commands of the encrypt extension, run as the original runs them (argv, no shell;
//! `LC_*` removed and `LANG=C` where set; the keyring of the user running cback, `GNUPGHOME` honoured):
//! - `gpg --batch -k RECIPIENT`, the check that the public key is there;
//! - `gpg --batch --yes -e -r RECIPIENT -o OUTPUT FILE`, where OUTPUT is the hidden temporary
//!   file that becomes `FILE.gpg`.
//!
//! Both run supervised ([`cedar_core::run_supervised`]): stopped on SIGINT/SIGTERM,
//! their standard error kept for the message of a failure and logged at DEBUG.

use std::path::{Path, PathBuf};
use std::process::Output;

use cedar_core::{
    child_command, combined_output, last_lines, resolve_command, run_supervised, SupervisedError,
};

use crate::error::EncryptError;

/// How many lines of gpg's standard error a message quotes.
const STDERR_LINES: usize = 4;

fn run(program: &Path, args: &[&std::ffi::OsStr]) -> Result<Output, EncryptError> {
    let mut cmd = child_command(program);
    cmd.args(args);
    tracing::debug!(
        "Executing: {} {}",
        program.display(),
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let output = run_supervised(cmd).map_err(|e| match e {
        SupervisedError::Interrupted => EncryptError::Interrupted,
        SupervisedError::Spawn(source) => EncryptError::Spawn {
            program: program.to_path_buf(),
            source,
        },
    })?;
    for line in combined_output(&output).lines() {
        tracing::debug!("{line}");
    }
    Ok(output)
}

fn stderr_tail(output: &Output) -> String {
    last_lines(&String::from_utf8_lossy(&output.stderr), STDERR_LINES).replace('\n', "; ")
}

/// Checks that gpg has a public key for `target`.
pub fn check_recipient(program: &Path, target: &str) -> Result<(), EncryptError> {
    let output = run(
        program,
        &["--batch".as_ref(), "-k".as_ref(), target.as_ref()],
    )?;
    if output.status.success() {
        Ok(())
    } else {
        Err(EncryptError::NoKey {
            target: target.to_string(),
            stderr: stderr_tail(&output),
        })
    }
}

/// Encrypts `file` for `target` into `output` (an existing, empty temporary file).
pub fn encrypt_file(
    program: &Path,
    target: &str,
    file: &Path,
    output: &Path,
    daily: &Path,
) -> Result<(), EncryptError> {
    let result = run(
        program,
        &[
            "--batch".as_ref(),
            "--yes".as_ref(),
            "-e".as_ref(),
            "-r".as_ref(),
            target.as_ref(),
            "-o".as_ref(),
            output.as_os_str(),
            file.as_os_str(),
        ],
    )?;
    if !result.status.success() {
        return Err(EncryptError::Gpg {
            code: result
                .status
                .code()
                .map_or_else(|| "signal".to_string(), |c| c.to_string()),
            file: file.to_path_buf(),
            dir: daily.to_path_buf(),
            stderr: stderr_tail(&result),
        });
    }
    let written = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    if written == 0 {
        return Err(EncryptError::EmptyOutput {
            file: file.to_path_buf(),
        });
    }
    Ok(())
}

/// The gpg program: an `<override>` for `gpg`, else `gpg` on PATH.
pub fn program(config: &cedar_core::Config) -> PathBuf {
    resolve_command(config, "gpg")
}
