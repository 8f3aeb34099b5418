//! The ISO image, built by mkisofs (genisoimage, or `xorriso -as mkisofs` through an
//! `<override>`): graft entries, the size estimate and the image file.
//!
//! Command lines are the original's:
//! `mkisofs [-V LABEL] -print-size -graft-points -r [-C A,B -M DEV] ENTRIES` and
//! `mkisofs [-V LABEL] -graft-points -r -o WORK/tmpXXXXXXXX [-C A,B -M DEV] ENTRIES`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::tools::Tools;

/// One graft point: the contents of `path` go under `/GRAFT` on the disc.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The directory on the disc, with a trailing `/`, e.g. `2026/12/01/`.
    pub graft: String,
    pub path: PathBuf,
}

impl Entry {
    /// The entry for a daily directory `YYYY/MM/DD`.
    pub fn daily(rel: &str, path: &Path) -> Entry {
        Entry {
            graft: format!("{rel}/"),
            path: path.to_path_buf(),
        }
    }

    /// `GRAFT=PATH`, as mkisofs reads it with `-graft-points`.
    pub fn arg(&self) -> OsString {
        let mut arg = OsString::from(&self.graft);
        arg.push("=");
        arg.push(&self.path);
        arg
    }
}

/// `-C A,B -M DEV`: the image continues a disc whose last session starts at A and whose next
/// writable sector is B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multisession {
    pub boundaries: (u64, u64),
    pub device: PathBuf,
}

/// What goes into an image.
#[derive(Debug, Clone, Copy)]
pub struct ImageSpec<'a> {
    pub label: Option<&'a str>,
    pub entries: &'a [Entry],
    pub multisession: Option<&'a Multisession>,
}

impl ImageSpec<'_> {
    fn args(&self, middle: &[OsString]) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        if let Some(label) = self.label {
            args.push("-V".into());
            args.push(label.into());
        }
        args.extend(middle.iter().cloned());
        if let Some(ms) = self.multisession {
            args.push("-C".into());
            args.push(format!("{},{}", ms.boundaries.0, ms.boundaries.1).into());
            args.push("-M".into());
            args.push(ms.device.clone().into_os_string());
        }
        args.extend(self.entries.iter().map(Entry::arg));
        args
    }
}

/// The image's size in sectors, from `mkisofs -print-size`.
pub fn estimate(tools: &Tools<'_>, spec: &ImageSpec<'_>) -> Result<u64, StoreError> {
    let args = spec.args(&["-print-size".into(), "-graft-points".into(), "-r".into()]);
    let ran = tools.run_ok("mkisofs", &args)?;
    let lines: Vec<&str> = ran.stdout.lines().collect();
    match lines.as_slice() {
        [line] => line
            .trim()
            .parse::<u64>()
            .map_err(|_| StoreError::Unparsable {
                command: ran.command.clone(),
                problem:
                    "Unable to parse mkisofs output (expected one line with a number of sectors)",
                output: ran.stdout.clone(),
            }),
        _ => Err(StoreError::Unparsable {
            command: ran.command.clone(),
            problem: "Unable to parse mkisofs output (expected one line with a number of sectors)",
            output: ran.stdout.clone(),
        }),
    }
}

/// An image file in working_dir, removed when dropped.
#[derive(Debug)]
pub struct ImageFile {
    path: tempfile::TempPath,
}

impl ImageFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Builds the image into a new 0600 file `WORK/tmpXXXXXXXX`.
pub fn build(
    tools: &Tools<'_>,
    working_dir: &Path,
    spec: &ImageSpec<'_>,
) -> Result<ImageFile, StoreError> {
    let file = tempfile::Builder::new()
        .prefix("tmp")
        .rand_bytes(8)
        .tempfile_in(working_dir)
        .map_err(|e| StoreError::io("create an image file in", working_dir, e))?;
    let path = file.into_temp_path();
    let args = spec.args(&[
        "-graft-points".into(),
        "-r".into(),
        "-o".into(),
        path.to_path_buf().into_os_string(),
    ]);
    tools.run_ok("mkisofs", &args)?;
    Ok(ImageFile { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_in_the_originals_order() {
        let entries = [Entry::daily("2026/12/01", Path::new("/s/2026/12/01"))];
        let ms = Multisession {
            boundaries: (0, 300),
            device: "/dev/cdrw".into(),
        };
        let spec = ImageSpec {
            label: Some("CEDAR BACKUP 01-DEC-2026"),
            entries: &entries,
            multisession: Some(&ms),
        };
        let args: Vec<String> = spec
            .args(&["-print-size".into()])
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-V",
                "CEDAR BACKUP 01-DEC-2026",
                "-print-size",
                "-C",
                "0,300",
                "-M",
                "/dev/cdrw",
                "2026/12/01/=/s/2026/12/01"
            ]
        );
    }
}
