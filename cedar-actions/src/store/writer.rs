//! Opening the configured writer (CD or DVD) and what store, rebuild, initialize, capacity
//! and span ask of it: its space, an estimate, a write, a refresh.

use std::path::Path;

use nix::unistd::{access, AccessFlags};

use cedar_core::DeviceType;

pub use super::capacity::Capacity;
use super::cdwriter::CdWriter;
use super::dvdwriter::DvdWriter;
use super::error::StoreError;
use super::iso::{self, Entry, ImageSpec};
use super::media::SECTOR_BYTES;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::tray::{self, Tray};
use super::write_progress::WriteWatch;

/// What a write put on the disc.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Written {
    /// The image's size (estimated for a DVD), in bytes.
    pub bytes: u64,
    pub new_disc: bool,
    pub capacity: Capacity,
}

#[derive(Debug)]
enum Drive<'a> {
    Cd(CdWriter<'a>),
    Dvd(DvdWriter<'a>),
}

/// An opened writer.
#[derive(Debug)]
pub struct Writer<'a> {
    settings: &'a StoreSettings,
    tools: Tools<'a>,
    drive: Drive<'a>,
}

/// Whether `/etc/mtab`'s text lists `device` (or its real path) as a mounted source.
pub fn mounted_in(mtab: &str, device: &Path, real: Option<&Path>) -> bool {
    mtab.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(|source| source.replace("\\040", " "))
        .any(|source| Path::new(&source) == device || real.is_some_and(|r| Path::new(&source) == r))
}

impl<'a> Writer<'a> {
    /// Checks that the device is not mounted, exists and is writable, then opens the CD
    /// writer (`cdrecord -prcap`) or the DVD writer (no command).
    pub fn open(settings: &'a StoreSettings, tools: Tools<'a>) -> Result<Writer<'a>, StoreError> {
        let device = &settings.device;
        let real = std::fs::canonicalize(device).ok();
        if let Ok(mtab) = std::fs::read_to_string("/etc/mtab") {
            if mounted_in(&mtab, device, real.as_deref()) {
                return Err(StoreError::DeviceMounted {
                    device: device.clone(),
                });
            }
        }
        let bad = |problem| StoreError::BadDevice {
            device: device.clone(),
            problem,
        };
        if !device.is_absolute() {
            return Err(bad("is not an absolute path"));
        }
        if std::fs::symlink_metadata(device).is_err() {
            return Err(bad("does not exist"));
        }
        if access(device.as_path(), AccessFlags::W_OK).is_err() {
            return Err(bad("is not writable by this user"));
        }
        let drive = match settings.device_type {
            DeviceType::Cdwriter => Drive::Cd(CdWriter::open(settings, tools.clone())?),
            DeviceType::Dvdwriter => Drive::Dvd(DvdWriter::open(settings, tools.clone())),
        };
        Ok(Writer {
            settings,
            tools,
            drive,
        })
    }

    /// The device written to.
    pub fn device(&self) -> &Path {
        &self.settings.device
    }

    pub fn tray(&self) -> Tray {
        match &self.drive {
            Drive::Cd(cd) => cd.tray(),
            Drive::Dvd(dvd) => dvd.tray(),
        }
    }

    /// Opens and closes the tray so the drive reads the disc again.
    pub fn refresh(&self) -> Result<(), StoreError> {
        tray::refresh(&self.tools, self.settings, self.tray())
    }

    /// The space left if the next image were appended (`cdrecord -msinfo` when the drive
    /// does multisession, or the growisofs dry run).
    pub fn append_capacity(&self) -> Result<Capacity, StoreError> {
        match &self.drive {
            Drive::Cd(cd) => cd.append_capacity(),
            Drive::Dvd(dvd) => dvd.append_capacity(),
        }
    }

    /// The space on a new disc of the configured media type (a CD's first lead-in taken off):
    /// what a write with a new disc checks the image against.
    pub fn new_disc_capacity(&self) -> Capacity {
        match &self.drive {
            Drive::Cd(cd) => cd.capacity(None),
            Drive::Dvd(dvd) => dvd.capacity(0),
        }
    }

    /// Bytes the entries need, for the blanking decision: mkisofs's estimate without label
    /// and multisession options (plus 2500 sectors on DVD).
    pub fn required_bytes(&self, entries: &[Entry]) -> Result<f64, StoreError> {
        let sectors = match &self.drive {
            Drive::Cd(_) => iso::estimate(
                &self.tools,
                &ImageSpec {
                    label: None,
                    entries,
                    multisession: None,
                },
            )?,
            Drive::Dvd(dvd) => dvd.estimate(entries)?,
        };
        Ok((sectors * SECTOR_BYTES) as f64)
    }

    /// Writes the entries as a new disc (rewritable CDs are blanked, growisofs gets `-Z`) or
    /// appended to the disc. The size is checked before anything is written; `watch` is
    /// told it, then the bytes written as the writer reports them.
    pub fn write(
        &self,
        entries: &[Entry],
        label: Option<&str>,
        new_disc: bool,
        watch: Option<WriteWatch>,
    ) -> Result<Written, StoreError> {
        let result = match &self.drive {
            Drive::Cd(cd) => cd.write(entries, label, new_disc, watch),
            Drive::Dvd(dvd) => dvd.write(entries, label, new_disc, watch),
        };
        let (bytes, capacity) = result.map_err(|err| {
            if err.interrupted() {
                StoreError::InterruptedWriting {
                    device: self.settings.device.clone(),
                    dirs: entries.iter().map(|e| e.path.clone()).collect(),
                    new_disc,
                }
            } else {
                err
            }
        })?;
        Ok(Written {
            bytes,
            new_disc,
            capacity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtab_sources() {
        let mtab = "/dev/sr0 /media/cdrom iso9660 ro 0 0\n/dev/my\\040disc /m x ro 0 0\n";
        assert!(mounted_in(mtab, Path::new("/dev/sr0"), None));
        assert!(mounted_in(
            mtab,
            Path::new("/dev/cdrw"),
            Some(Path::new("/dev/sr0"))
        ));
        assert!(mounted_in(mtab, Path::new("/dev/my disc"), None));
        assert!(!mounted_in(mtab, Path::new("/dev/sr1"), None));
    }

    #[test]
    fn utilization() {
        let cap = |used, available| Capacity {
            used,
            available,
            boundaries: None,
        };
        assert!(cap(0.0, 10.0).holds(10.0));
        assert!(!cap(0.0, 10.0).holds(10.5));
        assert!(!cap(5e9, -1e8).holds(0.0));
        assert_eq!(cap(10.0, 0.0).utilized_percent(), 100.0);
        assert_eq!(cap(0.0, 10.0).utilized_percent(), 0.0);
        // A CD-R 74 with msinfo 0,300000: 92.05% utilized.
        let used = 300_000.0 * 2048.0;
        let available = (332_800.0 - 300_000.0 - 6_900.0) * 2048.0;
        assert_eq!(
            format!("{:.2}", cap(used, available).utilized_percent()),
            "92.05"
        );
    }
}
