//! One ssh connection for the several calls a run makes to one peer (OpenSSH connection
//! multiplexing).
//!
//! Staging a remote peer takes three calls of its rcp command (the ready check, the copy, the
//! `cback.stage` push), and each call of `scp` or `ssh` opens a connection of its own: a TCP
//! handshake, a key exchange and an authentication, about 0.2 s on loopback and more across a
//! network, where `scp -r` pays it once. When the configured command is `scp`, `ssh` or an
//! `rsync` whose remote shell is ssh, and does not choose its own `ControlPath`, the calls get
//! three options:
//!
//! ```text
//! -o ControlMaster=auto -o ControlPath=DIR/ssh -o ControlPersist=60
//! ```
//!
//! scp and ssh take them right after the program. rsync hands them to the ssh it runs: an
//! rsync without a remote shell option (and without `RSYNC_RSH` in the environment, which
//! would be its shell) gets `-e 'ssh OPTIONS'` after the program; an rsync with `-e SHELL`
//! (`-eSHELL`, `--rsh=SHELL`, `--rsh SHELL`, also at the end of a bundle such as `-te SHELL`)
//! whose SHELL is ssh gets the options appended to SHELL (`-e 'ssh -p 2222 OPTIONS'`). rsync
//! splits its shell command at blanks and honours quotes, so a socket path with a blank is
//! single-quoted there; a path with a quote is not shared.
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

use crate::hooks::split_command;
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
    /// user who runs the calls). `None` when the command is neither `scp`, `ssh` nor an `rsync`
    /// whose remote shell is ssh, chooses its own `ControlMaster` or `ControlPath`, or `dir` is
    /// too long a path for a socket.
    pub fn for_command(
        command: &[Word],
        dir: &Path,
        destination: &str,
        su_user: Option<&str>,
        su_program: &str,
    ) -> Option<SharedConnection> {
        let ssh = ssh_of(command, std::env::var_os("RSYNC_RSH").is_some())?;
        let socket = dir.join(SOCKET_NAME);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            tracing::debug!(
                "Not sharing one ssh connection: [{}] is too long a path for its socket.",
                socket.display()
            );
            return None;
        }
        if ssh.placement != Placement::AfterProgram && shell_word(&control_path(&socket)).is_none()
        {
            tracing::debug!(
                "Not sharing one ssh connection: [{}] cannot be written in rsync's remote shell.",
                socket.display()
            );
            return None;
        }
        let exit = RemoteCall::new(
            vec![
                Word::Config(ssh.program),
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

    /// `command` (the words this connection was made for) with the options that make it use
    /// the shared connection: after the program of scp and ssh, in the remote shell of rsync.
    pub fn apply(&self, mut command: Vec<Word>) -> Vec<Word> {
        let options = [
            Word::Config("-o".into()),
            Word::Config("ControlMaster=auto".into()),
            Word::Config("-o".into()),
            control_path(&self.socket),
            Word::Config("-o".into()),
            Word::Config(format!("ControlPersist={PERSIST_SECONDS}")),
        ];
        // Found again in the words given, which are those of `for_command`.
        let placement = ssh_of(&command, false).map(|ssh| ssh.placement);
        // The options as rsync's remote shell command line holds them.
        let in_shell = || {
            options
                .iter()
                .map(shell_word)
                .collect::<Option<Vec<_>>>()
                .map(|words| words.join(" "))
        };
        match (placement, in_shell()) {
            (Some(Placement::RsyncShell), Some(text)) => {
                let at = usize::from(!command.is_empty());
                let shell = [
                    Word::Config("-e".into()),
                    Word::Config(format!("ssh {text}")),
                ];
                command.splice(at..at, shell);
            }
            (Some(Placement::RsyncShellAt(at)), Some(text)) => {
                let shell = format!("{} {text}", command[at].arg());
                command[at] = Word::Config(shell);
            }
            (Some(Placement::AfterProgram), _) => {
                let at = usize::from(!command.is_empty());
                command.splice(at..at, options);
            }
            _ => {}
        }
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

/// `word` as one argument of rsync's remote shell command line (which rsync splits at blanks,
/// honouring quotes): as it is, or single-quoted when it holds a blank; `None` when it holds a
/// quote.
fn shell_word(word: &Word) -> Option<String> {
    let text = word.arg();
    if text.contains(['\'', '"']) {
        None
    } else if text.contains(char::is_whitespace) {
        Some(format!("'{text}'"))
    } else {
        Some(text)
    }
}

/// Where the options that share the connection go in a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Right after the program (`scp`, `ssh`).
    AfterProgram,
    /// An rsync that names no remote shell: `-e 'ssh OPTIONS'` after the program.
    RsyncShell,
    /// An rsync whose remote shell is the ssh in word AT (`-e`'s value, `-eSHELL`,
    /// `--rsh=SHELL`): the options are appended to that word.
    RsyncShellAt(usize),
}

/// The ssh program behind a command, and where the options go.
#[derive(Debug)]
struct Ssh {
    program: String,
    placement: Placement,
}

/// The ssh program behind `command`: the program itself for `ssh`, the one `scp` runs for
/// `scp` (its `-S PROGRAM`, else `ssh`), the remote shell of `rsync` when it is ssh (`ssh`
/// when none is named); `None` for any other program, an rsync whose shell `RSYNC_RSH` names
/// (`rsync_rsh`), or when the command chooses its own multiplexing.
fn ssh_of(command: &[Word], rsync_rsh: bool) -> Option<Ssh> {
    let args: Vec<String> = command.iter().map(Word::arg).collect();
    let (program, options) = args.split_first()?;
    if options.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a.contains("controlmaster") || a.contains("controlpath")
    }) {
        return None;
    }
    let name = Path::new(program).file_name()?.to_str()?;
    let after = |program: String| Ssh {
        program,
        placement: Placement::AfterProgram,
    };
    match name {
        "ssh" => Some(after(program.clone())),
        "scp" => Some(after(
            options
                .windows(2)
                .find(|pair| pair[0] == "-S")
                .map_or_else(|| "ssh".to_string(), |pair| pair[1].clone()),
        )),
        "rsync" => match rsync_shell(options)? {
            None if rsync_rsh => None,
            None => Some(Ssh {
                program: "ssh".to_string(),
                placement: Placement::RsyncShell,
            }),
            Some((at, shell)) => {
                let program = split_command(&shell).into_iter().next()?;
                (Path::new(&program).file_name()? == "ssh").then_some(Ssh {
                    program,
                    // `options` starts after the program.
                    placement: Placement::RsyncShellAt(at + 1),
                })
            }
        },
        _ => None,
    }
}

/// rsync's short options that take a value (`-B SIZE`, `-f RULE`, `-T DIR`, `-M OPTION`,
/// `-@ NUM`), besides `-e`.
const RSYNC_SHORT_WITH_VALUE: &str = "BfTM@";

/// The remote shell rsync's `options` name: `Some(None)` for none, `Some(Some((AT, SHELL)))`
/// when `options[AT]` holds it (`-e SHELL`, `-eSHELL`, `-te SHELL`, `--rsh=SHELL`, `--rsh
/// SHELL`); `None` when an `-e` has no value.
fn rsync_shell(options: &[String]) -> Option<Option<(usize, String)>> {
    let mut i = 0;
    while i < options.len() {
        let option = &options[i];
        let value_of_next = |i: usize| options.get(i + 1).map(|v| Some((i + 1, v.clone())));
        if option == "--" {
            break;
        } else if option == "--rsh" {
            return value_of_next(i);
        } else if let Some(shell) = option.strip_prefix("--rsh=") {
            return Some(Some((i, shell.to_string())));
        } else if let Some(bundle) = option.strip_prefix('-').filter(|b| !b.starts_with('-')) {
            for (at, c) in bundle.char_indices() {
                let rest = &bundle[at + c.len_utf8()..];
                if c == 'e' {
                    return if rest.is_empty() {
                        value_of_next(i)
                    } else {
                        Some(Some((i, rest.to_string())))
                    };
                }
                if RSYNC_SHORT_WITH_VALUE.contains(c) {
                    // The value is the rest of the word, or the next word.
                    i += usize::from(rest.is_empty());
                    break;
                }
            }
        }
        i += 1;
    }
    Some(None)
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
        assert!(shared("/usr/bin/rsync -t", "/w").is_some());
        assert!(shared("rsync -t -e /usr/bin/ssh", "/w").is_some());
        assert!(shared("rsync -t -e rsh", "/w").is_none());
        assert!(shared("rsync -t --rsh=/usr/local/bin/my-shell", "/w").is_none());
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

    /// The arguments `command` runs with when it shares the connection of DIR `/w/.h1`.
    fn applied(command: &str) -> Vec<String> {
        let connection = shared(command, "/w/.h1").unwrap();
        connection
            .apply(config_words(command))
            .iter()
            .map(Word::arg)
            .collect()
    }

    const SHARING: &str = "-o ControlMaster=auto -o ControlPath=/w/.h1/ssh -o ControlPersist=60";

    #[test]
    fn an_rsync_without_a_remote_shell_gets_one_that_shares() {
        assert_eq!(
            applied("/usr/bin/rsync -t"),
            ["/usr/bin/rsync", "-e", &format!("ssh {SHARING}"), "-t"]
        );
        // A value of another option is not taken for -e.
        assert_eq!(
            applied("rsync -f -e -t"),
            ["rsync", "-e", &format!("ssh {SHARING}"), "-f", "-e", "-t"]
        );
        // RSYNC_RSH in the environment is rsync's shell then: left alone ...
        assert!(ssh_of(&config_words("rsync -t"), true).is_none());
        // ... unless -e overrides it.
        assert!(ssh_of(&config_words("rsync -t -e ssh"), true).is_some());
    }

    #[test]
    fn an_rsync_with_ssh_as_its_remote_shell_gets_the_options_in_that_shell() {
        assert_eq!(
            applied(r#"/usr/bin/rsync -t -e "/usr/bin/ssh -p 2222 -i /k""#),
            [
                "/usr/bin/rsync",
                "-t",
                "-e",
                &format!("/usr/bin/ssh -p 2222 -i /k {SHARING}")
            ]
        );
        assert_eq!(
            applied("rsync -T /var/tmp -te ssh -q"),
            [
                "rsync",
                "-T",
                "/var/tmp",
                "-te",
                &format!("ssh {SHARING}"),
                "-q"
            ]
        );
        assert_eq!(
            applied("rsync -essh -t"),
            ["rsync", &format!("-essh {SHARING}"), "-t"]
        );
        assert_eq!(
            applied("rsync --rsh=ssh -t"),
            ["rsync", &format!("--rsh=ssh {SHARING}"), "-t"]
        );
        assert_eq!(
            applied("rsync --rsh ssh"),
            ["rsync", "--rsh", &format!("ssh {SHARING}")]
        );
        // An -e without its value is rsync's error to report.
        assert!(shared("rsync -t -e", "/w").is_none());
    }

    #[test]
    fn rsyncs_shell_holds_the_socket_path_as_one_word() {
        let connection = shared("rsync -t", "/a dir").unwrap();
        let words = connection.apply(config_words("rsync -t"));
        assert_eq!(
            words[2].arg(),
            "ssh -o ControlMaster=auto -o 'ControlPath=/a dir/ssh' -o ControlPersist=60"
        );
        // As root, the shell's command stays one word of the su text.
        let call = RemoteCall::new(words, Some("backup"), "su");
        assert_eq!(
            call.argv()[3],
            r#"rsync -e "ssh -o ControlMaster=auto -o 'ControlPath=/a dir/ssh' -o ControlPersist=60" -t"#
        );
        // A quote in the path cannot be written there: not shared (scp can).
        assert!(shared("rsync -t", "/it's").is_none());
        assert!(shared("scp -B", "/it's").is_some());
    }

    #[test]
    fn rsyncs_master_is_ended_with_its_ssh() {
        let chosen = shared(r#"rsync -t -e "/opt/ssh/bin/ssh -p 2222""#, "/w").unwrap();
        assert_eq!(
            chosen.exit.display(),
            r#"su backup -c "/opt/ssh/bin/ssh -o ControlPath=/w/ssh -O exit backup@host1""#
        );
        let plain = shared("rsync -t", "/w").unwrap();
        assert!(plain.exit.display().starts_with("su backup -c \"ssh -o"));
    }
}
