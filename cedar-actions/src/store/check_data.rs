//! `check_data`: after a write, mount the disc and compare it with what was written, file by
//! file, by SHA-256 (the original uses SHA-1 and stops at the first difference; cback names
//! every file that differs).
//!
//! The disc is mounted with `mount -t iso9660 DEV WORK/tmpXXXXXXXX`; afterwards, when the
//! directory really is a mount point, `umount` runs (up to 5 times, 1 s apart) and the
//! directory is removed. Only regular files are compared: symbolic links and empty
//! directories are not.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::error::StoreError;
use super::settings::StoreSettings;
use super::tools::Tools;

pub use super::check_error::{CheckError, Difference};

/// Regular files below `root`, by path relative to it (with a leading `/`). Links are not
/// followed and not listed.
pub fn regular_files(root: &Path) -> Result<BTreeMap<String, PathBuf>, CheckError> {
    let mut found = BTreeMap::new();
    if !root.is_dir() {
        return Ok(found);
    }
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let read = |source| CheckError::Read {
            path: dir.clone(),
            source,
        };
        for entry in fs::read_dir(&dir).map_err(read)? {
            let entry = entry.map_err(read)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let kind = entry.file_type().map_err(read)?;
            let child = format!("{rel}/{name}");
            if kind.is_dir() {
                stack.push((path, child));
            } else if kind.is_file() {
                found.insert(child, path);
            }
        }
    }
    Ok(found)
}

fn sha256(path: &Path) -> Result<[u8; 32], CheckError> {
    let read = |source| CheckError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(read)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// Compares what should be on the disc with what is, hashing on all cores.
pub fn compare(
    expected: &BTreeMap<String, PathBuf>,
    found: &BTreeMap<String, PathBuf>,
) -> Result<Vec<Difference>, CheckError> {
    let mut differences: Vec<Difference> = Vec::new();
    let mut pairs: Vec<(&String, &PathBuf, &PathBuf)> = Vec::new();
    for (rel, source) in expected {
        match found.get(rel) {
            Some(disc) => pairs.push((rel, source, disc)),
            None => differences.push(Difference::Missing(rel.clone())),
        }
    }
    differences.extend(
        found
            .keys()
            .filter(|rel| !expected.contains_key(*rel))
            .map(|rel| Difference::Extra(rel.clone())),
    );
    let next = AtomicUsize::new(0);
    let differing = Mutex::new(Vec::new());
    let failure = Mutex::new(None);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((rel, source, disc)) = pairs.get(i) else {
                    break;
                };
                match (sha256(source), sha256(disc)) {
                    (Ok(a), Ok(b)) if a == b => {}
                    (Ok(_), Ok(_)) => differing
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Difference::Content((*rel).clone())),
                    (Err(e), _) | (_, Err(e)) => {
                        *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    differences.extend(differing.into_inner().unwrap_or_else(|e| e.into_inner()));
    differences.sort();
    Ok(differences)
}

/// Whether `path` is a mount point: another device than its parent, or listed in
/// `/proc/self/mountinfo`.
pub fn is_mount_point(path: &Path) -> bool {
    let (Ok(meta), Some(parent)) = (fs::symlink_metadata(path), path.parent()) else {
        return false;
    };
    if let Ok(up) = fs::metadata(parent) {
        if up.dev() != meta.dev() {
            return true;
        }
    }
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| Path::new(&mp.replace("\\040", " ")) == wanted)
}

/// Mounts the disc, runs `check`, then unmounts and removes the mount point.
fn with_disc<T>(
    tools: &Tools<'_>,
    settings: &StoreSettings,
    check: impl FnOnce(&Path) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let dir = tempfile::Builder::new()
        .prefix("tmp")
        .rand_bytes(8)
        .tempdir_in(&settings.working_dir)
        .map_err(|e| StoreError::io("create a mount point in", &settings.working_dir, e))?;
    // Kept by hand: a mounted disc must never be removed recursively.
    let mount_point = dir.keep();
    let ran = tools.run(
        "mount",
        &[
            "-t".as_ref(),
            "iso9660".as_ref(),
            settings.device.as_os_str(),
            mount_point.as_os_str(),
        ],
    )?;
    if !ran.status.success() {
        let _ = release(tools, &mount_point);
        let detail = match ran.failure() {
            super::tools::ToolError::Failed { detail, .. } => detail,
            _ => String::new(),
        };
        return Err(CheckError::Mount {
            status: ran
                .status
                .code()
                .map_or_else(|| ran.status.to_string(), |c| c.to_string()),
            device: settings.device.clone(),
            mount_point,
            detail,
        }
        .into());
    }
    let result = check(&mount_point);
    let released = release(tools, &mount_point);
    let value = result?;
    released?;
    Ok(value)
}

/// Unmounts `mount_point` when it is one, then removes it.
fn release(tools: &Tools<'_>, mount_point: &Path) -> Result<(), StoreError> {
    if is_mount_point(mount_point) {
        for attempt in 1..=5 {
            let ran = tools.run_cleanup("umount", &[mount_point.as_os_str()])?;
            if ran.status.success() && !is_mount_point(mount_point) {
                break;
            }
            tracing::error!(
                "Unable to unmount {} (try {attempt} of 5): {}",
                mount_point.display(),
                ran.failure()
            );
            if attempt < 5 {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        if is_mount_point(mount_point) {
            return Err(CheckError::StillMounted {
                mount_point: mount_point.to_path_buf(),
            }
            .into());
        }
    }
    remove_tree(mount_point).map_err(|e| StoreError::io("remove the mount point", mount_point, e))
}

/// Removes a directory tree that may hold read-only directories (an unpacked image).
fn remove_tree(path: &Path) -> std::io::Result<()> {
    if fs::remove_dir_all(path).is_ok() || !path.exists() {
        return Ok(());
    }
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    fs::remove_dir_all(path)
}

fn report(
    settings: &StoreSettings,
    dir: &Path,
    differences: Vec<Difference>,
) -> Result<(), StoreError> {
    if differences.is_empty() {
        return Ok(());
    }
    for d in &differences {
        tracing::error!("Consistency check of [{}]: {d}.", dir.display());
    }
    Err(CheckError::Differs {
        device: settings.device.clone(),
        dir: dir.to_path_buf(),
        differences,
    }
    .into())
}

/// Compares each daily directory `(YYYY/MM/DD, staging path)` with `/YYYY/MM/DD` on the disc.
pub fn check_dirs(
    tools: &Tools<'_>,
    settings: &StoreSettings,
    dirs: &[(String, PathBuf)],
) -> Result<(), StoreError> {
    with_disc(tools, settings, |mount_point| {
        for (rel, dir) in dirs {
            let expected = regular_files(dir)?;
            let found = regular_files(&mount_point.join(rel))?;
            report(settings, dir, compare(&expected, &found)?)?;
            tracing::info!(
                "Consistency check completed for [{}].  No problems found.",
                dir.display()
            );
        }
        Ok(())
    })
}

/// Compares the whole disc with `expected` (disc path → source file); used by span.
pub fn check_listing(
    tools: &Tools<'_>,
    settings: &StoreSettings,
    source: &Path,
    expected: &BTreeMap<String, PathBuf>,
) -> Result<(), StoreError> {
    with_disc(tools, settings, |mount_point| {
        let found = regular_files(mount_point)?;
        report(settings, source, compare(expected, &found)?)?;
        tracing::info!("Consistency check completed.  No problems found.");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_every_difference() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for (root, files) in [
            (
                a.path(),
                &[("same", "x"), ("changed", "1"), ("gone", "g")][..],
            ),
            (
                b.path(),
                &[("same", "x"), ("changed", "2"), ("new", "n")][..],
            ),
        ] {
            fs::create_dir(root.join("sub")).unwrap();
            for (name, text) in files {
                fs::write(root.join("sub").join(name), text).unwrap();
            }
            std::os::unix::fs::symlink("same", root.join("link")).unwrap();
            fs::create_dir(root.join("empty")).unwrap();
        }
        std::os::unix::fs::symlink("elsewhere", a.path().join("only-a-link")).unwrap();
        let diffs = compare(
            &regular_files(a.path()).unwrap(),
            &regular_files(b.path()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            diffs,
            [
                Difference::Missing("/sub/gone".into()),
                Difference::Extra("/sub/new".into()),
                Difference::Content("/sub/changed".into()),
            ]
        );
    }

    #[test]
    fn an_ordinary_directory_is_no_mount_point() {
        let a = tempfile::tempdir().unwrap();
        assert!(!is_mount_point(a.path()));
        assert!(is_mount_point(Path::new("/proc")));
    }
}
