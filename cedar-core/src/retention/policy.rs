//! The keep elements of one place (a `<purge><dir>` on the staging directory, or
//! `<amazons3>`), checked into a [`Policy`].

use std::fmt;

use super::duration::{DurationError, Within};

/// The keep elements as written: counts as the configuration reads integers, the duration as
/// text. All `None` means no policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyValues<'a> {
    pub keep_last: Option<i64>,
    pub keep_daily: Option<i64>,
    pub keep_weekly: Option<i64>,
    pub keep_monthly: Option<i64>,
    pub keep_yearly: Option<i64>,
    pub keep_within: Option<&'a str>,
    pub keep_min: Option<i64>,
}

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("<{element}>: `{value}` is negative; write a count of 0 or more")]
    Negative { element: &'static str, value: i64 },
    #[error("<keep_within>: {source}")]
    Within {
        #[source]
        source: DurationError,
    },
    #[error("the policy keeps nothing by its rules; give one of <keep_last>, <keep_daily>, <keep_weekly>, <keep_monthly>, <keep_yearly> a count above 0, or <keep_within> a duration above 0 (<keep_min> is only a floor)")]
    Empty,
}

/// A checked policy. Counts of 0 keep nothing by that rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub last: u64,
    pub daily: u64,
    pub weekly: u64,
    pub monthly: u64,
    pub yearly: u64,
    pub within: Within,
    /// The floor: each peer's `min` newest good copies stay (1 when not given).
    pub min: u64,
}

impl Policy {
    /// The policy of `values`: `None` when no keep element is given; refused when a value is
    /// malformed or no rule keeps anything.
    pub fn from_values(values: &PolicyValues<'_>) -> Result<Option<Policy>, PolicyError> {
        let v = values;
        if v.keep_last.is_none()
            && v.keep_daily.is_none()
            && v.keep_weekly.is_none()
            && v.keep_monthly.is_none()
            && v.keep_yearly.is_none()
            && v.keep_within.is_none()
            && v.keep_min.is_none()
        {
            return Ok(None);
        }
        let count = |element: &'static str, value: Option<i64>| -> Result<u64, PolicyError> {
            match value {
                None => Ok(0),
                Some(n) => {
                    u64::try_from(n).map_err(|_| PolicyError::Negative { element, value: n })
                }
            }
        };
        let within = match v.keep_within {
            None => Within::default(),
            Some(text) => Within::parse(text).map_err(|source| PolicyError::Within { source })?,
        };
        let policy = Policy {
            last: count("keep_last", v.keep_last)?,
            daily: count("keep_daily", v.keep_daily)?,
            weekly: count("keep_weekly", v.keep_weekly)?,
            monthly: count("keep_monthly", v.keep_monthly)?,
            yearly: count("keep_yearly", v.keep_yearly)?,
            within,
            min: match v.keep_min {
                None => 1,
                Some(n) => count("keep_min", Some(n))?,
            },
        };
        let rules = [
            policy.last,
            policy.daily,
            policy.weekly,
            policy.monthly,
            policy.yearly,
        ];
        if rules.iter().all(|&n| n == 0) && policy.within.is_zero() {
            return Err(PolicyError::Empty);
        }
        Ok(Some(policy))
    }
}

/// `keep_last 7, keep_daily 14, keep_within 30d, keep_min 1`: the rules in force.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, n) in [
            ("keep_last", self.last),
            ("keep_daily", self.daily),
            ("keep_weekly", self.weekly),
            ("keep_monthly", self.monthly),
            ("keep_yearly", self.yearly),
        ] {
            if n > 0 {
                parts.push(format!("{name} {n}"));
            }
        }
        if !self.within.is_zero() {
            parts.push(format!("keep_within {}", self.within));
        }
        parts.push(format!("keep_min {}", self.min));
        write!(f, "{}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_element_is_no_policy_and_an_empty_policy_is_refused() {
        assert_eq!(Policy::from_values(&PolicyValues::default()), Ok(None));
        let only_min = PolicyValues {
            keep_min: Some(3),
            ..Default::default()
        };
        assert_eq!(Policy::from_values(&only_min), Err(PolicyError::Empty));
        let zeros = PolicyValues {
            keep_daily: Some(0),
            keep_within: Some("0d"),
            ..Default::default()
        };
        assert_eq!(Policy::from_values(&zeros), Err(PolicyError::Empty));
        assert!(PolicyError::Empty
            .to_string()
            .contains("keep_min> is only a floor"));
    }

    #[test]
    fn values_are_checked_and_min_defaults_to_one() {
        let daily = PolicyValues {
            keep_daily: Some(7),
            ..Default::default()
        };
        let policy = Policy::from_values(&daily).unwrap().unwrap();
        assert_eq!((policy.daily, policy.min), (7, 1));
        assert_eq!(policy.to_string(), "keep_daily 7, keep_min 1");
        let negative = PolicyValues {
            keep_weekly: Some(-1),
            ..daily
        };
        assert_eq!(
            Policy::from_values(&negative),
            Err(PolicyError::Negative {
                element: "keep_weekly",
                value: -1
            })
        );
        let bad_within = PolicyValues {
            keep_within: Some("a month"),
            ..daily
        };
        let err = Policy::from_values(&bad_within).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("<keep_within>: `a month` is not a duration"),
            "{err}"
        );
        let within = PolicyValues {
            keep_within: Some("6m"),
            keep_min: Some(0),
            ..Default::default()
        };
        let policy = Policy::from_values(&within).unwrap().unwrap();
        assert_eq!(policy.to_string(), "keep_within 6m, keep_min 0");
    }
}
