//! gpg as a stream, both ways:
//! - [`Decrypting`], `gpg --decrypt`: its standard input is a file or any reader (fed by a
//!   thread), its standard output is read as the plaintext, and at its end the exit status is
//!   checked. Used for `.gpg` copies (the encrypt extension), for objects an `<encrypt>`
//!   command encrypted on their way off site, and for dumps encrypted as they were written.
//!   Nothing decrypted is written to disk.
//! - [`Encrypting`], `gpg --encrypt`: a writer whose bytes go to gpg's standard input, gpg's
//!   output copied by a thread into the writer below (the postgresql extension's dumps,
//!   encrypted before any byte reaches the disk).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
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
        let mut cmd = crate::process::command(gpg);
        cmd.args(["--batch", "--quiet", "--no-tty", "--decrypt"]);
        let mut child = spawn(gpg, cmd, stdin, "decrypt it")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = drain_text(child.stderr.take().expect("stderr is piped"));
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
            let ended = wait_for(
                &mut self.child,
                &mut self.stderr,
                "decrypt",
                "check that the secret key is in the keyring of this user (GNUPGHOME)",
            );
            fed?;
            ended?;
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

/// `gpg --batch --encrypt` for some recipients as a writer: what is written is encrypted into
/// `output` (by a thread copying gpg's standard output). Call [`Encrypting::finish`] at the
/// end: it closes gpg's input, waits for it and checks its exit status. Dropped unfinished,
/// gpg is killed.
pub struct Encrypting<W: Write + Send + 'static> {
    child: Child,
    stdin: Option<ChildStdin>,
    copier: Option<JoinHandle<io::Result<W>>>,
    stderr: Option<JoinHandle<String>>,
}

impl<W: Write + Send + 'static> std::fmt::Debug for Encrypting<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encrypting")
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send + 'static> Encrypting<W> {
    /// Starts `gpg` (the program, or an `<override>`) encrypting for every one of `recipients`
    /// (key ids, fingerprints or addresses of public keys in the keyring of this user,
    /// `GNUPGHOME` honoured) into `output`.
    pub fn start(gpg: &Path, recipients: &[String], mut output: W) -> io::Result<Encrypting<W>> {
        let mut cmd = crate::process::command(gpg);
        cmd.args(["--batch", "--quiet", "--no-tty", "--encrypt"]);
        for recipient in recipients {
            cmd.arg("--recipient").arg(recipient);
        }
        let mut child = spawn(gpg, cmd, Stdio::piped(), "encrypt")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = Some(drain_text(child.stderr.take().expect("stderr is piped")));
        let copier = Some(std::thread::spawn(move || {
            let mut stdout = io::BufReader::with_capacity(1 << 16, stdout);
            io::copy(&mut stdout, &mut output)?;
            Ok(output)
        }));
        Ok(Encrypting {
            child,
            stdin,
            copier,
            stderr,
        })
    }

    /// Closes gpg's input, waits for it, and returns the writer below with every encrypted
    /// byte written to it; an error when gpg failed (with its message) or the copy did.
    pub fn finish(mut self) -> io::Result<W> {
        drop(self.stdin.take());
        let copied = match self.copier.take().map(|h| h.join()) {
            Some(Ok(result)) => result,
            _ => Err(io::Error::other("the thread copying gpg's output panicked")),
        };
        self.check_status()?;
        copied
    }

    /// Waits for gpg; its failure as an error quoting its standard error.
    fn check_status(&mut self) -> io::Result<()> {
        wait_for(
            &mut self.child,
            &mut self.stderr,
            "encrypt",
            "check that the public key of every <recipient> is in the keyring of this user (gpg --list-keys, GNUPGHOME) and trusted (gpg --lsign-key)",
        )
    }
}

impl<W: Write + Send + 'static> Write for Encrypting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(io::Error::other("gpg --encrypt was already finished"));
        };
        match stdin.write(buf) {
            Ok(n) => Ok(n),
            // gpg stopped reading: its status and message tell why.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                drop(self.stdin.take());
                self.check_status()?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.stdin.as_mut() {
            Some(stdin) => stdin.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write + Send + 'static> Drop for Encrypting<W> {
    fn drop(&mut self) {
        if self.copier.is_some() {
            drop(self.stdin.take());
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for gpg (`gpg --{doing}`): an error quoting the end of its standard error and
/// saying what to check (`hint`) when it failed.
fn wait_for(
    child: &mut Child,
    stderr: &mut Option<JoinHandle<String>>,
    doing: &str,
    hint: &str,
) -> io::Result<()> {
    let status = child.wait()?;
    let text = stderr
        .take()
        .and_then(|h| h.join().ok())
        .unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "gpg --{doing} failed ({status}): {}; {hint}",
        crate::process::tail(&text, 5)
    )))
}

/// Starts gpg (`cmd`, of the program `gpg`) with `stdin` and piped output, to `doing`.
fn spawn(
    gpg: &Path,
    mut cmd: std::process::Command,
    stdin: Stdio,
    doing: &str,
) -> io::Result<Child> {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot start {} to {doing}: {e}; install gnupg or set an <override> for gpg",
                    gpg.display()
                ),
            )
        })
}

/// A child's pipe read to its end as text on a thread.
fn drain_text<R: Read + Send + 'static>(mut pipe: R) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
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

    #[test]
    fn a_failing_encryption_is_an_error_with_its_message() {
        // `false` reads nothing and exits 1: writing or finishing fails, never silently.
        let mut writer =
            Encrypting::start(Path::new("false"), &["k".to_string()], Vec::new()).unwrap();
        let written = writer.write_all(&vec![0u8; 1 << 20]);
        let err = match written {
            Err(e) => e,
            Ok(()) => writer.finish().unwrap_err(),
        };
        assert!(err.to_string().contains("gpg --encrypt failed"), "{err}");
    }
}
