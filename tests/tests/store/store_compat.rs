//! store, rebuild, initialize and capacity against the original (cback3 3.12) as a black box:
//! both run with the same recording programs on identical rigs, today's real date, and must
//! issue the same command lines in the same order, write images with the same files, and
//! leave the same indicators. Prints `SKIPPED:` when the original is not installed (CI
//! installs it and sets CB3_BIN).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cback_tests::optical::{original, skipped, volume_id, Rig};

/// Today's date (`YYYY-MM-DD`) and the weekday names of today and of two days ago.
fn today() -> (String, String, String) {
    let date = |args: &[&str]| {
        let out = Command::new("date").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_lowercase()
    };
    (
        date(&["+%F"]),
        date(&["+%A"]),
        date(&["-d", "2 days ago", "+%A"]),
    )
}

fn day_offset(days: i64) -> String {
    let out = Command::new("date")
        .args(["-d", &format!("{days} days"), "+%F"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn run_original(cb3: &Path, rig: &Rig, config: &Path, args: &[&str]) -> Output {
    Command::new(cb3)
        .env("PATH", rig.path_env())
        .env("LANG", "C")
        .arg("-c")
        .arg(config)
        .arg("-l")
        .arg(rig.root.join("cb3.log"))
        .args(args)
        .output()
        .expect("run the original")
}

/// What a run left: its command lines, the label of each image, the files of the disc's
/// last session, and which daily directories got `cback.store`.
#[derive(Debug, PartialEq)]
struct StoreOutcome {
    calls: Vec<String>,
    labels: Vec<String>,
    disc: Result<BTreeMap<String, Vec<u8>>, ()>,
    stored: Vec<String>,
}

fn outcome(rig: &Rig) -> StoreOutcome {
    let labels = rig.images().iter().map(|i| volume_id(i)).collect();
    let mut stored = Vec::new();
    for entry in walk(&rig.staging) {
        if entry.ends_with("cback.store") {
            stored.push(
                entry
                    .strip_prefix(&rig.staging)
                    .unwrap()
                    .display()
                    .to_string(),
            );
        }
    }
    stored.sort();
    StoreOutcome {
        calls: rig.calls_normalized(),
        labels,
        disc: rig.try_disc_files().map_err(|_| ()),
        stored,
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Runs `args` with both programs on rigs prepared by `setup`; returns both outcomes and
/// exit codes.
fn both(
    cb3: &Path,
    setup: &dyn Fn(&Rig) -> PathBuf,
    args: &[&str],
) -> ((StoreOutcome, Option<i32>), (StoreOutcome, Option<i32>)) {
    let theirs = Rig::new(crate::BIN);
    let config = setup(&theirs);
    let out = run_original(cb3, &theirs, &config, args);
    let original = (outcome(&theirs), out.status.code());
    let ours = Rig::new(crate::BIN);
    let config = setup(&ours);
    let out = ours.cback(&config, None, args);
    (original, (outcome(&ours), out.status.code()))
}

fn store_section(media: &str, device_type: &str, extra: &str) -> String {
    format!(
        "  <source_dir>{{STAGE}}</source_dir>\n  <media_type>{media}</media_type>\n  <device_type>{device_type}</device_type>\n  <target_device>{{DEV}}</target_device>\n{extra}"
    )
}

struct StoreCase {
    name: &'static str,
    args: &'static [&'static str],
    media: &'static str,
    device_type: &'static str,
    extra: &'static str,
    /// Starting day: today's weekday, or two days ago's.
    starting_today: bool,
    /// An earlier session on the disc, and an `-msinfo` answer to report.
    seed: Option<&'static str>,
    /// Daily directories staged, as offsets from today.
    days: &'static [i64],
    sections: &'static str,
    /// The original exits 0 where cback exits 6 (it only logs the ERROR).
    original_only_logs: bool,
}

const CAPACITY_EXT: &str = " <extensions><action><name>capacity</name><module>CedarBackup3.extend.capacity</module><function>executeAction</function><index>299</index></action></extensions>\n";

fn cases() -> Vec<StoreCase> {
    let base = StoreCase {
        name: "",
        args: &["store"],
        media: "cdrw-74",
        device_type: "cdwriter",
        extra: "",
        starting_today: true,
        seed: None,
        days: &[0],
        sections: "",
        original_only_logs: false,
    };
    vec![
        StoreCase {
            name: "cd-rw new disc with check_data",
            extra: "  <check_data>Y</check_data>\n",
            ..base
        },
        StoreCase {
            name: "cd-r append with speed and SCSI id",
            media: "cdr-80",
            starting_today: false,
            seed: Some("0,SEED\n"),
            extra: "  <drive_speed>4</drive_speed>\n  <target_scsi_id>ATA:1,0,0</target_scsi_id>\n",
            ..base
        },
        StoreCase {
            name: "cd-rw append from yesterday",
            starting_today: false,
            seed: Some("0,SEED\n"),
            days: &[-1],
            extra: "  <warn_midnite>Y</warn_midnite>\n",
            ..base
        },
        StoreCase {
            name: "cd-rw --full",
            args: &["--full", "store"],
            starting_today: false,
            ..base
        },
        StoreCase {
            name: "cd-rw daily blanking, new disc",
            seed: Some("0,1000\n"),
            starting_today: false,
            extra: "  <blank_behavior><mode>daily</mode><factor>1e9</factor></blank_behavior>\n",
            ..base
        },
        StoreCase {
            name: "cd-rw daily blanking, append",
            seed: Some("0,1000\n"),
            starting_today: false,
            extra: "  <blank_behavior><mode>daily</mode><factor>1</factor></blank_behavior>\n",
            ..base
        },
        StoreCase {
            name: "cd-rw full disc",
            seed: Some("0,330000\n"),
            starting_today: false,
            ..base
        },
        StoreCase {
            name: "cd-rw unlabelled with check_media",
            extra: "  <check_media>Y</check_media>\n",
            ..base
        },
        StoreCase {
            name: "cd-rw no_eject",
            extra: "  <no_eject>Y</no_eject>\n",
            ..base
        },
        StoreCase {
            name: "dvd+rw new disc with check_data",
            media: "dvd+rw",
            device_type: "dvdwriter",
            extra: "  <check_data>Y</check_data>\n  <drive_speed>2</drive_speed>\n",
            ..base
        },
        StoreCase {
            name: "dvd+r append",
            media: "dvd+r",
            device_type: "dvdwriter",
            starting_today: false,
            seed: Some(""),
            ..base
        },
        StoreCase {
            name: "dvd+rw daily blanking",
            media: "dvd+rw",
            device_type: "dvdwriter",
            starting_today: false,
            seed: Some(""),
            extra: "  <blank_behavior><mode>daily</mode><factor>1</factor></blank_behavior>\n",
            ..base
        },
        StoreCase {
            name: "cd-rw rebuild",
            args: &["rebuild"],
            starting_today: false,
            days: &[0, -1, -2, -3],
            extra: "  <check_data>Y</check_data>\n",
            ..base
        },
        StoreCase {
            name: "dvd+rw rebuild",
            args: &["rebuild"],
            media: "dvd+rw",
            device_type: "dvdwriter",
            starting_today: false,
            days: &[0, -1, -2, -3],
            ..base
        },
        StoreCase {
            name: "cd-rw initialize",
            args: &["initialize"],
            days: &[],
            ..base
        },
        StoreCase {
            name: "dvd+rw initialize",
            args: &["initialize"],
            media: "dvd+rw",
            device_type: "dvdwriter",
            days: &[],
            ..base
        },
        StoreCase {
            name: "cd-r initialize",
            args: &["initialize"],
            media: "cdr-74",
            days: &[],
            ..base
        },
        StoreCase {
            name: "capacity over the limit",
            args: &["capacity"],
            media: "cdr-74",
            seed: Some("0,300000\n"),
            days: &[],
            sections: " <capacity><max_percentage>50</max_percentage></capacity>\n",
            original_only_logs: true,
            ..base
        },
        StoreCase {
            name: "capacity within the limit",
            args: &["capacity"],
            media: "cdr-74",
            seed: Some("0,300000\n"),
            days: &[],
            sections: " <capacity><min_bytes>5 MB</min_bytes></capacity>\n",
            ..base
        },
    ]
}

#[test]
fn same_commands_images_and_indicators_as_the_original() {
    let Some(cb3) = original() else {
        skipped(
            "store_compat",
            "the original cback3 is not installed (set CB3_BIN, or pip install cedar-backup3 into /tmp/cb3)",
        );
        return;
    };
    let (date, weekday, two_days_ago) = today();
    for case in cases() {
        let setup = |rig: &Rig| {
            for offset in case.days {
                let day = day_offset(*offset);
                rig.stage_day(
                    &day,
                    &[
                        ("host/data.tar", day.as_bytes()),
                        ("host/cback.collect", b""),
                    ],
                );
            }
            if let Some(msinfo) = case.seed {
                let sectors = rig.seed_disc();
                if !msinfo.is_empty() {
                    rig.set_state("msinfo", &msinfo.replace("SEED", &sectors.to_string()));
                }
            }
            let starting = if case.starting_today {
                &weekday
            } else {
                &two_days_ago
            };
            let sections = if case.args == ["capacity"] {
                format!("{CAPACITY_EXT}{}", case.sections)
            } else {
                case.sections.to_string()
            };
            rig.config(
                starting,
                &store_section(case.media, case.device_type, case.extra),
                &sections,
            )
        };
        eprintln!("case: {}", case.name);
        let ((theirs, their_code), (ours, our_code)) = both(&cb3, &setup, case.args);
        if day_offset(0) != date {
            skipped(
                "store_compat",
                "the date changed during the comparison; run it again",
            );
            return;
        }
        assert_eq!(
            ours, theirs,
            "{}: cback (left) and the original (right) differ",
            case.name
        );
        if case.original_only_logs {
            assert_eq!((our_code, their_code), (Some(6), Some(0)), "{}", case.name);
        } else {
            assert_eq!(our_code, their_code, "{}: exit codes", case.name);
        }
    }
}
