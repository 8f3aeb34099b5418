//! The encrypt action: every daily directory of staging_dir without `cback.encrypt` has each
//! of its backup files encrypted, then the plain files removed and the indicator written.
//!
//! One directory at a time, all or nothing:
//! 1. the outputs it is about to create are written to `cback.encrypt.journal`;
//! 2. each backup file is encrypted into a hidden temporary file beside it, which is synced,
//!    handed to the backup user (as root), given mode 0666 less the umask and renamed to
//!    `FILE.gpg` (or `FILE.age`);
//! 3. only when every file is encrypted are the plain files removed, then `cback.encrypt`
//!    written and the journal removed.
//!
//! A failure in step 2 removes this run's outputs and the journal: the directory is as before.
//! A run killed between steps leaves the journal, and the next run skips the files it lists
//! (its own outputs) and encrypts again only what still has its plain file.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use cedar_core::{
    backup_files, daily_dirs, journal_safe, write_indicator, Action, ActionContext, ActionError,
    AfterStage, AtomicFile, ConfigFile, ExtensionSection, FileMode, FileOwner, Options,
    SectionError, StagedJournal,
};

use crate::config::{EncryptSection, Mode, Settings, SECTION};
use crate::error::EncryptError;
use crate::gpg;

/// The indicator written into a daily directory once it is encrypted.
pub const INDICATOR: &str = "cback.encrypt";

/// The action registered as `encrypt` (`CedarBackup3.extend.encrypt.executeAction`).
#[derive(Debug, Clone, Copy, Default)]
pub struct EncryptAction;

impl Action for EncryptAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx.config, ctx.options).map_err(ActionError::from)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        EncryptSection::validate(ctx.config)
    }
}

/// Reads and checks the `<encrypt>` section.
pub fn load_settings(config: &ConfigFile) -> Result<Settings, SectionError> {
    EncryptSection::load(config)
}

/// What the encryption of every directory of one run shares.
struct EncryptRun<'a> {
    settings: Settings,
    gpg: PathBuf,
    owner: Option<FileOwner<'a>>,
    ids: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    mode: u32,
}

/// Runs the action.
pub fn run(config: &ConfigFile, _options: &Options) -> Result<(), EncryptError> {
    let standard = AfterStage::load(SECTION, config)?;
    let site = EncryptRun {
        gpg: gpg::program(&config.config),
        owner: standard.owner(),
        ids: standard.ids,
        mode: standard.mode,
        settings: load_settings(config)?,
    };
    if let Mode::Gpg { target } = &site.settings.mode {
        gpg::check_recipient(&site.gpg, target)?;
    }
    for daily in daily_dirs(standard.staging_dir)? {
        if daily.join(INDICATOR).exists() {
            tracing::debug!(
                "Skipping already-encrypted staging directory [{}].",
                daily.display()
            );
            continue;
        }
        encrypt_dir(&site, &daily)?;
    }
    tracing::info!("Executed the encrypt extended action successfully.");
    Ok(())
}

/// Encrypts one daily directory (see the module documentation).
fn encrypt_dir(site: &EncryptRun<'_>, daily: &Path) -> Result<(), EncryptError> {
    tracing::debug!("Encrypting staging directory [{}].", daily.display());
    let mut journal = StagedJournal::open(daily, "encrypt")?;
    let suffix = site.settings.mode.suffix();
    let relative = |p: &Path| p.strip_prefix(daily).unwrap_or(p).to_path_buf();
    let files = backup_files(daily)?;
    let inputs: Vec<PathBuf> = files
        .iter()
        .filter(|f| !journal.lists(&relative(f)))
        .cloned()
        .collect();
    for file in &inputs {
        let output = with_suffix(file, suffix);
        if !journal_safe(&relative(&output)) {
            return Err(EncryptError::UnusableName { file: file.clone() });
        }
        if std::fs::symlink_metadata(&output).is_ok() && !journal.lists(&relative(&output)) {
            return Err(EncryptError::Collision {
                file: file.clone(),
                existing: output,
            });
        }
    }
    journal.record(inputs.iter().map(|f| relative(&with_suffix(f, suffix))))?;

    let mut written = Vec::new();
    for file in &inputs {
        let result = if cedar_core::interrupt_requested() {
            Err(EncryptError::Interrupted)
        } else {
            encrypt_one(site, daily, file)
        };
        match result {
            Ok(output) => written.push(output),
            Err(err) => {
                // Back to the plain directory: this run's outputs go, the journal with them.
                for output in &written {
                    if let Err(e) = std::fs::remove_file(output) {
                        tracing::warn!("Cannot remove [{}]: {e}", output.display());
                    }
                }
                if written.iter().all(|o| !o.exists()) {
                    if let Err(e) = journal.finish() {
                        tracing::warn!("{e}");
                    }
                }
                return Err(err);
            }
        }
    }
    for file in &inputs {
        std::fs::remove_file(file).map_err(|source| EncryptError::Remove {
            file: file.clone(),
            source,
        })?;
        tracing::debug!("Completed removing old file [{}].", file.display());
    }
    write_indicator(daily, INDICATOR, site.ids)?;
    journal.finish()?;
    Ok(())
}

/// `FILE` + `suffix`.
fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Encrypts `file` into `FILE.gpg` / `FILE.age` (complete or absent); returns its path.
fn encrypt_one(site: &EncryptRun<'_>, daily: &Path, file: &Path) -> Result<PathBuf, EncryptError> {
    let dir = file.parent().unwrap_or(daily);
    let output_name = with_suffix(
        Path::new(file.file_name().unwrap_or_default()),
        site.settings.mode.suffix(),
    );
    let output_name = output_name.to_string_lossy().into_owned();
    let write_error = |source| EncryptError::Write {
        file: file.to_path_buf(),
        source,
    };
    let temp = AtomicFile::create(dir, &output_name).map_err(write_error)?;
    match &site.settings.mode {
        Mode::Gpg { target } => {
            gpg::encrypt_file(&site.gpg, target, file, temp.temp_path(), daily)?
        }
        Mode::Age(recipients) => {
            let age_error = |source| EncryptError::Age {
                file: file.to_path_buf(),
                dir: daily.to_path_buf(),
                source,
            };
            let input = std::fs::File::open(file).map_err(age_error)?;
            let writer = temp.writer().map_err(age_error)?;
            let mut encrypted = recipients
                .encrypt_to(BufWriter::with_capacity(1 << 16, writer))
                .map_err(age_error)?;
            std::io::copy(
                &mut BufReader::with_capacity(1 << 16, input),
                &mut encrypted,
            )
            .map_err(age_error)?;
            let mut buffered = encrypted.finish().map_err(age_error)?;
            buffered.flush().map_err(age_error)?;
            let writer = buffered
                .into_inner()
                .map_err(|e| age_error(e.into_error()))?;
            writer.finish().map_err(age_error)?;
        }
    }
    let output = temp
        .commit_with(site.owner, FileMode::Exact(site.mode))
        .map_err(write_error)?;
    tracing::debug!(
        "Completed encrypting file [{}] to [{}].",
        file.display(),
        output.display()
    );
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn site(recipients: &cedar_core::Recipients) -> EncryptRun<'static> {
        EncryptRun {
            settings: Settings {
                mode: Mode::Age(recipients.clone()),
            },
            gpg: PathBuf::from("gpg"),
            owner: None,
            ids: None,
            mode: 0o640,
        }
    }

    fn decrypt(identity: &age::x25519::Identity, path: &Path) -> Vec<u8> {
        let data = std::fs::read(path).unwrap();
        let decryptor = age::Decryptor::new(&data[..]).unwrap();
        let mut reader = decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .unwrap();
        let mut plain = Vec::new();
        reader.read_to_end(&mut plain).unwrap();
        plain
    }

    #[test]
    fn a_directory_is_encrypted_whole_and_a_journal_finishes_it() {
        let identity = age::x25519::Identity::generate();
        let recipients = cedar_core::parse_recipients(&[identity.to_public().to_string()]).unwrap();
        let root = tempfile::tempdir().unwrap();
        let daily = root.path();
        std::fs::create_dir(daily.join("host")).unwrap();
        std::fs::write(daily.join("host/a"), b"alpha").unwrap();
        std::fs::write(daily.join("host/b"), b"").unwrap();
        std::fs::write(daily.join("host/cback.collect"), b"").unwrap();
        // As a killed run leaves it: b already encrypted and gone, a encrypted, still there.
        let mut journal = StagedJournal::open(daily, "encrypt").unwrap();
        journal
            .record([PathBuf::from("host/a.age"), PathBuf::from("host/b.age")])
            .unwrap();
        std::fs::write(daily.join("host/a.age"), b"stale").unwrap();
        let site = site(&recipients);
        std::fs::rename(daily.join("host/b"), daily.join("host/b.plain")).unwrap();
        encrypt_one(&site, daily, &daily.join("host/b.plain")).unwrap();
        std::fs::rename(daily.join("host/b.plain.age"), daily.join("host/b.age")).unwrap();
        std::fs::remove_file(daily.join("host/b.plain")).unwrap();

        encrypt_dir(&site, daily).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(daily.join("host"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, vec!["a.age", "b.age", "cback.collect"]);
        assert_eq!(decrypt(&identity, &daily.join("host/a.age")), b"alpha");
        assert_eq!(decrypt(&identity, &daily.join("host/b.age")), b"");
        assert!(daily.join(INDICATOR).exists());
        assert!(!daily.join("cback.encrypt.journal").exists());
    }

    #[test]
    fn a_staged_output_name_is_refused_before_anything_changes() {
        let identity = age::x25519::Identity::generate();
        let recipients = cedar_core::parse_recipients(&[identity.to_public().to_string()]).unwrap();
        let root = tempfile::tempdir().unwrap();
        let daily = root.path();
        std::fs::write(daily.join("a"), b"alpha").unwrap();
        std::fs::write(daily.join("a.age"), b"staged").unwrap();
        let err = encrypt_dir(&site(&recipients), daily).unwrap_err();
        assert!(matches!(err, EncryptError::Collision { .. }), "{err}");
        assert_eq!(std::fs::read(daily.join("a.age")).unwrap(), b"staged");
        assert_eq!(std::fs::read(daily.join("a")).unwrap(), b"alpha");
        assert!(!daily.join("cback.encrypt.journal").exists());
    }
}
