//! The CD writer: cdrecord for capabilities (`-prcap`), session boundaries (`-msinfo`),
//! blanking and writing, with the image built by mkisofs.

use std::path::Path;

use super::capacity::{check_fits, Capacity};
use super::error::StoreError;
use super::iso::{self, Entry, ImageSpec, Multisession};
use super::media::SECTOR_BYTES;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::tray::{self, Tray};
use super::write_progress::{cdrecord_written, progress_observer, TellBytes, WriteWatch};
use cedar_core::display_bytes;

/// What `cdrecord -prcap` says the drive can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CdCapabilities {
    pub multisession: bool,
    pub tray: bool,
    pub eject: bool,
}

/// Reads `cdrecord -prcap` output; logs the device's description lines at INFO level. A
/// buffer size that is not a number (the original crashes on it) is only warned about.
pub fn parse_prcap(output: &str) -> CdCapabilities {
    let mut caps = CdCapabilities::default();
    for line in output.lines() {
        let trimmed = line.trim_start();
        if let Some(v) = field(trimmed, "Device type") {
            tracing::info!("Device type is [{v}].");
        } else if let Some(v) = field(trimmed, "Vendor_info") {
            tracing::info!("Device vendor is [{}].", v.trim_matches('\''));
        } else if let Some(v) = field(trimmed, "Identifikation") {
            tracing::info!("Device id is [{}].", v.trim_matches('\''));
        } else if let Some(v) = field(trimmed, "Buffer size in KB") {
            match v.trim().parse::<u64>() {
                Ok(kb) => tracing::info!("Device buffer size is [{}] bytes.", kb * 1024),
                Err(_) => tracing::warn!("Ignoring the drive's buffer size [{v}]: not a number."),
            }
        }
        if trimmed.starts_with("Does read multi-session") {
            caps.multisession = true;
        }
        if trimmed.starts_with("Loading mechanism type: tray") {
            caps.tray = true;
        }
        if trimmed.starts_with("Does support ejection") {
            caps.eject = true;
        }
    }
    if caps.multisession {
        tracing::info!("Device does support multisession discs.");
    }
    if caps.tray {
        tracing::info!("Device has a tray.");
    }
    if caps.eject {
        tracing::info!("Device can eject its media.");
    }
    caps
}

/// The value of `NAME : VALUE` or `NAME: VALUE`.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(name)?.trim_start();
    rest.strip_prefix(':').map(str::trim)
}

/// The first line of `cdrecord -msinfo`: `A,B`.
pub fn parse_msinfo(output: &str, command: &str) -> Result<(u64, u64), StoreError> {
    let first = output.lines().next().unwrap_or_default().trim();
    let bad = || StoreError::Unparsable {
        command: command.to_string(),
        problem: "the first line is not two sector numbers A,B",
        output: output.to_string(),
    };
    let (a, b) = first.split_once(',').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

/// A CD writer opened with `cdrecord -prcap`.
#[derive(Debug)]
pub struct CdWriter<'a> {
    settings: &'a StoreSettings,
    tools: Tools<'a>,
    pub caps: CdCapabilities,
}

impl<'a> CdWriter<'a> {
    pub fn open(settings: &'a StoreSettings, tools: Tools<'a>) -> Result<CdWriter<'a>, StoreError> {
        let dev = format!("dev={}", settings.hardware_id());
        let ran = tools.run_ok("cdrecord", &["-prcap", &dev])?;
        let caps = parse_prcap(&ran.stdout);
        Ok(CdWriter {
            settings,
            tools,
            caps,
        })
    }

    pub fn tray(&self) -> Tray {
        Tray {
            has_tray: self.caps.tray,
            can_eject: self.caps.eject,
        }
    }

    fn dev_arg(&self) -> String {
        format!("dev={}", self.settings.hardware_id())
    }

    /// The disc's session boundaries, `None` for a disc cdrecord cannot read (blank).
    pub fn boundaries(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let ran = self.tools.run("cdrecord", &["-msinfo", &self.dev_arg()])?;
        if !ran.status.success() || ran.stdout.trim().is_empty() {
            tracing::warn!(
                "Unable to read disc (might not be initialized); returning boundaries of None."
            );
            return Ok(None);
        }
        parse_msinfo(&ran.stdout, &ran.command).map(Some)
    }

    /// The space on the disc given its boundaries.
    pub fn capacity(&self, boundaries: Option<(u64, u64)>) -> Capacity {
        let media = self.settings.media_info();
        let sector = SECTOR_BYTES as f64;
        match boundaries {
            Some((_, b)) if b > 0 => Capacity {
                used: b as f64 * sector,
                available: (media.capacity_sectors - b as f64 - media.lead_in).max(0.0) * sector,
                boundaries,
            },
            _ => Capacity {
                used: 0.0,
                available: (media.capacity_sectors - media.initial_lead_in) * sector,
                boundaries,
            },
        }
    }

    /// The capacity if the next image were appended.
    pub fn append_capacity(&self) -> Result<Capacity, StoreError> {
        let boundaries = if self.caps.multisession {
            self.boundaries()?
        } else {
            None
        };
        Ok(self.capacity(boundaries))
    }

    /// Estimates the image (and tells `watch` its size), checks the size, builds the image,
    /// blanks a new rewritable disc, writes and refreshes.
    pub fn write(
        &self,
        entries: &[Entry],
        label: Option<&str>,
        new_disc: bool,
        watch: Option<WriteWatch>,
    ) -> Result<(u64, Capacity), StoreError> {
        let capacity = if !new_disc && self.caps.multisession {
            self.capacity(self.boundaries()?)
        } else {
            self.capacity(None)
        };
        let multisession = capacity.boundaries.map(|boundaries| Multisession {
            boundaries,
            device: self.settings.device.clone(),
        });
        let spec = ImageSpec {
            label,
            entries,
            multisession: multisession.as_ref(),
        };
        let bytes = iso::estimate(&self.tools, &spec)? * SECTOR_BYTES;
        tracing::info!("Image size will be {}.", display_bytes(bytes as f64));
        if let Some(watch) = &watch {
            (watch.sized)(bytes);
        }
        check_fits(self.settings, bytes as f64, &capacity)?;
        let image = iso::build(&self.tools, &self.settings.working_dir, &spec)?;
        if new_disc && self.settings.media_info().rewritable {
            self.blank()?;
        }
        self.write_file(image.path(), watch.map(|watch| watch.written))?;
        drop(image);
        Ok((bytes, capacity))
    }

    /// `cdrecord -v blank=fast dev=HWID` (drive_speed is not passed), then a refresh.
    pub fn blank(&self) -> Result<(), StoreError> {
        tracing::info!("Blanking the disc in [{}].", self.settings.device.display());
        self.tools
            .run_ok("cdrecord", &["-v", "blank=fast", &self.dev_arg()])?;
        tray::refresh(&self.tools, self.settings, self.tray())
    }

    /// `cdrecord -v [speed=N] dev=HWID [-multi] -data IMAGE`, then a refresh.
    fn write_file(&self, image: &Path, written: Option<TellBytes>) -> Result<(), StoreError> {
        let mut args: Vec<String> = vec!["-v".into()];
        if let Some(speed) = self.settings.drive_speed {
            args.push(format!("speed={speed}"));
        }
        args.push(self.dev_arg());
        if self.caps.multisession {
            args.push("-multi".into());
        }
        args.push("-data".into());
        args.push(image.to_string_lossy().into_owned());
        match written {
            Some(written) => self
                .tools
                .observed(progress_observer(written, cdrecord_written))
                .run_ok("cdrecord", &args)?,
            None => self.tools.run_ok("cdrecord", &args)?,
        };
        tray::refresh(&self.tools, self.settings, self.tray())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prcap_lines() {
        let out = "Device type    : Removable CD-ROM\n  Does read multi-session CDs\n  Loading mechanism type: tray\n  Does support ejection of CD via START/STOP command\nBuffer size in KB: 1024\n";
        let caps = parse_prcap(out);
        assert_eq!(
            caps,
            CdCapabilities {
                multisession: true,
                tray: true,
                eject: true
            }
        );
        let caps = parse_prcap("  Loading mechanism type: caddy\nBuffer size in KB: lots\n");
        assert_eq!(caps, CdCapabilities::default());
    }

    #[test]
    fn msinfo_first_line() {
        assert_eq!(parse_msinfo("0,300000\n", "x").unwrap(), (0, 300_000));
        assert_eq!(parse_msinfo("12 , 34\nmore\n", "x").unwrap(), (12, 34));
        assert!(parse_msinfo("garbage\n", "x").is_err());
        assert!(parse_msinfo("1,x\n", "x").is_err());
    }
}
