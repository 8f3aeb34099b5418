//! One ssh connection for the several calls a run makes to one peer (OpenSSH connection
//! multiplexing).
//!
//! Staging a remote peer takes three calls of its rcp command (the ready check, the copy, the
//! `cback.stage` push), and each call of `scp` or `ssh` opens a connection of its own: a TCP
//! handshake, a key exchange and an authentication, about 0.2 s on loopback and more across a
//! network, where `scp -r` pays it once. When the configured command is `scp` or `ssh` and
//! does not choose its own `ControlPath`, the calls get three options:
//!
//! ```text
//! -o ControlMaster=auto -o ControlPath=DIR/ssh -o ControlPersist=60
//! ```
//!
//! The first call opens the connection and leaves a master process behind, which the next
//! calls use (a new session on the same connection, no new authentication); DIR is the peer's
//! private directory in working_dir (the backup user's, mode 0700), so no other user can use
//! the connection. When the calls are done, [`SharedConnection`]'s drop asks the master to
//! end (`ssh -o ControlPath=DIR/ssh -O exit DESTINATION`, as the backup user); a master left
//! behind by a killed run ends by itself after 60 idle seconds. Where the connection cannot be
//! shared (the master was not started, its socket is gone), ssh connects on its own as before:
//! the options change how fast a call is, never whether it succeeds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process;
use crate::remote::{RemoteCall, Word};

/// The name of the master's socket in the peer's directory.
const SOCKET_NAME: &str = "ssh";

/// The longest socket path ssh can listen on: it binds `PATH.` and 16 random characters
/// first, and a Unix socket's path holds at most 107 bytes.
const MAX_SOCKET_PATH: usize = 90;

/// How long an idle master waits for another call before it ends by itself (only a master
/// whose run was killed is ever idle that long).
const PERSIST_SECONDS: u32 = 60;

/// How long the request to end the master may take.
const EXIT_LIMIT: Duration = Duration::from_secs(10);

/// The connection the calls toward one destination share; asks the master to end when
/// dropped.
#[derive(Debug)]
pub struct SharedConnection {
    socket: PathBuf,
    /// The `ssh ... -O exit DESTINATION` call, run as the calls are.
    exit: RemoteCall,
}

impl SharedConnection {
    /// The shared connection of the calls of `command` (the configured rcp or rsh command's
    /// words) toward `destination` (`USER@HOST`), with its socket in `dir` (private to the
    /// user who runs the calls). `None` when the command is neither `scp` nor `ssh`, chooses
    /// its own `ControlMaster` or `ControlPath`, or `dir` is too long a path for a socket.
    pub fn for_command(
        command: &[Word],
        dir: &Path,
        destination: &str,
        su_user: Option<&str>,
        su_program: &str,
    ) -> Option<SharedConnection> {
        let ssh = ssh_program(command)?;
        let socket = dir.join(SOCKET_NAME);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            tracing::debug!(
                "Not sharing one ssh connection: [{}] is too long a path for its socket.",
                socket.display()
            );
            return None;
        }
        let exit = RemoteCall::new(
            vec![
                Word::Config(ssh),
                Word::Config("-o".into()),
                control_path(&socket),
                Word::Config("-O".into()),
                Word::Config("exit".into()),
                Word::Plain(destination.to_string()),
            ],
            su_user,
            su_program,
        );
        Some(SharedConnection { socket, exit })
    }

    /// `command` with the options that make it use the shared connection, inserted after its
    /// program.
    pub fn apply(&self, mut command: Vec<Word>) -> Vec<Word> {
        let options = [
            Word::Config("-o".into()),
            Word::Config("ControlMaster=auto".into()),
            Word::Config("-o".into()),
            control_path(&self.socket),
            Word::Config("-o".into()),
            Word::Config(format!("ControlPersist={PERSIST_SECONDS}")),
        ];
        let at = usize::from(!command.is_empty());
        command.splice(at..at, options);
        command
    }
}

impl Drop for SharedConnection {
    fn drop(&mut self) {
        // No socket: no call started a master (or it has already ended).
        if std::fs::symlink_metadata(&self.socket).is_err() {
            return;
        }
        let argv = self.exit.argv();
        let Some((program, args)) = argv.split_first() else {
            return;
        };
        let mut cmd = process::command(program);
        cmd.args(args);
        // Also when the run is being interrupted: the master is not in our process group
        // and would otherwise stay for its idle minute.
        match process::run_watched_within(cmd, &|| false, Some(EXIT_LIMIT)) {
            Ok(output) if output.status.success() => {
                tracing::debug!(
                    "Ended the shared ssh connection [{}].",
                    self.socket.display()
                )
            }
            Ok(output) => tracing::debug!(
                "`{}` failed: {}",
                self.exit.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(err) => tracing::debug!("`{}` failed: {err}", self.exit.display()),
        }
    }
}

fn control_path(socket: &Path) -> Word {
    Word::Plain(format!("ControlPath={}", socket.display()))
}

/// The ssh program behind `command`: the program itself for `ssh`, the one `scp` runs for
/// `scp` (its `-S PROGRAM`, else `ssh`); `None` for any other program, or when the command
/// chooses its own multiplexing.
fn ssh_program(command: &[Word]) -> Option<String> {
    let args: Vec<String> = command.iter().map(Word::arg).collect();
    let (program, options) = args.split_first()?;
    if options.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a.contains("controlmaster") || a.contains("controlpath")
    }) {
        return None;
    }
    let name = Path::new(program).file_name()?.to_str()?;
    match name {
        "ssh" => Some(program.clone()),
        "scp" => Some(
            options
                .windows(2)
                .find(|pair| pair[0] == "-S")
                .map_or_else(|| "ssh".to_string(), |pair| pair[1].clone()),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::config_words;

    fn shared(command: &str, dir: &str) -> Option<SharedConnection> {
        SharedConnection::for_command(
            &config_words(command),
            Path::new(dir),
            "backup@host1",
            Some("backup"),
            "su",
        )
    }

    #[test]
    fn scp_and_ssh_share_a_connection_other_programs_do_not() {
        assert!(shared("/usr/bin/scp -B -q -C", "/var/lib/cback/.host1.AbCdEf").is_some());
        assert!(shared("ssh -q", "/w").is_some());
        assert!(shared("/usr/bin/rsync -a", "/w").is_none());
        assert!(shared("/usr/local/bin/my-scp-wrapper", "/w").is_none());
        assert!(shared("", "/w").is_none());
    }

    #[test]
    fn a_command_that_multiplexes_on_its_own_is_left_alone() {
        assert!(shared("/usr/bin/scp -o ControlPath=/run/x -B", "/w").is_none());
        assert!(shared("/usr/bin/ssh -oControlMaster=no", "/w").is_none());
    }

    #[test]
    fn a_socket_path_too_long_for_ssh_is_not_used() {
        let long = format!("/{}", "d".repeat(MAX_SOCKET_PATH));
        assert!(shared("scp", &long).is_none());
        let fits = format!("/{}", "d".repeat(MAX_SOCKET_PATH - SOCKET_NAME.len() - 2));
        assert!(shared("scp", &fits).is_some());
    }

    #[test]
    fn the_options_follow_the_program() {
        let connection = shared("/usr/bin/scp -B -q", "/w/.host1.AbCdEf").unwrap();
        let words = connection.apply(config_words("/usr/bin/scp -B -q"));
        let args: Vec<String> = words.iter().map(Word::arg).collect();
        assert_eq!(
            args,
            [
                "/usr/bin/scp",
                "-o",
                "ControlMaster=auto",
                "-o",
                "ControlPath=/w/.host1.AbCdEf/ssh",
                "-o",
                "ControlPersist=60",
                "-B",
                "-q"
            ]
        );
        // No master was started: dropping it runs nothing.
        drop(connection);
    }

    #[test]
    fn the_master_is_ended_with_the_ssh_that_scp_runs_as_the_backup_user() {
        let plain = shared("/usr/bin/scp -B", "/w").unwrap();
        assert_eq!(
            plain.exit.display(),
            r#"su backup -c "ssh -o ControlPath=/w/ssh -O exit backup@host1""#
        );
        let chosen = shared("/usr/bin/scp -S /opt/ssh/bin/ssh -B", "/w").unwrap();
        assert!(chosen
            .exit
            .display()
            .starts_with("su backup -c \"/opt/ssh/bin/ssh -o"));
        let ssh = shared("/usr/bin/ssh -q", "/a dir").unwrap();
        assert_eq!(
            ssh.exit.display(),
            r#"su backup -c "/usr/bin/ssh -o 'ControlPath=/a dir/ssh' -O exit backup@host1""#
        );
    }
}
