//! Errors of the encrypt extension. Messages keep the original's words where it has them, name
//! the file, key or command, and say what to do next. No key material ever appears in them.

use std::path::PathBuf;

use cedar_core::{AtomicError, SectionError, StagedError};

/// What the encrypt action reports.
#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    /// The configuration cannot serve the action (see [`SectionError`]).
    #[error(transparent)]
    Section(#[from] SectionError),
    #[error("GPG unable to find public key for [{target}].{} Import the public key into the keyring of the user running cback (GNUPGHOME, else ~/.gnupg) and sign it locally (gpg --lsign-key), or fix <encrypt_target>.", stderr_suffix(stderr))]
    NoKey { target: String, stderr: String },
    #[error("cannot run `{}`: {source}; install gnupg, or point an <override> for gpg at it", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Error [{code}] calling gpg to encrypt [{}].{} Nothing of {} was changed; fix the cause and run encrypt again.", file.display(), stderr_suffix(stderr), dir.display())]
    Gpg {
        code: String,
        file: PathBuf,
        dir: PathBuf,
        stderr: String,
    },
    #[error("gpg exited 0 but wrote nothing for [{}]; check the gpg program configured", file.display())]
    EmptyOutput { file: PathBuf },
    #[error("cannot encrypt [{}] with age; nothing of {} was changed", file.display(), dir.display())]
    Age {
        file: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("both [{}] and [{}] are staged; encrypting the first would overwrite the second, so nothing of that directory was encrypted: rename or remove one of them", file.display(), existing.display())]
    Collision { file: PathBuf, existing: PathBuf },
    #[error("[{}] holds a line feed in its name, which the encrypt journal cannot record; rename it", file.display())]
    UnusableName { file: PathBuf },
    #[error("cannot write the encrypted copy of [{}]", file.display())]
    Write {
        file: PathBuf,
        #[source]
        source: AtomicError,
    },
    #[error("[{}] is encrypted, but the plain file cannot be removed; remove it by hand, then run encrypt again", file.display())]
    Remove {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Staged(#[from] StagedError),
    #[error("interrupted; the directory being encrypted was left as it was before")]
    Interrupted,
}

/// ` gpg said: ...` when there is standard error to show.
pub fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(" gpg said: {stderr}.")
    }
}

impl From<EncryptError> for cedar_core::ActionError {
    fn from(err: EncryptError) -> Self {
        match err {
            EncryptError::Interrupted => cedar_core::ActionError::Interrupted,
            other => {
                let message = other.to_string();
                cedar_core::ActionError::with_source(message, other)
            }
        }
    }
}
