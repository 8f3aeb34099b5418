//! Test support for store, rebuild, initialize, capacity and span: an optical "drive" made of
//! recording programs, a staging tree, and readers for the images.
//!
//! No test machine has a drive, so cdrecord, growisofs, eject, volname, mount and umount are
//! shell scripts that log their arguments (`state/calls.log`, one line each: the program's
//! name and its arguments joined by blanks) and act on a *disc file*, the configured
//! target_device:
//! - `cdrecord -prcap` prints `state/prcap`; a write prints cdrecord -v's `Track 01: N of M MB
//!   written` progress lines (growisofs its `N/M (P%)` lines), slowly after [`Rig::slow_writer`]; `-msinfo` prints `LAST,NEXT` (the last session's
//!   start and the disc's end in sectors, or `state/msinfo` when present) and fails on an
//!   empty disc; `blank=fast` empties the disc; `-data IMAGE` keeps a copy of the image in
//!   `state/images/N.iso` and writes it into the disc at its end, as a new session;
//! - `growisofs` runs the real mkisofs on its arguments (as growisofs does), keeps the image,
//!   and writes it at 0 (`-Z`) or after the last session (`-M`, with `-C LAST,NEXT -M DISC`);
//!   `-dry-run` prints a `seek=N'` line, or fails on an empty disc;
//! - `volname` prints the volume id of the disc's first session, `mount` mounts the disc's
//!   last session through a loop device when the kernel allows it and otherwise unpacks it
//!   with xorriso into the mount point, `umount` unmounts;
//! - `mkisofs` logs and runs the real one (genisoimage, or `xorriso -as mkisofs`).
//!
//! Faults: `state/fail/NAME` makes program NAME print the file's second and later lines on
//! standard error and exit 1 when its arguments match the shell pattern on the first line.
//! `state/tamper` (`FROM TO`) makes the next write put different bytes on the disc than the
//! image holds, as a bad burn would.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::Binaries;

/// `cdrecord -prcap` of a multisession drive with a tray that ejects.
pub const PRCAP_FULL: &str = "Device type    : Removable CD-ROM\nVendor_info    : 'FAKE    '\nIdentifikation : 'RECORDER        '\nBuffer size in KB: 1024\n  Does read multi-session CDs\n  Loading mechanism type: tray\n  Does support ejection of CD via START/STOP command\n";

/// The real mkisofs: genisoimage / mkisofs, else `xorriso -as mkisofs`.
pub fn real_mkisofs() -> Vec<String> {
    for name in ["/usr/bin/genisoimage", "/usr/bin/mkisofs"] {
        if Path::new(name).is_file() {
            return vec![name.to_string()];
        }
    }
    if Path::new("/usr/bin/xorriso").is_file() {
        return vec!["/usr/bin/xorriso".into(), "-as".into(), "mkisofs".into()];
    }
    panic!("no mkisofs on this machine: install genisoimage or xorriso (apt-get install -y genisoimage xorriso; .ci/run does)");
}

fn xorriso() -> &'static str {
    assert!(
        Path::new("/usr/bin/xorriso").is_file(),
        "xorriso is needed to read images back: apt-get install -y xorriso (.ci/run does)"
    );
    "/usr/bin/xorriso"
}

pub use crate::ext::original;
pub use crate::program::skipped;

const COMMON: &str = r#"#!/bin/sh
S='@STATE@'
DISC=$(cat "$S/device")
NAME=$(basename "$0")
{ printf '%s' "$NAME"; for a in "$@"; do printf ' %s' "$a"; done; echo; } >> "$S/calls.log"
if [ -f "$S/fail/$NAME" ]; then
  pattern=$(head -n 1 "$S/fail/$NAME")
  case "$*" in
    $pattern) tail -n +2 "$S/fail/$NAME" >&2; exit 1;;
  esac
fi
if [ -f "$S/hang/$NAME" ]; then
  pattern=$(head -n 1 "$S/hang/$NAME")
  case "$*" in
    $pattern) : > "$S/hanging"; sleep 120; exit 1;;
  esac
fi
sectors() { echo $(( $(stat -c %s "$1") / 2048 )); }
put() { # put IMAGE SECTOR: write IMAGE into the disc at SECTOR, as the last session
  dd if="$1" of="$DISC" bs=2048 seek="$2" conv=notrunc status=none || exit 1
  echo "$2" > "$S/last"
  if [ -f "$S/tamper" ]; then
    set -- $(cat "$S/tamper")
    perl -0777 -pi -e "s/\Q$1\E/$2/g" "$DISC"
    rm -f "$S/tamper"
  fi
}
keep() { n=$(ls "$S/images" | wc -l); echo "$S/images/$n.iso"; }
"#;

const CDRECORD: &str = r#"
data=""; prev=""
for a in "$@"; do [ "$prev" = "-data" ] && data="$a"; prev="$a"; done
case " $* " in
  *" -prcap "*) cat "$S/prcap"; exit 0;;
  *" -msinfo "*)
    if [ -f "$S/msinfo" ]; then cat "$S/msinfo"; exit 0; fi
    [ -s "$DISC" ] || { echo "cdrecord: Cannot read session offset" >&2; exit 255; }
    echo "$(cat "$S/last" 2>/dev/null || echo 0),$(sectors "$DISC")"; exit 0;;
  *" blank=fast "*) : > "$DISC"; rm -f "$S/last"; exit 0;;
esac
[ -n "$data" ] || { echo "fake cdrecord: nothing to do" >&2; exit 2; }
# cdrecord -v's progress line, rewritten with a carriage return (slowly after Rig::slow_writer).
mb=$(( ($(wc -c < "$data") + 1048575) / 1048576 )); i=0
while [ "$i" -lt "$mb" ]; do
  printf 'Track 01: %4d of %4d MB written (fifo 100%%) [buf 100%%]   4.0x.\r' "$i" "$mb"
  [ -f "$S/slow" ] && sleep 0.4; i=$((i + 1))
done
printf 'Track 01: %4d of %4d MB written (fifo 100%%) [buf 100%%]   4.0x.\n' "$mb" "$mb"
cp "$data" "$(keep)" || exit 1
start=0; [ -s "$DISC" ] && start=$(sectors "$DISC")
put "$data" "$start"
exit 0
"#;

const GROWISOFS: &str = r#"
dry=0; mode=""; set_dev=0
for a in "$@"; do
  shift
  if [ "$set_dev" = 1 ]; then set_dev=0; continue; fi
  case "$a" in
    -use-the-force-luke=*|-speed=*) ;;
    -dry-run) dry=1;;
    -Z) mode=Z; set_dev=1;;
    -M) mode=M; set_dev=1;;
    *) set -- "$@" "$a";;
  esac
done
next=0; [ -s "$DISC" ] && next=$(( ($(sectors "$DISC") + 15) / 16 * 16 ))
if [ "$dry" = 1 ]; then
  [ -s "$DISC" ] || { echo ":-( $DISC: unable to read the previous session" >&2; exit 1; }
  echo "Executing 'builtin_dd if=/dev/fd/0 of=$DISC obs=32k seek=$(( next / 16 ))'"
  exit 0
fi
out=$(keep)
# growisofs' progress lines (slowly after Rig::slow_writer), before the image is built here.
for pct in 25 50 75; do
  printf '%10d/%d (%4.1f%%) @4.0x, remaining 0:01 RBU 100.0%% UBU  99.0%%\n' "$((pct * 40960))" 4096000 "$pct"
  [ -f "$S/slow" ] && sleep 0.4
done
if [ "$mode" = Z ]; then
  @MKISOFS@ -quiet -o "$out" "$@" || exit 1
  : > "$DISC"; put "$out" 0
else
  [ -s "$DISC" ] || { echo ":-( $DISC: no previous session to grow" >&2; exit 1; }
  @MKISOFS@ -quiet -o "$out" -C "$(cat "$S/last"),$next" -M "$DISC" "$@" || exit 1
  put "$out" "$next"
fi
exit 0
"#;

const VOLNAME: &str = r#"
if [ -f "$S/volname" ]; then cat "$S/volname"; exit 0; fi
[ -s "$DISC" ] || exit 1
dd if="$DISC" bs=1 skip=$(( 16 * 2048 + 40 )) count=32 status=none; echo
"#;

const MOUNT: &str = r#"
for mp in "$@"; do :; done
last=$(cat "$S/last" 2>/dev/null || echo 0)
if /bin/mount -t iso9660 -o loop,ro,sbsector="$last" "$DISC" "$mp" 2>/dev/null; then exit 0; fi
@XORRISO@ -osirrox on -indev "stdio:$DISC" -load sbsector "$last" -extract / "$mp" >/dev/null 2>&1
"#;

const UMOUNT: &str = r#"
for mp in "$@"; do :; done
exec /bin/umount "$mp"
"#;

const EJECT: &str = "exit 0\n";

const MKISOFS_WRAPPER: &str = "exec @MKISOFS@ \"$@\"\n";

/// A fake optical drive, a staging tree and a working directory in a temporary directory.
#[derive(Debug)]
pub struct Rig {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    /// The recording programs.
    pub bin: PathBuf,
    pub state: PathBuf,
    /// The disc file, configured as target_device.
    pub device: PathBuf,
    pub work: PathBuf,
    pub staging: PathBuf,
    pub log: PathBuf,
    /// The programs under test.
    pub binaries: Binaries,
}

impl Rig {
    pub fn new(binaries: Binaries) -> Rig {
        let dir = tempfile::Builder::new()
            .prefix("cback-optical-")
            .tempdir()
            .expect("temporary directory");
        let root = dir.path().to_path_buf();
        let rig = Rig {
            bin: root.join("bin"),
            state: root.join("state"),
            device: root.join("dev/cdrw"),
            work: root.join("work"),
            staging: root.join("stage"),
            log: root.join("cback.log"),
            root,
            _dir: dir,
            binaries,
        };
        for d in [&rig.bin, &rig.work, &rig.staging] {
            fs::create_dir_all(d).unwrap();
        }
        fs::create_dir_all(rig.state.join("images")).unwrap();
        fs::create_dir_all(rig.state.join("fail")).unwrap();
        fs::create_dir_all(rig.state.join("hang")).unwrap();
        fs::create_dir_all(rig.device.parent().unwrap()).unwrap();
        fs::write(&rig.device, "").unwrap();
        fs::write(
            rig.state.join("device"),
            rig.device.to_string_lossy().as_bytes(),
        )
        .unwrap();
        fs::write(rig.state.join("prcap"), PRCAP_FULL).unwrap();
        let mkisofs = real_mkisofs()
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ");
        for (name, body) in [
            ("cdrecord", CDRECORD),
            ("growisofs", GROWISOFS),
            ("eject", EJECT),
            ("volname", VOLNAME),
            ("mount", MOUNT),
            ("umount", UMOUNT),
            ("mkisofs", MKISOFS_WRAPPER),
        ] {
            let text = format!("{COMMON}{body}")
                .replace("@STATE@", &rig.state.to_string_lossy())
                .replace("@MKISOFS@", &mkisofs)
                .replace("@XORRISO@", xorriso());
            let path = rig.bin.join(name);
            crate::write_executable(&path, &text);
        }
        rig
    }

    /// The `<override>` entries that put the recording programs in place.
    pub fn overrides(&self) -> String {
        [
            "cdrecord",
            "growisofs",
            "eject",
            "volname",
            "mount",
            "umount",
            "mkisofs",
        ]
        .iter()
        .map(|name| {
            format!(
                "  <override><command>{name}</command><abs_path>{}</abs_path></override>\n",
                self.bin.join(name).display()
            )
        })
        .collect()
    }

    /// Writes `cback.conf` with options (the overrides included), a `<stage>` section naming
    /// the staging tree, `store` (the inside of `<store>`, with `{DEV}` for the disc file and
    /// `{STAGE}` for the staging tree) and `extra` sections; returns its path.
    pub fn config(&self, starting_day: &str, store: &str, extra: &str) -> PathBuf {
        let (user, group) = owner();
        let store = store
            .replace("{DEV}", &self.device.to_string_lossy())
            .replace("{STAGE}", &self.staging.to_string_lossy());
        let text = format!(
            "<?xml version=\"1.0\"?>\n<cb_config>\n <reference><author>test</author></reference>\n <options>\n  <starting_day>{starting_day}</starting_day>\n  <working_dir>{work}</working_dir>\n  <backup_user>{user}</backup_user>\n  <backup_group>{group}</backup_group>\n  <rcp_command>/usr/bin/scp -B</rcp_command>\n{overrides} </options>\n <stage>\n  <staging_dir>{stage}</staging_dir>\n  <peer><name>local</name><type>local</type><collect_dir>{root}/collect</collect_dir></peer>\n </stage>\n <store>\n{store}\n </store>\n{extra}\n</cb_config>\n",
            work = self.work.display(),
            overrides = self.overrides(),
            stage = self.staging.display(),
            root = self.root.display(),
        );
        let path = self.root.join("cback.conf");
        fs::write(&path, text).unwrap();
        path
    }

    /// A staged daily directory `STAGE/YYYY/MM/DD` (from `YYYY-MM-DD`) holding `cback.stage`
    /// and `files` (relative path, contents).
    pub fn stage_day(&self, date: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let dir = self.staging.join(date.replace('-', "/"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("cback.stage"), "").unwrap();
        for (rel, data) in files {
            let path = dir.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, data).unwrap();
        }
        dir
    }

    /// `cback --config CONF --logfile LOG ARGS` with today pinned (`None`: the clock) and the
    /// recording programs first on PATH.
    pub fn cback(&self, config: &Path, today: Option<&str>, args: &[&str]) -> Output {
        self.command(config, today, args)
            .output()
            .expect("run cback")
    }

    /// The command [`Rig::cback`] runs, for a test that spawns it (to signal it).
    pub fn command(&self, config: &Path, today: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.binaries.cback_path());
        cmd.env_remove("CEDAR_LOG")
            .env("LANG", "C")
            .env("PATH", self.path_env())
            .arg("--config")
            .arg(config)
            .arg("--logfile")
            .arg(&self.log)
            .args(args);
        match today {
            Some(day) => cmd.env("CEDAR_TODAY", day),
            None => cmd.env_remove("CEDAR_TODAY"),
        };
        cmd
    }

    /// PATH with the recording programs first (the original looks eject up on PATH).
    pub fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The recorded command lines, in order.
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.state.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The recorded command lines with temporary names (`tmpXXXXXXXX`) and the rig's root
    /// (`ROOT`) replaced, for comparisons.
    pub fn calls_normalized(&self) -> Vec<String> {
        let root = self.root.to_string_lossy().into_owned();
        self.calls()
            .iter()
            .map(|l| normalize_temp_names(&l.replace(&root, "ROOT")))
            .collect()
    }

    /// The recorded calls of program `name` only.
    pub fn calls_of(&self, name: &str) -> Vec<String> {
        self.calls_normalized()
            .into_iter()
            .filter(|l| l.split(' ').next() == Some(name))
            .collect()
    }

    /// How many times the image's size was estimated (`mkisofs -print-size` calls).
    pub fn size_estimates(&self) -> usize {
        self.calls_of("mkisofs")
            .iter()
            .filter(|call| call.split(' ').any(|arg| arg == "-print-size"))
            .count()
    }

    pub fn clear_calls(&self) {
        let _ = fs::remove_file(self.state.join("calls.log"));
    }

    /// The images the writers were given, in order.
    pub fn images(&self) -> Vec<PathBuf> {
        let mut images: Vec<PathBuf> = fs::read_dir(self.state.join("images"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        images.sort_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u32>().ok())
        });
        images
    }

    /// Makes program `name` fail when its arguments match `pattern`, printing `message`.
    pub fn fail(&self, name: &str, pattern: &str, message: &str) {
        fs::write(
            self.state.join("fail").join(name),
            format!("{pattern}\n{message}\n"),
        )
        .unwrap();
    }

    /// Makes program `name` hang (for two minutes) when its arguments match `pattern`;
    /// [`Rig::hanging`] then says it has begun.
    pub fn hang(&self, name: &str, pattern: &str) {
        fs::write(self.state.join("hang").join(name), format!("{pattern}\n")).unwrap();
    }

    /// Makes cdrecord and growisofs take 0.4 s a progress line, as a real writer takes time.
    pub fn slow_writer(&self) {
        fs::write(self.state.join("slow"), "").unwrap();
    }

    /// Whether a program made to [`Rig::hang`] is hanging now.
    pub fn hanging(&self) -> bool {
        self.state.join("hanging").exists()
    }

    pub fn unfail(&self, name: &str) {
        let _ = fs::remove_file(self.state.join("fail").join(name));
    }

    pub fn set_state(&self, name: &str, text: &str) {
        fs::write(self.state.join(name), text).unwrap();
    }

    pub fn clear_state(&self, name: &str) {
        let _ = fs::remove_file(self.state.join(name));
    }

    /// The next write puts `to` on the disc where the image holds `from` (same length).
    pub fn tamper_next_write(&self, from: &str, to: &str) {
        assert_eq!(from.len(), to.len());
        self.set_state("tamper", &format!("{from} {to}"));
    }

    /// Puts one session on the disc (as an earlier write would have): `/2026/11/30/seed` with
    /// the label `CEDAR BACKUP 30-NOV-2026`. Returns its size in sectors.
    pub fn seed_disc(&self) -> u64 {
        let seed = self.root.join("seed");
        fs::create_dir_all(&seed).unwrap();
        fs::write(seed.join("seed"), "earlier session").unwrap();
        let mkisofs = real_mkisofs();
        let out = Command::new(&mkisofs[0])
            .args(&mkisofs[1..])
            .args([
                "-quiet",
                "-V",
                "CEDAR BACKUP 30-NOV-2026",
                "-r",
                "-graft-points",
                "-o",
            ])
            .arg(&self.device)
            .arg(format!("2026/11/30/={}", seed.display()))
            .output()
            .expect("run mkisofs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.set_state("last", "0\n");
        fs::metadata(&self.device).unwrap().len() / 2048
    }

    /// The disc's last session: every regular file with its contents.
    pub fn disc_files(&self) -> BTreeMap<String, Vec<u8>> {
        self.try_disc_files().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Rig::disc_files`], or why the disc cannot be read (a blank disc).
    pub fn try_disc_files(&self) -> Result<BTreeMap<String, Vec<u8>>, String> {
        let last = fs::read_to_string(self.state.join("last")).unwrap_or_else(|_| "0".into());
        try_extract(&format!("stdio:{}", self.device.display()), last.trim())
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Names left in working_dir (the run's lock and status files aside).
    pub fn work_leftovers(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.work)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("cback"))
            .collect();
        names.sort();
        names
    }
}

/// The backup user and group to configure: `backup` when it exists, else the current user's.
pub fn owner() -> (String, String) {
    use nix::unistd::{Gid, Group, Uid, User};
    if let (Ok(Some(_)), Ok(Some(_))) = (User::from_name("backup"), Group::from_name("backup")) {
        return ("backup".into(), "backup".into());
    }
    let user = User::from_uid(Uid::effective()).unwrap().unwrap();
    let group = Group::from_gid(Gid::effective()).unwrap().unwrap();
    (user.name, group.name)
}

/// Replaces each `tmp` followed by 8 letters, digits or `_` with `tmpXXXXXXXX`.
pub fn normalize_temp_names(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i == 0 || bytes[i - 1] == b'/';
        if word_start
            && bytes[i..].starts_with(b"tmp")
            && bytes.len() >= i + 11
            && bytes[i + 3..i + 11]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
            && !matches!(bytes.get(i + 11), Some(b) if b.is_ascii_alphanumeric())
        {
            out.push_str("tmpXXXXXXXX");
            i += 11;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

/// Every regular file of an ISO image (or `stdio:DISC` at session `sbsector`), by path.
pub fn extract(indev: &str, sbsector: &str) -> BTreeMap<String, Vec<u8>> {
    try_extract(indev, sbsector).unwrap_or_else(|e| panic!("{e}"))
}

/// [`extract`], or why xorriso could not read the image (a session image made for `-C A,B`
/// can only be read where it was written, on the disc).
pub fn try_extract(indev: &str, sbsector: &str) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("x");
    let status = Command::new(xorriso())
        .args([
            "-osirrox", "on", "-indev", indev, "-load", "sbsector", sbsector,
        ])
        .arg("-extract")
        .arg("/")
        .arg(&target)
        .output()
        .expect("run xorriso");
    if !status.status.success() {
        return Err(format!(
            "xorriso could not read {indev}: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    let mut files = BTreeMap::new();
    let mut stack = vec![target.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            let rel = entry
                .path()
                .strip_prefix(&target)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.insert(format!("/{rel}"), fs::read(entry.path()).unwrap());
            }
        }
    }
    // Extracted directories are read-only; let the temporary directory go.
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("u+w")
        .arg(out.path())
        .status();
    Ok(files)
}

/// Every regular file of an image file.
pub fn image_files(image: &Path) -> BTreeMap<String, Vec<u8>> {
    extract(&format!("stdio:{}", image.display()), "0")
}

/// `ls -l`-like lines of an image (`MODE UID GID PATH [-> TARGET]`), from xorriso.
pub fn image_listing(image: &Path) -> Vec<String> {
    let out = Command::new(xorriso())
        .arg("-indev")
        .arg(format!("stdio:{}", image.display()))
        .args(["-find", "/", "-exec", "lsdl"])
        .output()
        .expect("run xorriso");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // mode, links, uid, gid, size, month, day, time, path...
            let path = f.get(8..).map(|p| p.join(" ")).unwrap_or_default();
            format!(
                "{} {} {} {}",
                f.first().unwrap_or(&""),
                f.get(2).unwrap_or(&""),
                f.get(3).unwrap_or(&""),
                path.replace('\'', "")
            )
        })
        .collect()
}

/// The volume id of an image (`isoinfo -d`), or of the disc's first session.
pub fn volume_id(image: &Path) -> String {
    let out = Command::new(xorriso())
        .arg("-indev")
        .arg(format!("stdio:{}", image.display()))
        .args(["-pvd_info"])
        .output()
        .expect("run xorriso");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Volume Id    :"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// Every regular file below `dir`, by path relative to `prefix` (with a leading `/`).
pub fn tree_files(dir: &Path, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.insert(format!("{prefix}/{rel}"), fs::read(entry.path()).unwrap());
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_normalized() {
        assert_eq!(
            normalize_temp_names("mkisofs -o ROOT/work/tmpAb3_x9Zq x/=/tmp/tmpvwyybun6"),
            "mkisofs -o ROOT/work/tmpXXXXXXXX x/=/tmp/tmpXXXXXXXX"
        );
        assert_eq!(normalize_temp_names("tmpfoo /tmp"), "tmpfoo /tmp");
    }
}
