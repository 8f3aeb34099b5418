//! Encryption on the way to the bucket: the original's `<encrypt>` command, or age.
//!
//! The command line runs as the original runs it, `su BACKUP_USER -c 'COMMAND'`, with
//! `${input}` replaced by the staged file's absolute path. `${output}` is replaced by a named
//! pipe in a private directory of working_dir (mode 0700, the backup user's): what the
//! command writes there streams straight into the upload, so no encrypted copy of the file is
//! ever written to disk (only one part at a time is spooled). The object is completed only
//! when the command exits 0; otherwise the upload is aborted and nothing is stored under the
//! key.
//!
//! With `<encrypt_mode>age`, the file is encrypted in-process for the `<recipient>` keys.
//!
//! Empty files are stored as empty objects, not encrypted, as the original stores them.

use std::fs::File;
use std::io::{self, BufReader};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::unistd::{Gid, Uid};

use cedar_core::{
    child_command, combined_output, last_lines, run_supervised, Recipients, SupervisedError,
};

use crate::error::AmazonS3Error;
use crate::upload::{Sent, StreamUpload};

/// A private directory for the named pipe and the spool file, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// Creates it in `working_dir`, mode 0700, owned by `owner` (as root).
    pub fn create(working_dir: &Path, owner: Option<(Uid, Gid)>) -> Result<Scratch, AmazonS3Error> {
        let fail = |source| AmazonS3Error::TempDir {
            path: working_dir.to_path_buf(),
            source,
        };
        let dir = tempfile::Builder::new()
            .prefix("cback.amazons3.")
            .tempdir_in(working_dir)
            .map_err(fail)?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(fail)?;
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| fail(io::Error::from(e)))?;
        }
        Ok(Scratch { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `command` with `${input}` and `${output}` replaced.
pub fn substitute(command: &str, input: &Path, output: &Path) -> String {
    command
        .replace("${input}", &input.display().to_string())
        .replace("${output}", &output.display().to_string())
}

/// How many lines of the command's standard error a message quotes.
const STDERR_LINES: usize = 4;

/// Runs the encrypt command for `input` and stores its output as the upload `sink`.
pub fn through_command(
    su: &Path,
    user: &str,
    command: &str,
    input: &Path,
    scratch: &Scratch,
    owner: Option<(Uid, Gid)>,
    mut sink: StreamUpload<'_>,
) -> Result<Sent, AmazonS3Error> {
    let fifo = scratch.path().join("stream");
    let _ = std::fs::remove_file(&fifo);
    let temp_error = |source| AmazonS3Error::TempDir {
        path: fifo.clone(),
        source,
    };
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| temp_error(io::Error::from(e)))?;
    if let Some((uid, gid)) = owner {
        nix::unistd::chown(&fifo, Some(uid), Some(gid))
            .map_err(|e| temp_error(io::Error::from(e)))?;
    }
    // Our own ends: the read end without waiting, then a write end, so that the reader sees
    // the end of the stream only once the command is done (whether it opened the pipe or not).
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .map_err(temp_error)?;
    let holder = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .map_err(temp_error)?;
    set_blocking(&reader).map_err(temp_error)?;

    let line = substitute(command, input, &fifo);
    let mut cmd = child_command(su);
    cmd.arg(user).arg("-c").arg(&line);
    tracing::debug!("Executing: {} {user} -c \"{line}\"", su.display());

    let (output, streamed) = std::thread::scope(|scope| {
        let copier = scope.spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, reader);
            let copied = io::copy(&mut reader, &mut sink);
            if copied.is_err() {
                // Keep the command from blocking on a full pipe; its result no longer matters.
                let _ = io::copy(&mut reader, &mut io::sink());
            }
            (copied, sink)
        });
        let output = run_supervised(cmd);
        drop(holder);
        (output, copier.join())
    });
    let _ = std::fs::remove_file(&fifo);
    let (copied, mut sink) = streamed.map_err(|_| AmazonS3Error::Age {
        path: input.to_path_buf(),
        source: io::Error::other("the stream reader panicked"),
    })?;
    let output = output.map_err(|e| match e {
        SupervisedError::Interrupted => AmazonS3Error::Interrupted,
        SupervisedError::Spawn(source) => AmazonS3Error::EncryptSpawn {
            program: su.to_path_buf(),
            source,
        },
    })?;
    for text in combined_output(&output).lines() {
        tracing::debug!("{text}");
    }
    if !output.status.success() {
        return Err(AmazonS3Error::EncryptCommand {
            code: output
                .status
                .code()
                .map_or_else(|| "signal".to_string(), |c| c.to_string()),
            path: input.to_path_buf(),
            user: user.to_string(),
            stderr: last_lines(&String::from_utf8_lossy(&output.stderr), STDERR_LINES)
                .replace('\n', "; "),
        });
    }
    if let Err(err) = copied {
        let source = sink.take_failure();
        return Err(match source {
            Some(source) => upload_error(input, source),
            None => AmazonS3Error::Age {
                path: input.to_path_buf(),
                source: err,
            },
        });
    }
    sink.finish().map_err(|source| upload_error(input, source))
}

/// A failed upload of `input`'s stream, with the key filled in by the caller's context.
fn upload_error(input: &Path, source: crate::upload::UploadError) -> AmazonS3Error {
    AmazonS3Error::Upload {
        path: input.to_path_buf(),
        bucket: String::new(),
        key: String::new(),
        day_prefix: String::new(),
        source: Box::new(source),
    }
}

fn set_blocking(file: &File) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let flags = OFlag::from_bits_truncate(flags) - OFlag::O_NONBLOCK;
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(())
}

/// Encrypts `input` for `recipients` into the upload `sink`.
pub fn through_age(
    recipients: &Recipients,
    input: &Path,
    mut sink: StreamUpload<'_>,
) -> Result<Sent, AmazonS3Error> {
    let age_error = |source| AmazonS3Error::Age {
        path: input.to_path_buf(),
        source,
    };
    let file = File::open(input).map_err(age_error)?;
    let copied = (|| {
        let mut writer = recipients.encrypt_to(&mut sink)?;
        io::copy(&mut BufReader::with_capacity(1 << 16, file), &mut writer)?;
        writer.finish()?;
        Ok::<(), io::Error>(())
    })();
    if let Err(err) = copied {
        return Err(match sink.take_failure() {
            Some(source) => upload_error(input, source),
            None => age_error(err),
        });
    }
    sink.finish().map_err(|source| upload_error(input, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_as_text() {
        assert_eq!(
            substitute(
                "gpg -o '${output}' '${input}' # ${input}",
                Path::new("/s/a b"),
                Path::new("/w/x/stream")
            ),
            "gpg -o '/w/x/stream' '/s/a b' # /s/a b"
        );
    }
}
