//! Choosing what a policy keeps, as restic's `forget` does, over backups rather than files:
//!
//! - The rules (`keep_last`, `keep_daily`, `keep_weekly`, `keep_monthly`, `keep_yearly`,
//!   `keep_within`) choose among **good** backups only, newest first, and are ORed. A period
//!   rule keeps the newest good backup of each period that holds one, until its count is used
//!   up, so a period without a backup costs no slot; when the count is not used up by the
//!   oldest good backup, that one is kept too ("oldest-daily", restic's rule that keeps the
//!   longest history while slots are left). Weeks run Monday to Sunday.
//! - `keep_within` keeps every good backup after [`Within::cutoff`] of the newest good one.
//! - The floor (`keep_min`) is not a rule: the backups holding each peer's `min` newest good
//!   copies stay, good days or not.
//! - A pinned backup stays, and a good pinned one still counts for the rules. A backup dated
//!   after today (a clock that was wrong for a night) stays, but counts for nothing: it takes no
//!   rule's slot, no place in the floor, and is not the newest good backup `keep_within`
//!   counts back from, so one mistaken date cannot push today's backups out.
//!
//! [`Within::cutoff`]: super::Within::cutoff

use std::fmt;

use super::{Day, Policy};

/// What a day holds of one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyState {
    /// Staged, and matching its manifest where it had one.
    Good,
    /// Its staging failed.
    Failed,
    /// Not ready and ignored under `ignore_failures`: no copy, and no failure.
    Skipped,
    /// Staging started but never recorded an outcome (interrupted).
    Incomplete,
}

/// One backup: a staged day, or a day prefix of the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub day: Day,
    /// Holds a `cback.keep`.
    pub pinned: bool,
    /// Each peer of the day and what the day holds of it.
    pub peers: Vec<(String, CopyState)>,
}

impl Backup {
    /// Good when no peer's copy in it failed or is incomplete.
    pub fn is_good(&self) -> bool {
        self.peers
            .iter()
            .all(|(_, state)| matches!(state, CopyState::Good | CopyState::Skipped))
    }
}

/// A counting rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Last,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Rule::Last => "last",
            Rule::Daily => "daily",
            Rule::Weekly => "weekly",
            Rule::Monthly => "monthly",
            Rule::Yearly => "yearly",
        }
    }

    /// The period of `day`; `nr` is its place among the good backups, newest first (each
    /// backup is its own period for `keep_last`).
    fn period(self, day: Day, nr: usize) -> i64 {
        let (year, month, _) = day.ymd();
        match self {
            Rule::Last => nr as i64,
            Rule::Daily => day.number(),
            Rule::Weekly => day.week(),
            Rule::Monthly => i64::from(year) * 12 + i64::from(month),
            Rule::Yearly => i64::from(year),
        }
    }
}

/// Why a backup is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The newest good backup of its period (or one of the last N).
    Rule(Rule),
    /// The oldest good backup, kept because the rule had slots left.
    Oldest(Rule),
    Within,
    /// Holds one of this peer's `keep_min` newest good copies.
    Min(String),
    Pin,
    Future,
}

/// `daily`, `oldest-monthly`, `within`, `min:PEER`, `pin`, `future`.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Rule(rule) => write!(f, "{}", rule.name()),
            Reason::Oldest(rule) => write!(f, "oldest-{}", rule.name()),
            Reason::Within => write!(f, "within"),
            Reason::Min(peer) => write!(f, "min:{peer}"),
            Reason::Pin => write!(f, "pin"),
            Reason::Future => write!(f, "future"),
        }
    }
}

/// What happens to one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub day: Day,
    pub good: bool,
    /// Empty when it is removed.
    pub reasons: Vec<Reason>,
}

impl Decision {
    pub fn keep(&self) -> bool {
        !self.reasons.is_empty()
    }

    /// The dry-run line: `2026-11-23 keep daily weekly` or `2026-11-01 remove`, with
    /// ` (not good)` after a backup that is not good (a peer failed, or its staging or upload
    /// was cut short).
    pub fn line(&self) -> String {
        let verdict = if self.keep() {
            let reasons: Vec<String> = self.reasons.iter().map(ToString::to_string).collect();
            format!("{} keep {}", self.day, reasons.join(" "))
        } else {
            format!("{} remove", self.day)
        };
        if self.good {
            verdict
        } else {
            format!("{verdict} (not good)")
        }
    }
}

/// The decision for each backup of `backups` under `policy`, newest first; `today` decides
/// which days are in the future. Backups are expected to have distinct days.
pub fn select(policy: &Policy, backups: &[Backup], today: Day) -> Vec<Decision> {
    let mut order: Vec<&Backup> = backups.iter().collect();
    order.sort_by_key(|b| std::cmp::Reverse(b.day));
    let mut decisions: Vec<Decision> = order
        .iter()
        .map(|b| Decision {
            day: b.day,
            good: b.is_good(),
            reasons: Vec::new(),
        })
        .collect();
    // What the rules and the floor count: good backups up to today.
    let good: Vec<usize> = (0..order.len())
        .filter(|&i| decisions[i].good && order[i].day <= today)
        .collect();

    let mut buckets: Vec<(Rule, u64, Option<i64>)> = [
        (Rule::Last, policy.last),
        (Rule::Daily, policy.daily),
        (Rule::Weekly, policy.weekly),
        (Rule::Monthly, policy.monthly),
        (Rule::Yearly, policy.yearly),
    ]
    .into_iter()
    .map(|(rule, count)| (rule, count, None))
    .collect();
    let cutoff = good
        .first()
        .map(|&i| policy.within.cutoff(order[i].day))
        .filter(|_| !policy.within.is_zero());
    for (nr, &i) in good.iter().enumerate() {
        let day = order[i].day;
        for (rule, count, last) in buckets.iter_mut() {
            if *count == 0 {
                continue;
            }
            let period = rule.period(day, nr);
            let oldest = nr + 1 == good.len();
            if Some(period) != *last {
                decisions[i].reasons.push(Reason::Rule(*rule));
            } else if oldest {
                decisions[i].reasons.push(Reason::Oldest(*rule));
            } else {
                continue;
            }
            *last = Some(period);
            *count -= 1;
        }
        if cutoff.is_some_and(|cutoff| day > cutoff) {
            decisions[i].reasons.push(Reason::Within);
        }
    }

    let mut peers: Vec<&str> = order
        .iter()
        .flat_map(|b| b.peers.iter().map(|(name, _)| name.as_str()))
        .collect();
    peers.sort_unstable();
    peers.dedup();
    for peer in peers {
        let holding = order.iter().enumerate().filter(|(_, b)| {
            b.day <= today
                && b.peers
                    .iter()
                    .any(|(name, state)| name == peer && *state == CopyState::Good)
        });
        for (i, _) in holding.take(usize::try_from(policy.min).unwrap_or(usize::MAX)) {
            decisions[i].reasons.push(Reason::Min(peer.to_string()));
        }
    }

    for (i, backup) in order.iter().enumerate() {
        if backup.pinned {
            decisions[i].reasons.push(Reason::Pin);
        }
        if backup.day > today {
            decisions[i].reasons.push(Reason::Future);
        }
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Today;
    use crate::retention::{PolicyValues, Within};

    fn day(text: &str) -> Day {
        Day::parse_rel(&text.replace('-', "/")).unwrap()
    }

    /// A night of a generated history.
    #[derive(Clone, Copy, PartialEq)]
    enum Night {
        Missed,
        Good,
        /// Peer `b` failed; `a` is good.
        Failed,
    }

    /// `n` nights ending with `last`, oldest first, each decided by `night(offset_from_last)`,
    /// with peers `a` and `b`.
    fn history(last: Day, n: i64, night: impl Fn(i64) -> Night) -> Vec<Backup> {
        (0..n)
            .rev()
            .filter_map(|back| {
                let b_state = match night(back) {
                    Night::Missed => return None,
                    Night::Good => CopyState::Good,
                    Night::Failed => CopyState::Failed,
                };
                Some(Backup {
                    day: last.plus(-back),
                    pinned: false,
                    peers: vec![("a".into(), CopyState::Good), ("b".into(), b_state)],
                })
            })
            .collect()
    }

    fn policy(values: PolicyValues<'_>) -> Policy {
        Policy::from_values(&values).unwrap().unwrap()
    }

    fn kept(decisions: &[Decision]) -> Vec<String> {
        decisions
            .iter()
            .filter(|d| d.keep())
            .map(|d| d.day.to_string())
            .collect()
    }

    fn lines(decisions: &[Decision]) -> Vec<String> {
        decisions.iter().map(Decision::line).collect()
    }

    #[test]
    fn only_periods_with_backups_count() {
        // Nights 2026-01-01..10 with the 9th, 7th and 4th missed: keep_daily 3 keeps the
        // three newest nights that exist, not the last three calendar days.
        let last = day("2026-01-10");
        let backups = history(last, 10, |back| match back {
            1 | 3 | 6 => Night::Missed,
            _ => Night::Good,
        });
        let p = policy(PolicyValues {
            keep_daily: Some(3),
            keep_min: Some(0),
            ..Default::default()
        });
        let decisions = select(&p, &backups, last);
        assert_eq!(kept(&decisions), ["2026-01-10", "2026-01-08", "2026-01-06"]);
        assert_eq!(decisions.len(), 7);
        // Weekly over three weeks with a whole week missed: the two weeks that hold backups
        // are two slots, and the oldest is kept as well because a slot is left.
        let weekly = policy(PolicyValues {
            keep_weekly: Some(4),
            keep_min: Some(0),
            ..Default::default()
        });
        let backups = history(day("2026-01-25"), 21, |back| {
            if (7..14).contains(&back) {
                Night::Missed
            } else {
                Night::Good
            }
        });
        assert_eq!(
            lines(&select(&weekly, &backups, day("2026-01-25")))
                .into_iter()
                .filter(|l| !l.ends_with("remove"))
                .collect::<Vec<_>>(),
            [
                "2026-01-25 keep weekly",
                "2026-01-11 keep weekly",
                "2026-01-05 keep oldest-weekly"
            ]
        );
    }

    #[test]
    fn the_oldest_is_kept_when_there_are_too_few_periods() {
        // Two months of nights, keep_monthly 6: the newest of each month and the oldest night.
        let last = day("2026-02-28");
        let backups = history(last, 59, |_| Night::Good);
        let p = policy(PolicyValues {
            keep_monthly: Some(6),
            keep_min: Some(0),
            ..Default::default()
        });
        let decisions = select(&p, &backups, last);
        assert_eq!(
            lines(&decisions)
                .into_iter()
                .filter(|l| !l.ends_with("remove"))
                .collect::<Vec<_>>(),
            [
                "2026-02-28 keep monthly",
                "2026-01-31 keep monthly",
                "2026-01-01 keep oldest-monthly"
            ]
        );
        // With exactly enough periods, no extra oldest one.
        let p2 = policy(PolicyValues {
            keep_monthly: Some(2),
            keep_min: Some(0),
            ..Default::default()
        });
        assert_eq!(
            kept(&select(&p2, &backups, last)),
            ["2026-02-28", "2026-01-31"]
        );
    }

    #[test]
    fn failed_nights_are_never_kept_by_a_rule_but_the_floor_keeps_each_peers_last_copy() {
        // Ten nights; peer b failed on the last four.
        let last = day("2026-05-10");
        let backups = history(
            last,
            10,
            |back| {
                if back < 4 {
                    Night::Failed
                } else {
                    Night::Good
                }
            },
        );
        let p = policy(PolicyValues {
            keep_last: Some(2),
            ..Default::default()
        });
        let decisions = select(&p, &backups, last);
        assert_eq!(
            lines(&decisions)[..7],
            [
                "2026-05-10 keep min:a (not good)",
                "2026-05-09 remove (not good)",
                "2026-05-08 remove (not good)",
                "2026-05-07 remove (not good)",
                "2026-05-06 keep last min:b",
                "2026-05-05 keep last",
                "2026-05-04 remove",
            ]
        );
        assert!(!decisions[0].good && decisions[4].good);
        // A floor of 3 keeps b's three newest good copies, and a's on the failed nights.
        let p3 = policy(PolicyValues {
            keep_last: Some(1),
            keep_min: Some(3),
            ..Default::default()
        });
        assert_eq!(
            kept(&select(&p3, &backups, last)),
            [
                "2026-05-10",
                "2026-05-09",
                "2026-05-08",
                "2026-05-06",
                "2026-05-05",
                "2026-05-04"
            ]
        );
        // A skipped peer is no failure: the day is good.
        let skipped = Backup {
            day: last.plus(1),
            pinned: false,
            peers: vec![
                ("a".into(), CopyState::Good),
                ("b".into(), CopyState::Skipped),
            ],
        };
        let incomplete = Backup {
            day: last.plus(2),
            pinned: false,
            peers: vec![("a".into(), CopyState::Incomplete)],
        };
        assert!(skipped.is_good() && !incomplete.is_good());
    }

    #[test]
    fn a_year_of_nights_across_year_ends_and_dst_changes() {
        // 400 nights generated with the calendar's own day stepping, through two DST changes
        // in Europe and the US and the 2025/2026 year end; every 7th night missed, every 11th
        // failed.
        let first = Today::parse("2025-01-01").unwrap();
        let backups: Vec<Backup> = (0..400)
            .filter(|n| n % 7 != 3)
            .map(|n| {
                let today = first.days_after(n);
                let state = if n % 11 == 5 {
                    CopyState::Failed
                } else {
                    CopyState::Good
                };
                Backup {
                    day: Day::of(&today),
                    pinned: n == 40,
                    peers: vec![("a".into(), state)],
                }
            })
            .collect();
        let last = Day::of(&first.days_after(399));
        assert_eq!(last.to_string(), "2026-02-04");
        let p = policy(PolicyValues {
            keep_daily: Some(7),
            keep_weekly: Some(4),
            keep_monthly: Some(12),
            keep_yearly: Some(3),
            ..Default::default()
        });
        let decisions = select(&p, &backups, last);
        let with = |reason: Reason| -> Vec<String> {
            decisions
                .iter()
                .filter(|d| d.reasons.contains(&reason))
                .map(|d| d.day.to_string())
                .collect()
        };
        // Daily: seven distinct nights, all good, newest first, one per date across the
        // DST-free February.
        assert_eq!(with(Reason::Rule(Rule::Daily)).len(), 7);
        // The yearly copy of 2025 is its newest good night, 31 December (n = 364 is neither
        // missed nor failed); the third slot keeps the oldest night.
        assert_eq!(
            with(Reason::Rule(Rule::Yearly)),
            ["2026-02-04", "2025-12-31"]
        );
        assert_eq!(with(Reason::Oldest(Rule::Yearly)), ["2025-01-01"]);
        // Monthly: the newest good night of each month, including March and October (the
        // months of the DST changes), never a failed one.
        let monthly = with(Reason::Rule(Rule::Monthly));
        assert_eq!(monthly.len(), 12);
        assert!(monthly.contains(&"2025-03-31".to_string()), "{monthly:?}");
        assert!(monthly.contains(&"2025-10-31".to_string()), "{monthly:?}");
        for d in &decisions {
            if !d.good {
                assert!(
                    d.reasons
                        .iter()
                        .all(|r| matches!(r, Reason::Pin | Reason::Min(_))),
                    "{}",
                    d.line()
                );
            }
        }
        // Weekly across the year end: Monday 2025-12-29 to Sunday 2026-01-04 is one week.
        let weekly = with(Reason::Rule(Rule::Weekly));
        assert_eq!(weekly.len(), 4);
        assert_eq!(with(Reason::Pin), ["2025-02-10"]);
        let removed = decisions.iter().filter(|d| !d.keep()).count();
        assert_eq!(removed + kept(&decisions).len(), backups.len());
        // The same history stepped through the DST change at 2025-03-30 yields consecutive
        // days, one per night.
        let before = Day::of(&Today::parse("2025-03-29").unwrap());
        assert_eq!(
            Day::of(&Today::parse("2025-03-31").unwrap()),
            before.plus(2)
        );
    }

    #[test]
    fn within_counts_back_from_the_newest_good_day_and_future_days_stay() {
        let last = day("2026-03-31");
        let backups = history(last, 70, |back| {
            if back == 0 {
                Night::Failed
            } else {
                Night::Good
            }
        });
        let p = policy(PolicyValues {
            keep_within: Some("1m"),
            keep_min: Some(0),
            ..Default::default()
        });
        let decisions = select(&p, &backups, last);
        // The newest good day is 30 March; one month before it is 2 March; kept: after it.
        let kept_days = kept(&decisions);
        assert_eq!(kept_days.first().unwrap(), "2026-03-30");
        assert_eq!(kept_days.last().unwrap(), "2026-03-03");
        assert_eq!(kept_days.len(), 28);
        assert_eq!(
            Within::parse("1m").unwrap().cutoff(day("2026-03-30")),
            day("2026-03-02")
        );

        // A day dated after today is never removed, and takes no slot of keep_last.
        let mut with_future = history(day("2026-03-10"), 5, |_| Night::Good);
        with_future.push(Backup {
            day: day("2027-01-01"),
            pinned: false,
            peers: vec![("a".into(), CopyState::Failed)],
        });
        with_future.push(Backup {
            day: day("2026-12-01"),
            pinned: false,
            peers: vec![("a".into(), CopyState::Good)],
        });
        let last2 = policy(PolicyValues {
            keep_last: Some(2),
            keep_min: Some(0),
            ..Default::default()
        });
        assert_eq!(
            lines(&select(&last2, &with_future, day("2026-03-10")))[..4],
            [
                "2027-01-01 keep future (not good)",
                "2026-12-01 keep future",
                "2026-03-10 keep last",
                "2026-03-09 keep last",
            ]
        );
        // Nor is it the newest good day keep_within counts back from, nor one of the floor's
        // copies: a good day in 2027 would otherwise have every day of 2026 removed.
        let within = policy(PolicyValues {
            keep_within: Some("3d"),
            keep_min: Some(1),
            ..Default::default()
        });
        assert_eq!(
            lines(&select(&within, &with_future, day("2026-03-10"))),
            [
                "2027-01-01 keep future (not good)",
                "2026-12-01 keep future",
                "2026-03-10 keep within min:a min:b",
                "2026-03-09 keep within",
                "2026-03-08 keep within",
                "2026-03-07 remove",
                "2026-03-06 remove",
            ]
        );
    }
}
