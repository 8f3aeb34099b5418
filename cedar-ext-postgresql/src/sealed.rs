//! The check of an encrypted dump (`<encrypt>`) before it takes its final name.
//!
//! Without a key: the file is read once, its structure checked ([`cedar_core::check_sealed_structure`]:
//! the age header and the sizes of its chunks, which must hold exactly the compressed bytes
//! written; or the OpenPGP packets, ending exactly at its end) and its SHA-256 compared with
//! the one computed as it was written (the manifest's). With `<verify_identity>` (age): the
//! file is then decrypted as it is read (every chunk authenticated), decompressed and checked
//! like an unencrypted dump ([`verify::verify_plain_stream`]: the bytes pg_dump wrote, ending
//! with its completion marker); a custom-format archive is decrypted in full and must start
//! with pg_dump's archive signature and hold the bytes pg_dump wrote. Nothing decrypted is
//! written anywhere.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use cedar_core::Codec;

use crate::encrypt::DumpEncryption;
use crate::verify::{self, Kind, Verified, VerifyError, Written};

/// The signature a `pg_dump -Fc` archive starts with.
const ARCHIVE_SIGNATURE: &[u8] = b"PGDMP";

/// Checks the encrypted temporary file `path` that `written` describes (`compressed`: the
/// bytes that went into the encryption).
pub fn check(
    path: &Path,
    encryption: &DumpEncryption,
    codec: Codec,
    kind: Kind,
    written: &Written,
    compressed: u64,
) -> Result<Verified, VerifyError> {
    let read_error = |source| VerifyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let found = cedar_core::check_sealed_structure(encryption.sealing(), file, compressed)
        .map_err(|source| VerifyError::Sealed {
            path: path.to_path_buf(),
            source,
        })?;
    if found.size != written.digest.size {
        return Err(VerifyError::Size {
            path: path.to_path_buf(),
            expected: written.digest.size,
            found: found.size,
        });
    }
    if found.sha256 != written.digest.sha256 {
        return Err(VerifyError::Digest {
            path: path.to_path_buf(),
            expected: written.digest.sha256.clone(),
            found: found.sha256,
        });
    }
    let Some(identity) = &encryption.verify_identity else {
        return Ok(Verified {
            digest: written.digest.clone(),
            dumped_by: None,
            dumped_from: None,
        });
    };
    let unseal_error = |source| VerifyError::Unseal {
        path: path.to_path_buf(),
        source,
    };
    let identities = cedar_core::read_age_identities(identity).map_err(unseal_error)?;
    let file = File::open(path).map_err(read_error)?;
    let plain = cedar_core::open_age(file, &identities, identity).map_err(unseal_error)?;
    match kind {
        Kind::Dump | Kind::Cluster | Kind::Config => {
            verify::verify_plain_stream(path, plain, codec, kind, written)
        }
        Kind::Custom => check_archive(path, plain, written),
    }
}

/// A decrypted custom-format archive: its signature and its length.
fn check_archive(
    path: &Path,
    mut plain: impl Read,
    written: &Written,
) -> Result<Verified, VerifyError> {
    let decrypt_error = |source| VerifyError::Decompress {
        path: path.to_path_buf(),
        codec: "age",
        source,
    };
    let mut head = [0u8; ARCHIVE_SIGNATURE.len()];
    let mut got = 0;
    while got < head.len() {
        match plain.read(&mut head[got..]).map_err(decrypt_error)? {
            0 => break,
            n => got += n,
        }
    }
    let rest = io::copy(&mut plain, &mut io::sink()).map_err(decrypt_error)?;
    let raw = got as u64 + rest;
    if raw != written.raw {
        return Err(VerifyError::Length {
            path: path.to_path_buf(),
            codec: "age",
            expected: written.raw,
            found: raw,
        });
    }
    if head[..got] != *ARCHIVE_SIGNATURE {
        return Err(VerifyError::Sealed {
            path: path.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                "its plaintext is not a pg_dump custom-format archive (no PGDMP signature)",
            ),
        });
    }
    Ok(Verified {
        digest: written.digest.clone(),
        dumped_by: None,
        dumped_from: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;
    use cedar_core::DigestWriter;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    const GOOD: &str = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE t ();\n\n--\n-- PostgreSQL database dump complete\n--\n\n";

    struct Case {
        dir: tempfile::TempDir,
        encryption: DumpEncryption,
    }

    fn case(with_identity: bool) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        let key = dir.path().join("id.txt");
        std::fs::write(&key, identity.to_string().expose_secret()).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let section = crate::encrypt::EncryptSection {
            mode: Some("age".into()),
            recipients: vec![identity.to_public().to_string()],
            verify_identity: with_identity.then(|| key.to_string_lossy().into_owned()),
        };
        Case {
            dir,
            encryption: crate::encrypt::settings(&section).unwrap(),
        }
    }

    /// Writes `plain` gzipped and encrypted as the action does; the file and what it wrote.
    fn write(case: &Case, plain: &[u8]) -> (std::path::PathBuf, Written, u64) {
        let path = case.dir.path().join("postgresqldump-a.txt.gz.age");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(plain).unwrap();
        let compressed = gz.finish().unwrap();
        let seal = case.encryption.seal(Path::new("gpg"));
        let mut writer = seal
            .writer(DigestWriter::new(File::create(&path).unwrap()))
            .unwrap();
        writer.write_all(&compressed).unwrap();
        let (_, digest) = writer.finish().unwrap().finish();
        let written = Written {
            digest,
            raw: plain.len() as u64,
            members: Vec::new(),
        };
        (path, written, compressed.len() as u64)
    }

    fn run(
        case: &Case,
        path: &Path,
        written: &Written,
        compressed: u64,
    ) -> Result<Verified, VerifyError> {
        check(
            path,
            &case.encryption,
            Codec::Gzip,
            Kind::Dump,
            written,
            compressed,
        )
    }

    #[test]
    fn a_good_dump_passes_with_and_without_the_identity() {
        for with_identity in [false, true] {
            let case = case(with_identity);
            let (path, written, compressed) = write(&case, GOOD.as_bytes());
            let verified = run(&case, &path, &written, compressed).unwrap();
            assert_eq!(verified.digest, written.digest);
            // Not plaintext, and not the gzip stream either.
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.starts_with(b"age-encryption.org/v1"));
            assert!(!bytes.windows(12).any(|w| w == b"CREATE TABLE"));
        }
    }

    #[test]
    fn damage_is_found_by_the_hash_and_by_the_identity() {
        let case = case(true);
        let incomplete = &GOOD[..GOOD.len() - 40];
        let (path, written, compressed) = write(&case, incomplete.as_bytes());
        // A dump cut short is found only by decrypting it.
        let err = run(&case, &path, &written, compressed).unwrap_err();
        assert!(matches!(err, VerifyError::Incomplete { .. }), "{err}");
        let (path, written, compressed) = write(&case, GOOD.as_bytes());
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = run(&case, &path, &written, compressed).unwrap_err();
        assert!(matches!(err, VerifyError::Digest { .. }), "{err}");
        // Blessed (the hash made to match): the authentication of the chunk fails.
        let mut blessed = written.clone();
        blessed.digest = cedar_core::hash_file(&path).unwrap();
        let err = run(&case, &path, &blessed, compressed).unwrap_err();
        assert!(matches!(err, VerifyError::Decompress { .. }), "{err}");
    }

    #[test]
    fn a_custom_archive_is_decrypted_in_full_and_must_be_one() {
        let case = case(true);
        let seal = case.encryption.seal(Path::new("gpg"));
        for (plain, good) in [(&b"PGDMP\x01\x10archive"[..], true), (b"-- not one", false)] {
            let path = case.dir.path().join("postgresqldump-a.dump.age");
            let mut writer = seal
                .writer(DigestWriter::new(File::create(&path).unwrap()))
                .unwrap();
            writer.write_all(plain).unwrap();
            let (_, digest) = writer.finish().unwrap().finish();
            let written = Written {
                digest,
                raw: plain.len() as u64,
                members: Vec::new(),
            };
            let checked = check(
                &path,
                &case.encryption,
                Codec::None,
                Kind::Custom,
                &written,
                plain.len() as u64,
            );
            assert_eq!(checked.is_ok(), good, "{checked:?}");
        }
    }
}
