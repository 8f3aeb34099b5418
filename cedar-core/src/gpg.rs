//! `gpg --decrypt` as a stream: its standard input is a file or any reader (fed by a thread),
//! its standard output is read as the plaintext, and at its end the exit status is checked.
//! Used for `.gpg` copies (the encrypt extension) and for objects an `<encrypt>` command
//! encrypted on their way off site. Nothing decrypted is written to disk.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::thread::JoinHandle;

/// What gpg decrypts.
pub enum Input {
    /// A file, given to gpg as its standard input.
    File(PathBuf),
    /// A stream, copied into gpg's standard input by a thread.
    Reader(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::File(path) => f.debug_tuple("File").field(path).finish(),
            Input::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// The plaintext of `gpg --batch --decrypt` as it is read.
#[derive(Debug)]
pub struct Decrypting {
    child: Child,
    stdout: ChildStdout,
    stderr: Option<JoinHandle<String>>,
    feeder: Option<JoinHandle<io::Result<()>>>,
    done: bool,
}

impl Decrypting {
    /// Starts `gpg` (the program, or an `<override>`) on `input`.
    pub fn start(gpg: &Path, input: Input) -> io::Result<Decrypting> {
        let (stdin, reader) = match input {
            Input::File(path) => (Stdio::from(std::fs::File::open(path)?), None),
            Input::Reader(reader) => (Stdio::piped(), Some(reader)),
        };
        let mut child = crate::process::command(gpg)
            .args(["--batch", "--quiet", "--no-tty", "--decrypt"])
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot start {} to decrypt it: {e}; install gnupg or set an <override> for gpg",
                        gpg.display()
                    ),
                )
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let feeder = match (reader, child.stdin.take()) {
            (Some(mut reader), Some(mut stdin)) => Some(std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    // gpg stopped reading (it failed): its status tells why.
                    if stdin.write_all(&buf[..n]).is_err() {
                        return Ok(());
                    }
                }
            })),
            _ => None,
        };
        Ok(Decrypting {
            child,
            stdout,
            stderr: Some(stderr),
            feeder,
            done: false,
        })
    }
}

impl Read for Decrypting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.done = true;
            let fed = match self.feeder.take().map(|h| h.join()) {
                None => Ok(()),
                Some(Ok(result)) => result,
                Some(Err(_)) => Err(io::Error::other("the thread feeding gpg panicked")),
            };
            let status = self.child.wait()?;
            let text = self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default();
            fed?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "gpg --decrypt failed ({status}): {}; check that the secret key is in the keyring of this user (GNUPGHOME)",
                    crate::process::tail(&text, 5)
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for Decrypting {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_named() {
        let err = Decrypting::start(
            Path::new("/nonexistent/gpg"),
            Input::Reader(Box::new(&b"x"[..])),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/gpg"), "{err}");
    }

    #[test]
    fn a_failing_program_fails_the_read_with_its_message() {
        // `false` reads nothing and exits 1: the read fails instead of ending cleanly.
        let mut out = Vec::new();
        let err = Decrypting::start(
            Path::new("false"),
            Input::Reader(Box::new(std::io::repeat(0).take(1 << 20))),
        )
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
        assert!(err.to_string().contains("gpg --decrypt failed"), "{err}");
    }
}
