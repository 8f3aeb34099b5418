//! A command's output into a file of collect_dir: compressed on all cores as it streams,
//! written under a hidden temporary name (mode 0600) and renamed only when the command
//! succeeded and everything is on disk. A failed or interrupted command leaves the previous
//! file under the final name untouched, and no temporary file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::atomic::{AtomicError, AtomicFile, Mode, Owner, Writeback};
use crate::compress::{Codec, Compressor, Totals};
use crate::stream::{StreamCommand, StreamError};

use super::rules;

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    File(#[from] AtomicError),
    #[error("cannot start the {mode} compressor for {}", path.display())]
    Compressor {
        mode: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Command(#[from] StreamError),
}

impl CaptureError {
    /// Whether the run was interrupted (SIGINT, SIGTERM).
    pub fn is_interrupt(&self) -> bool {
        matches!(self, CaptureError::Command(StreamError::Interrupted))
    }
}

/// A finished file.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    pub path: PathBuf,
    pub totals: Totals,
}

/// A compressed file being written under its hidden temporary name.
#[derive(Debug)]
pub struct CompressedFile {
    file: AtomicFile,
    compressor: Compressor<Writeback>,
}

impl CompressedFile {
    /// Creates the temporary file for `final_name` in `dir`, compressed with `mode`.
    pub fn create(
        dir: &Path,
        final_name: &str,
        mode: Codec,
    ) -> Result<CompressedFile, CaptureError> {
        let file = AtomicFile::create(dir, final_name)?;
        let temp = file.temp_path().to_path_buf();
        let handle = file.writer().map_err(|source| AtomicError::Write {
            path: temp.clone(),
            source,
        })?;
        let compressor = Compressor::new(handle, rules::compression(mode)).map_err(|source| {
            CaptureError::Compressor {
                mode: mode.name(),
                path: temp,
                source,
            }
        })?;
        Ok(CompressedFile { file, compressor })
    }

    /// Where the (uncompressed) data goes.
    pub fn writer(&mut self) -> &mut Compressor<Writeback> {
        &mut self.compressor
    }

    pub fn temp_path(&self) -> &Path {
        self.file.temp_path()
    }

    /// Finishes the compression, hands the file to `owner` (as root, mode 0640; else 0600) and
    /// renames it to its final name.
    pub fn commit(self, owner: Option<Owner<'_>>) -> Result<Captured, CaptureError> {
        let temp = self.file.temp_path().to_path_buf();
        let write_error = |source| AtomicError::Write {
            path: temp.clone(),
            source,
        };
        let (handle, totals) = self.compressor.finish().map_err(write_error)?;
        handle.finish().map_err(write_error)?;
        let path = self.file.commit_with(owner, Mode::GroupReadable)?;
        Ok(Captured { path, totals })
    }
}

/// Removes the temporary files a killed run of an extension left in `dir`: those whose final
/// name `wanted` accepts (e.g. names starting with `mysqldump`). Call it only while holding the
/// run lock, before writing.
pub fn remove_stale(dir: &Path, wanted: &dyn Fn(&str) -> bool) {
    crate::atomic::remove_stale_temps(dir, wanted, "a partial file");
}

/// What an exit status means for the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitRule {
    /// Anything but 0 fails.
    MustSucceed,
    /// Any exit code is fine (`ls -laR /` complains about what it cannot read); death by a
    /// signal still fails.
    AnyCode,
}

/// The most output [`capture_logged`] copies into the log.
pub const LOGGED_OUTPUT_MAX: usize = 1 << 20;

/// Runs `command`, writing its output compressed with `mode` to `dir/final_name`.
pub fn capture(
    command: &StreamCommand,
    dir: &Path,
    final_name: &str,
    mode: Codec,
    owner: Option<Owner<'_>>,
    rule: ExitRule,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<Captured, CaptureError> {
    capture_into(
        command,
        dir,
        final_name,
        mode,
        owner,
        rule,
        interrupted,
        None,
    )
}

/// [`capture`], also copying the output (its first [`LOGGED_OUTPUT_MAX`] bytes) into the log
/// as command output (shown with `--output`), as the original does for `fdisk -l`.
pub fn capture_logged(
    command: &StreamCommand,
    dir: &Path,
    final_name: &str,
    mode: Codec,
    owner: Option<Owner<'_>>,
    rule: ExitRule,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<Captured, CaptureError> {
    let mut copy = Vec::new();
    let captured = capture_into(
        command,
        dir,
        final_name,
        mode,
        owner,
        rule,
        interrupted,
        Some(&mut copy),
    )?;
    crate::logging::log_command_output(&String::from_utf8_lossy(&copy));
    Ok(captured)
}

/// Writes into `inner` and keeps the first bytes in `copy`.
struct Tee<'a, W> {
    inner: &'a mut W,
    copy: &'a mut Vec<u8>,
}

impl<W: std::io::Write> std::io::Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let room = LOGGED_OUTPUT_MAX.saturating_sub(self.copy.len());
        self.copy.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[allow(clippy::too_many_arguments)]
fn capture_into(
    command: &StreamCommand,
    dir: &Path,
    final_name: &str,
    mode: Codec,
    owner: Option<Owner<'_>>,
    rule: ExitRule,
    interrupted: &(dyn Fn() -> bool + Sync),
    copy: Option<&mut Vec<u8>>,
) -> Result<Captured, CaptureError> {
    log_command(command);
    let mut file = CompressedFile::create(dir, final_name, mode)?;
    let temp = file.temp_path().to_path_buf();
    let streamed = match copy {
        Some(copy) => {
            let mut tee = Tee {
                inner: file.writer(),
                copy,
            };
            crate::stream::run(command, &mut tee, &temp, interrupted)
        }
        None => crate::stream::run(command, file.writer(), &temp, interrupted),
    };
    match streamed {
        Ok(()) => {}
        Err(StreamError::Exit {
            status,
            stderr_tail,
            ..
        }) if rule == ExitRule::AnyCode && status.code().is_some() => {
            tracing::info!(
                "{} exited with status {} (accepted); its last messages: {}",
                command.label,
                status.code().unwrap_or_default(),
                if stderr_tail.is_empty() {
                    "none"
                } else {
                    &stderr_tail
                }
            );
        }
        Err(err) => return Err(err.into()),
    }
    file.commit(owner)
}

/// Logs the call as the original does under `--output`: `Executing command ['NAME'] with args
/// ['ARG', ...].` Only arguments are logged; the environment (where secrets may be) is not.
pub fn log_command(command: &StreamCommand) {
    let args: Vec<String> = command.args.iter().map(quoted).collect();
    tracing::info!(
        target: crate::logging::OUTPUT_TARGET,
        "Executing command ['{}'] with args [{}].",
        command.program.display(),
        args.join(", ")
    );
}

fn quoted(arg: &OsString) -> String {
    format!("'{}'", arg.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dir_names;
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;

    fn sh(script: &str) -> StreamCommand {
        StreamCommand::new(
            "sh",
            PathBuf::from("/bin/sh"),
            vec!["-c".into(), script.into()],
        )
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn every_mode_decompresses_to_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let expected: String = (1..=50000).map(|i| format!("{i}\n")).collect();
        for (mode, name) in [
            (Codec::None, "out.txt"),
            (Codec::Gzip, "out.txt.gz"),
            (Codec::Bzip2, "out.txt.bz2"),
        ] {
            let done = capture(
                &sh("seq 1 50000"),
                dir.path(),
                name,
                mode,
                None,
                ExitRule::MustSucceed,
                &never,
            )
            .unwrap();
            assert_eq!(done.path, dir.path().join(name));
            assert_eq!(done.totals.raw, expected.len() as u64);
            let bytes = std::fs::read(&done.path).unwrap();
            let mut text = String::new();
            match mode {
                Codec::None => text = String::from_utf8(bytes).unwrap(),
                Codec::Gzip => {
                    assert_eq!(bytes[8], 2, "gzip level 9");
                    flate2::read::MultiGzDecoder::new(&bytes[..])
                        .read_to_string(&mut text)
                        .unwrap();
                }
                Codec::Bzip2 => {
                    bzip2::read::MultiBzDecoder::new(&bytes[..])
                        .read_to_string(&mut text)
                        .unwrap();
                }
                Codec::Zstd => unreachable!("not an extension's compress mode"),
            };
            assert!(text == expected, "{name}");
            let mode_bits = std::fs::metadata(&done.path).unwrap().mode() & 0o777;
            assert_eq!(mode_bits, 0o600);
        }
    }

    #[test]
    fn a_failure_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("out.txt.gz"), "yesterday").unwrap();
        let err = capture(
            &sh("echo partial; echo 'access denied' >&2; exit 2"),
            dir.path(),
            "out.txt.gz",
            Codec::Gzip,
            None,
            ExitRule::MustSucceed,
            &never,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("exit status 2") && text.contains("access denied"),
            "{text}"
        );
        assert_eq!(dir_names(dir.path()), vec!["out.txt.gz"]);
        assert_eq!(
            std::fs::read(dir.path().join("out.txt.gz")).unwrap(),
            b"yesterday"
        );
    }

    #[test]
    fn any_code_accepts_an_exit_code_but_not_a_signal() {
        let dir = tempfile::tempdir().unwrap();
        let done = capture(
            &sh("echo listing; exit 2"),
            dir.path(),
            "ls.txt",
            Codec::None,
            None,
            ExitRule::AnyCode,
            &never,
        )
        .unwrap();
        assert_eq!(std::fs::read(done.path).unwrap(), b"listing\n");
        let err = capture(
            &sh("echo listing; kill -9 $$"),
            dir.path(),
            "ls2.txt",
            Codec::None,
            None,
            ExitRule::AnyCode,
            &never,
        )
        .unwrap_err();
        assert!(err.to_string().contains("SIGKILL"), "{err}");
        assert_eq!(dir_names(dir.path()), vec!["ls.txt"]);
    }

    #[test]
    fn an_interrupt_removes_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = capture(
            &sh("echo partial; exec sleep 30"),
            dir.path(),
            "out.txt",
            Codec::None,
            None,
            ExitRule::MustSucceed,
            &|| true,
        )
        .unwrap_err();
        assert!(err.is_interrupt(), "{err}");
        assert!(dir_names(dir.path()).is_empty());
    }
}
