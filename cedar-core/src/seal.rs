//! Encryption of a stream as it is written and decryption as it is read, for age recipients
//! ([`crate::recipients`], in process) or gpg keys ([`crate::gpg`], the gpg program): the one
//! place where the two are chosen between. The writer side serves the postgresql extension's
//! dumps (encrypted before any byte reaches the disk); the reader side serves every tool that
//! reads encrypted copies back (`cback-restore`, the amazons3 place).
//!
//! Without a key, [`check_structure`] checks what can be checked of an encrypted file: its
//! format (the age header, or the OpenPGP packets), that it holds exactly the encryption of
//! the bytes written into it, and its SHA-256.

use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::gpg::{Decrypting, Encrypting, Input};
use crate::recipients::Recipients;
use crate::remote_copies::{Keys, Sealing};
use crate::sha256::{DigestReader, Digested};

/// For whom a stream is encrypted.
#[derive(Debug, Clone)]
pub enum Seal {
    /// age recipients, encrypted in process.
    Age(Recipients),
    /// gpg public keys (ids, fingerprints or addresses), encrypted by the gpg program.
    Gpg {
        program: PathBuf,
        recipients: Vec<String>,
    },
}

impl Seal {
    /// How the files it writes are encrypted.
    pub fn sealing(&self) -> Sealing {
        match self {
            Seal::Age(_) => Sealing::Age,
            Seal::Gpg { .. } => Sealing::Gpg,
        }
    }

    /// The recipients as written.
    pub fn recipients(&self) -> &[String] {
        match self {
            Seal::Age(recipients) => recipients.texts(),
            Seal::Gpg { recipients, .. } => recipients,
        }
    }

    /// A writer that encrypts everything written to it into `output`; call
    /// [`SealWriter::finish`] at the end.
    pub fn writer<W: Write + Send + 'static>(&self, output: W) -> io::Result<SealWriter<W>> {
        Ok(match self {
            Seal::Age(recipients) => SealWriter::Age(recipients.encrypt_to(output)?),
            Seal::Gpg {
                program,
                recipients,
            } => SealWriter::Gpg(Encrypting::start(program, recipients, output)?),
        })
    }
}

/// A stream being encrypted into the writer below (or passed through, unencrypted).
pub enum SealWriter<W: Write + Send + 'static> {
    Plain(W),
    Age(age::stream::StreamWriter<W>),
    Gpg(Encrypting<W>),
}

impl<W: Write + Send + 'static> fmt::Debug for SealWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealWriter::Plain(_) => f.write_str("SealWriter::Plain"),
            SealWriter::Age(_) => f.write_str("SealWriter::Age"),
            SealWriter::Gpg(gpg) => f.debug_tuple("SealWriter::Gpg").field(gpg).finish(),
        }
    }
}

impl<W: Write + Send + 'static> SealWriter<W> {
    /// `output` encrypted by `seal`, or as it is without one.
    pub fn new(seal: Option<&Seal>, output: W) -> io::Result<SealWriter<W>> {
        match seal {
            Some(seal) => seal.writer(output),
            None => Ok(SealWriter::Plain(output)),
        }
    }

    /// Writes the end of the encrypted stream; returns the writer below.
    pub fn finish(self) -> io::Result<W> {
        match self {
            SealWriter::Plain(writer) => Ok(writer),
            SealWriter::Age(writer) => writer.finish(),
            SealWriter::Gpg(writer) => writer.finish(),
        }
    }
}

impl<W: Write + Send + 'static> Write for SealWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            SealWriter::Plain(writer) => writer.write(buf),
            SealWriter::Age(writer) => writer.write(buf),
            SealWriter::Gpg(writer) => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            SealWriter::Plain(writer) => writer.flush(),
            SealWriter::Age(writer) => writer.flush(),
            SealWriter::Gpg(writer) => writer.flush(),
        }
    }
}

/// The age identities of an identity file.
pub type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

/// Why an encrypted stream cannot be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    #[error("it is encrypted for age recipients and no age identity was given; give --identity FILE naming an age identity of one of its recipients")]
    NeedIdentity,
    #[error("the identity file {} {why}; give a file of age identities (AGE-SECRET-KEY-1…), one per line", path.display())]
    Identity { path: PathBuf, why: String },
    #[error("it is not an age file ({0})")]
    NotAge(String),
    #[error("no identity in {} matches its recipients; give the identity of one of the <recipient> keys it was encrypted for", path.display())]
    NoMatchingKeys { path: PathBuf },
    #[error("{0}")]
    Age(String),
    #[error(transparent)]
    Gpg(io::Error),
}

/// The identities of the identity file `path` (`--identity FILE`, `<verify_identity>`); its
/// content is never shown.
pub fn read_identities(path: &Path) -> Result<Identities, UnsealError> {
    let unusable = |why: String| UnsealError::Identity {
        path: path.to_path_buf(),
        why,
    };
    let file = age::IdentityFile::from_file(path.to_string_lossy().into_owned())
        .map_err(|e| unusable(format!("cannot be read: {e}")))?;
    let identities = file
        .into_identities()
        .map_err(|e| unusable(format!("cannot be used: {e}")))?;
    if identities.is_empty() {
        return Err(unusable("holds no identity".to_string()));
    }
    Ok(identities)
}

/// The identities of `keys` (its `--identity FILE`), needed for age.
pub fn identities(keys: &Keys) -> Result<Identities, UnsealError> {
    read_identities(keys.identity.as_deref().ok_or(UnsealError::NeedIdentity)?)
}

/// The plaintext of the age stream `raw`, decrypted with `identities` (read from `path`, for
/// messages) as it is read; every chunk is authenticated on the way.
pub fn open_age<R: Read + Send + 'static>(
    raw: R,
    identities: &Identities,
    path: &Path,
) -> Result<Box<dyn Read + Send>, UnsealError> {
    let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(1 << 16, raw))
        .map_err(|e| UnsealError::NotAge(e.to_string()))?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => UnsealError::NoMatchingKeys {
                path: path.to_path_buf(),
            },
            other => UnsealError::Age(other.to_string()),
        })?;
    Ok(Box::new(reader))
}

/// The plaintext of `raw`, encrypted as `sealing` says, decrypted as it is read with `keys`
/// (an age identity file, or gpg and the keyring of this user).
pub fn unseal(
    sealing: Sealing,
    raw: Box<dyn Read + Send>,
    keys: &Keys,
) -> Result<Box<dyn Read + Send>, UnsealError> {
    match sealing {
        Sealing::None => Ok(raw),
        Sealing::Age => {
            let identities = identities(keys)?;
            open_age(
                raw,
                &identities,
                keys.identity.as_deref().unwrap_or(Path::new("")),
            )
        }
        Sealing::Gpg => Ok(Box::new(
            Decrypting::start(&keys.gpg, Input::Reader(raw)).map_err(UnsealError::Gpg)?,
        )),
    }
}

/// Checks that a file holding a secret key (an identity file) is a regular file that only its
/// owner can read; the problem in words, with the `chmod` that fixes it.
pub fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".to_string());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "holds a secret key but its group or others can access it (mode {mode:04o}); make it readable by the backup user only: chmod 600 {}",
            path.display()
        ));
    }
    Ok(())
}

/// The bytes of the age encryption of `plain` bytes after its header: a 16-byte nonce, then
/// chunks of up to 64 KiB, each with a 16-byte tag (one empty chunk for no bytes).
fn age_payload_size(plain: u64) -> u64 {
    const CHUNK: u64 = 64 * 1024;
    const TAG: u64 = 16;
    let chunks = plain.div_ceil(CHUNK).max(1);
    TAG + plain + chunks * TAG
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Checks an encrypted file without its key, reading it once: its format (`sealing`), that it
/// holds exactly the encryption of `plain` bytes (age: by the sizes of its chunks; gpg: its
/// packets end exactly at its end), and returns its size and SHA-256.
pub fn check_structure(sealing: Sealing, reader: impl Read, plain: u64) -> io::Result<Digested> {
    let mut reader = DigestReader::new(BufReader::with_capacity(1 << 16, reader));
    match sealing {
        Sealing::None => {
            io::copy(&mut reader, &mut io::sink())?;
        }
        Sealing::Age => {
            // Reads the header and the nonce, not a byte more.
            age::Decryptor::new(&mut reader)
                .map_err(|e| invalid(format!("it is not an age file ({e})")))?;
            let header = reader.digest().size - NONCE;
            let payload = io::copy(&mut reader, &mut io::sink())? + NONCE;
            let expected = age_payload_size(plain);
            if payload != expected {
                return Err(invalid(format!(
                    "its age payload holds {payload} bytes after a {header}-byte header, but the encryption of the {plain} bytes written holds {expected}"
                )));
            }
        }
        Sealing::Gpg => check_openpgp(&mut reader)?,
    }
    Ok(reader.digest())
}

/// The nonce that [`age::Decryptor::new`] reads with the header, counted in the payload.
const NONCE: u64 = 16;

/// Walks the OpenPGP packets of a message encrypted for public keys: one or more public-key
/// encrypted session keys (tag 1), then one encrypted data packet (tags 9, 18, 20) that must
/// end exactly at the end of the file.
fn check_openpgp(reader: &mut impl Read) -> io::Result<()> {
    let mut sessions = 0;
    loop {
        let mut first = [0u8; 1];
        if reader.read(&mut first)? == 0 {
            return Err(invalid(
                "it ends before its encrypted data packet (not a gpg-encrypted file, or cut short)"
                    .to_string(),
            ));
        }
        let octet = first[0];
        if octet & 0x80 == 0 {
            return Err(invalid(format!(
                "it is not an OpenPGP message (byte {octet:#04x} where a packet starts)"
            )));
        }
        let tag = if octet & 0x40 != 0 {
            let tag = octet & 0x3f;
            skip_new_body(reader)?;
            tag
        } else {
            let tag = (octet >> 2) & 0x0f;
            match octet & 0x03 {
                3 => {
                    io::copy(reader, &mut io::sink())?;
                }
                kind => {
                    let len = read_be(reader, 1 << kind)?;
                    skip(reader, len)?;
                }
            }
            tag
        };
        match tag {
            1 => sessions += 1,
            // A marker packet, ignored by readers.
            10 => {}
            9 | 18 | 20 => {
                if sessions == 0 {
                    return Err(invalid(
                        "it is encrypted for no public key (no session key packet)".to_string(),
                    ));
                }
                let mut rest = [0u8; 1];
                if reader.read(&mut rest)? != 0 {
                    return Err(invalid(
                        "bytes follow its encrypted data packet".to_string(),
                    ));
                }
                return Ok(());
            }
            other => {
                return Err(invalid(format!(
                    "it holds an OpenPGP packet of tag {other} where session keys and encrypted data are expected"
                )))
            }
        }
    }
}

/// Skips a new-format packet body, partial lengths included.
fn skip_new_body(reader: &mut impl Read) -> io::Result<()> {
    loop {
        let first = read_be(reader, 1)?;
        match first {
            0..=191 => return skip(reader, first),
            192..=223 => {
                let second = read_be(reader, 1)?;
                return skip(reader, ((first - 192) << 8) + second + 192);
            }
            255 => {
                let len = read_be(reader, 4)?;
                return skip(reader, len);
            }
            _ => skip(reader, 1 << (first & 0x1f))?,
        }
    }
}

fn read_be(reader: &mut impl Read, bytes: usize) -> io::Result<u64> {
    let mut buf = [0u8; 4];
    reader
        .read_exact(&mut buf[..bytes])
        .map_err(|e| cut_short(e, "a packet header"))?;
    Ok(buf[..bytes]
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

fn skip(reader: &mut impl Read, len: u64) -> io::Result<()> {
    let skipped = io::copy(&mut reader.take(len), &mut io::sink())?;
    if skipped != len {
        return Err(invalid(format!(
            "it is cut short: a packet announces {len} bytes, {skipped} follow"
        )));
    }
    Ok(())
}

fn cut_short(e: io::Error, what: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        invalid(format!("it is cut short in {what}"))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn age_seal() -> (age::x25519::Identity, Seal) {
        let identity = age::x25519::Identity::generate();
        let recipients = crate::recipients::parse_all(&[identity.to_public().to_string()]).unwrap();
        (identity, Seal::Age(recipients))
    }

    fn sealed(seal: &Seal, plain: &[u8]) -> Vec<u8> {
        let mut writer = seal.writer(Vec::new()).unwrap();
        writer.write_all(plain).unwrap();
        writer.finish().unwrap()
    }

    #[test]
    fn age_streams_round_trip_and_their_structure_is_checked() {
        let (identity, seal) = age_seal();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        std::fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
        let keys = Keys {
            identity: Some(path.clone()),
            gpg: PathBuf::from("gpg"),
        };
        for size in [0usize, 1, 65536, 65537, 200_000] {
            let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let file = sealed(&seal, &plain);
            let digest = check_structure(Sealing::Age, &file[..], size as u64).unwrap();
            assert_eq!(digest, crate::sha256::hash_reader(&file[..]).unwrap());
            let mut back = Vec::new();
            unseal(
                Sealing::Age,
                Box::new(std::io::Cursor::new(file.clone())),
                &keys,
            )
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
            assert_eq!(back, plain, "{size}");
            // Cut short by one byte, or claiming another length: the structure says so.
            assert!(check_structure(Sealing::Age, &file[..file.len() - 1], size as u64).is_err());
            assert!(check_structure(Sealing::Age, &file[..], size as u64 + 1).is_err());
        }
        let err = check_structure(Sealing::Age, &b"COPY t FROM stdin;\n"[..], 19).unwrap_err();
        assert!(err.to_string().contains("not an age file"), "{err}");
    }

    #[test]
    fn a_corrupted_age_chunk_fails_the_decryption() {
        let (identity, seal) = age_seal();
        let plain = vec![7u8; 150_000];
        let mut file = sealed(&seal, &plain);
        let middle = file.len() / 2;
        file[middle] ^= 1;
        // Its structure is intact: only a key finds the damage.
        check_structure(Sealing::Age, &file[..], plain.len() as u64).unwrap();
        let identities: Identities = vec![Box::new(identity)];
        let mut back = Vec::new();
        let err = open_age(std::io::Cursor::new(file), &identities, Path::new("k"))
            .unwrap()
            .read_to_end(&mut back)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }

    #[test]
    fn identities_are_needed_and_must_match() {
        let (_, seal) = age_seal();
        let file = sealed(&seal, b"data");
        let keys = Keys {
            identity: None,
            gpg: PathBuf::from("gpg"),
        };
        let raw = || Box::new(std::io::Cursor::new(file.clone())) as Box<dyn Read + Send>;
        assert!(matches!(
            unseal(Sealing::Age, raw(), &keys),
            Err(UnsealError::NeedIdentity)
        ));
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.txt");
        let stranger = age::x25519::Identity::generate();
        std::fs::write(&other, stranger.to_string().expose_secret()).unwrap();
        let keys = Keys {
            identity: Some(other.clone()),
            gpg: PathBuf::from("gpg"),
        };
        let err = unseal(Sealing::Age, raw(), &keys).err().unwrap();
        assert!(
            err.to_string().contains("no identity in") && err.to_string().contains("other.txt"),
            "{err}"
        );
    }

    #[test]
    fn openpgp_packets_are_walked_to_the_end() {
        // A session key packet (new format, 3 bytes), then encrypted data in two partial
        // chunks of 2 bytes and a last one of 3.
        let good = [
            0xc1, 3, 1, 2, 3, // tag 1, length 3
            0xd2, 0xe1, 9, 9, 0xe1, 9, 9, 3, 9, 9, 9, // tag 18, partial 2, 2, then 3
        ];
        check_structure(Sealing::Gpg, &good[..], 0).unwrap();
        // Old format session key (tag 1, one-byte length), then the same data.
        let mut old = vec![0x84, 2, 5, 5];
        old.extend_from_slice(&good[5..]);
        check_structure(Sealing::Gpg, &old[..], 0).unwrap();
        for bad in [
            &good[..good.len() - 1],
            &good[5..],
            &[&good[..], &[0][..]].concat()[..],
            b"-- PostgreSQL database dump\n",
        ] {
            assert!(check_structure(Sealing::Gpg, bad, 0).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_identity_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.txt");
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_private(&path).unwrap_err();
        assert!(
            err.contains("0644") && err.contains(&format!("chmod 600 {}", path.display())),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        check_private(&path).unwrap();
    }
}
