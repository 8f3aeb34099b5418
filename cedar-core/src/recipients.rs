//! age recipients (cback only): public keys read from `<recipient>` elements, and a writer
//! that encrypts a stream for them in the age format. In the kernel because several extensions
//! encrypt for them (encrypt, amazons3; the postgresql extension will too).
//!
//! A recipient is an X25519 key (`age1…`) or an OpenSSH public key line (`ssh-ed25519 AAAA…
//! [comment]`, `ssh-rsa …`). Only public keys are read; decrypting needs the matching
//! secret key, which is kept away from the backup host.

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

/// One public key.
#[derive(Clone)]
enum Key {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

/// The recipients of a section, at least one.
#[derive(Clone)]
pub struct Recipients {
    keys: Arc<Vec<Key>>,
    /// As written, for messages and logs.
    texts: Vec<String>,
}

impl fmt::Debug for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.texts).finish()
    }
}

fn parse_key(text: &str) -> Result<Key, String> {
    let trimmed = text.trim_matches(char::is_whitespace);
    if trimmed.starts_with("age1") {
        return trimmed
            .parse::<age::x25519::Recipient>()
            .map(Key::X25519)
            .map_err(|e| format!("[{trimmed}] is not an age public key ({e}); copy the line `age-keygen -y` prints"));
    }
    if trimmed.starts_with("ssh-") {
        return trimmed
            .parse::<age::ssh::Recipient>()
            .map(Key::Ssh)
            .map_err(|e| format!("[{trimmed}] is not a usable SSH public key ({e:?}); use an ssh-ed25519 key's .pub line"));
    }
    if trimmed.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-")
        || trimmed.contains("PRIVATE KEY")
    {
        return Err("a <recipient> holds a secret key: put only public keys there (age-keygen -y prints the public key of an identity), keep the secret key off the backup host, and treat this one as exposed".to_string());
    }
    Err(format!(
        "[{}] is neither an age public key (age1…) nor an SSH public key (ssh-ed25519 …)",
        preview(trimmed)
    ))
}

/// The start of an unreadable value, enough to find it but never a whole key.
fn preview(text: &str) -> String {
    let start: String = text.chars().take(12).collect();
    if start.len() < text.len() {
        format!("{start}…")
    } else {
        start
    }
}

/// Reads every recipient; at least one is required.
pub fn parse_all(texts: &[String]) -> Result<Recipients, String> {
    if texts.is_empty() {
        return Err(
            "encrypt mode age needs at least one <recipient> public key (age1… or ssh-ed25519 …); add one"
                .to_string(),
        );
    }
    let keys = texts
        .iter()
        .map(|t| parse_key(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Recipients {
        keys: Arc::new(keys),
        texts: texts
            .iter()
            .map(|t| t.trim_matches(char::is_whitespace).to_string())
            .collect(),
    })
}

impl Recipients {
    /// The keys as written.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// A writer that encrypts everything written to it into `output`; call
    /// [`age::stream::StreamWriter::finish`] at the end.
    pub fn encrypt_to<W: Write>(&self, output: W) -> io::Result<age::stream::StreamWriter<W>> {
        let recipients: Vec<&dyn age::Recipient> = self
            .keys
            .iter()
            .map(|k| match k {
                Key::X25519(r) => r as &dyn age::Recipient,
                Key::Ssh(r) => r as &dyn age::Recipient,
            })
            .collect();
        let encryptor = age::Encryptor::with_recipients(recipients.into_iter())
            .map_err(|e| io::Error::other(format!("cannot encrypt for the age recipients: {e}")))?;
        encryptor.wrap_output(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn encrypts_for_every_recipient() {
        let one = age::x25519::Identity::generate();
        let two = age::x25519::Identity::generate();
        let recipients = parse_all(&[
            one.to_public().to_string(),
            format!(" {}\n", two.to_public()),
        ])
        .unwrap();
        let mut out = Vec::new();
        let mut writer = recipients.encrypt_to(&mut out).unwrap();
        writer.write_all(b"secret data").unwrap();
        writer.finish().unwrap();
        assert!(out.starts_with(b"age-encryption.org/v1"));
        for identity in [one, two] {
            let decryptor = age::Decryptor::new(&out[..]).unwrap();
            let mut reader = decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .unwrap();
            let mut plain = Vec::new();
            reader.read_to_end(&mut plain).unwrap();
            assert_eq!(plain, b"secret data");
        }
    }

    #[test]
    fn secret_keys_and_garbage_are_refused() {
        let secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQ";
        let err = parse_all(&[secret.to_string()]).unwrap_err();
        assert!(err.contains("secret key"), "{err}");
        assert!(!err.contains("1QQQ"), "{err}");
        let Err(err) = parse_key("something-long-and-wrong") else {
            panic!("garbage was taken for a key")
        };
        assert!(err.contains("[something-lo…]"), "{err}");
        assert!(parse_key("ssh-ed25519 AAAAnotbase64").is_err());
        assert!(parse_all(&[]).is_err());
    }
}
