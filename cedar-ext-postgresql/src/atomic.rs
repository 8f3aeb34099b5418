//! The dumps' use of [`cedar_core::AtomicFile`]: each dump is written under a hidden temporary name
//! and renamed when complete, and the temporary files a killed run left (`.postgresqldump…tmp`)
//! are recognised and removed.

use std::path::Path;

/// Removes the temporary files a killed run left in `dir`, each logged at WARNING. Call it only
/// while holding the run lock (no other run writes there then).
pub fn remove_stale_temps(dir: &Path) {
    cedar_core::remove_stale_temps(dir, &is_dump_name, "a partial dump");
}

fn is_dump_name(final_name: &str) -> bool {
    final_name.starts_with(crate::manifest::DUMP_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::AtomicFile;

    /// Whether `name` is a temporary file [`AtomicFile::create`] makes for this extension's
    /// files (`.postgresqldump<rest>.XXXXXX.tmp`, X alphanumeric).
    fn is_own_temp(name: &str) -> bool {
        crate::manifest::KIND.is_dump_temp(name)
    }

    #[test]
    fn only_dump_temps_are_own() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "postgresqldump-a b.txt.gz").unwrap();
        let temp = file
            .temp_path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        std::mem::forget(file);
        assert!(is_own_temp(&temp), "{temp}");
        assert!(is_own_temp(".postgresqldump.manifest.Ab12Z9.tmp"));
        for other in [
            "postgresqldump-a.txt",
            ".postgresqldump-a.txt.abc.tmp",
            ".mysqldump-a.txt.Ab12Z9.tmp",
        ] {
            assert!(!is_own_temp(other), "{other}");
        }
        std::fs::write(dir.path().join(".mysqldump-a.txt.Ab12Z9.tmp"), "keep").unwrap();
        assert_eq!(
            cedar_core::temps_in(dir.path(), &is_dump_name).unwrap(),
            vec![temp.clone()]
        );
        remove_stale_temps(dir.path());
        assert!(!dir.path().join(&temp).exists());
        assert!(dir.path().join(".mysqldump-a.txt.Ab12Z9.tmp").exists());
    }
}
