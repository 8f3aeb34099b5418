//! The DVD writer: growisofs builds the image itself (it runs mkisofs) and writes it, `-Z` for
//! a new disc and `-M` to append; a dry run tells how much of the disc is used.

use std::ffi::OsString;

use super::capacity::{check_fits, Capacity};
use super::error::StoreError;
use super::iso::{self, Entry, ImageSpec};
use super::media::SECTOR_BYTES;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::tray::{self, Tray};
use super::write_progress::{growisofs_written, progress_observer, WriteWatch};
use cedar_core::display_bytes;

/// Sectors added to mkisofs's estimate for a DVD.
pub const DVD_ESTIMATE_PAD: u64 = 2500;

/// Sectors used on the disc from a dry run's output: the first line ending in `seek=N'`
/// gives N × 16.
pub fn parse_seek(output: &str) -> Option<u64> {
    output.lines().find_map(|line| {
        let rest = line.trim_end().strip_suffix('\'')?;
        let at = rest.rfind("seek=")?;
        rest[at + 5..].parse::<u64>().ok().map(|n| n * 16)
    })
}

/// `N blocks are free, M to be written!` from a failed growisofs.
pub fn parse_no_space(output: &str) -> Option<(u64, u64)> {
    output.lines().find_map(|line| {
        let line = line.trim();
        if !line.starts_with(":-(") {
            return None;
        }
        let (_, tail) = line.rsplit_once(": ")?;
        let (free, rest) = tail.split_once(" blocks are free, ")?;
        let needed = rest.strip_suffix(" to be written!")?;
        Some((free.trim().parse().ok()?, needed.trim().parse().ok()?))
    })
}

/// A DVD writer; opening it runs nothing.
#[derive(Debug)]
pub struct DvdWriter<'a> {
    settings: &'a StoreSettings,
    tools: Tools<'a>,
}

impl<'a> DvdWriter<'a> {
    pub fn open(settings: &'a StoreSettings, tools: Tools<'a>) -> DvdWriter<'a> {
        if let Some(id) = &settings.scsi_id {
            tracing::warn!("SCSI id [{id}] will be ignored by DvdWriter.");
        }
        DvdWriter { settings, tools }
    }

    /// A tray and ejection are assumed unless no_eject is Y.
    pub fn tray(&self) -> Tray {
        Tray {
            has_tray: !self.settings.no_eject,
            can_eject: !self.settings.no_eject,
        }
    }

    fn speed_arg(&self) -> Option<OsString> {
        self.settings
            .drive_speed
            .map(|s| OsString::from(format!("-speed={s}")))
    }

    /// Sectors already used, from `growisofs -dry-run -M` with an empty directory; 0 for a
    /// disc growisofs cannot read.
    pub fn sectors_used(&self) -> Result<u64, StoreError> {
        let empty = tempfile::Builder::new()
            .prefix("tmp")
            .rand_bytes(8)
            .tempdir()
            .map_err(|e| StoreError::io("create an empty directory in", std::env::temp_dir(), e))?;
        let mut args: Vec<OsString> = vec!["-use-the-force-luke=tty".into(), "-dry-run".into()];
        args.extend(self.speed_arg());
        args.extend([
            "-M".into(),
            self.settings.device.clone().into_os_string(),
            "-r".into(),
            "-graft-points".into(),
            empty.path().as_os_str().to_os_string(),
        ]);
        let ran = self.tools.run("growisofs", &args)?;
        let text = format!("{}\n{}", ran.stdout, ran.stderr);
        match parse_seek(&text).filter(|_| ran.status.success()) {
            Some(used) => Ok(used),
            None => {
                tracing::warn!(
                    "Unable to read disc (might not be initialized); returning zero sectors used."
                );
                Ok(0)
            }
        }
    }

    /// Capacity with `used` sectors taken; not clamped, so it can go negative.
    pub fn capacity(&self, used: u64) -> Capacity {
        let sector = SECTOR_BYTES as f64;
        let media = self.settings.media_info();
        Capacity {
            used: used as f64 * sector,
            available: (media.capacity_sectors - used as f64) * sector,
            boundaries: None,
        }
    }

    pub fn append_capacity(&self) -> Result<Capacity, StoreError> {
        Ok(self.capacity(self.sectors_used()?))
    }

    /// mkisofs's estimate without label or multisession options, plus 2500 sectors.
    pub fn estimate(&self, entries: &[Entry]) -> Result<u64, StoreError> {
        let spec = ImageSpec {
            label: None,
            entries,
            multisession: None,
        };
        Ok(iso::estimate(&self.tools, &spec)? + DVD_ESTIMATE_PAD)
    }

    /// Estimates (and tells `watch` the size), checks the size, writes with growisofs and
    /// refreshes.
    pub fn write(
        &self,
        entries: &[Entry],
        label: Option<&str>,
        new_disc: bool,
        watch: Option<WriteWatch>,
    ) -> Result<(u64, Capacity), StoreError> {
        let bytes = self.estimate(entries)? * SECTOR_BYTES;
        tracing::info!(
            "Image size will be {} (estimated).",
            display_bytes(bytes as f64)
        );
        if let Some(watch) = &watch {
            (watch.sized)(bytes);
        }
        let capacity = if new_disc {
            self.capacity(0)
        } else {
            self.append_capacity()?
        };
        check_fits(self.settings, bytes as f64, &capacity)?;
        let mut args: Vec<OsString> = vec!["-use-the-force-luke=tty".into()];
        args.extend(self.speed_arg());
        args.push(if new_disc { "-Z" } else { "-M" }.into());
        args.push(self.settings.device.clone().into_os_string());
        if let Some(label) = label {
            args.push("-V".into());
            args.push(label.into());
        }
        args.push("-r".into());
        args.push("-graft-points".into());
        let mut sorted = entries.to_vec();
        sorted.sort();
        args.extend(sorted.iter().map(Entry::arg));
        let ran = match watch {
            Some(watch) => self
                .tools
                .observed(progress_observer(watch.written, growisofs_written))
                .run("growisofs", &args)?,
            None => self.tools.run("growisofs", &args)?,
        };
        if !ran.status.success() {
            let text = format!("{}\n{}", ran.stdout, ran.stderr);
            if let Some((free, needed)) = parse_no_space(&text) {
                tracing::error!(
                    "Image does not fit in available capacity: {free} blocks are free, {needed} to be written."
                );
                return Err(StoreError::GrowisofsFull {
                    device: self.settings.device.clone(),
                    free,
                    needed,
                });
            }
            return Err(ran.failure().into());
        }
        tray::refresh(&self.tools, self.settings, self.tray())?;
        Ok((bytes, capacity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_lines() {
        let out =
            "Executing 'mkisofs -r /tmp/x | builtin_dd of=/dev/dvd obs=32k seek=7'\nmore seek=9'\n";
        assert_eq!(parse_seek(out), Some(112));
        assert_eq!(parse_seek("seek=7\n"), None);
        assert_eq!(parse_seek("nothing\n"), None);
    }

    #[test]
    fn no_space_lines() {
        let out = ":-( /dev/dvd: 100 blocks are free, 2000 to be written!\n";
        assert_eq!(parse_no_space(out), Some((100, 2000)));
        assert_eq!(
            parse_no_space(":-( /dev/dvd: media is not recognized\n"),
            None
        );
    }
}
