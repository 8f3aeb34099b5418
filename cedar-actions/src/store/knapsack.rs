//! The fitting algorithms cback-span uses to split files over discs. Each walks the items in
//! its own order, takes an item when it still fits, and stops when the remaining space is
//! exactly 0:
//! - first: in listing order;
//! - best: largest first;
//! - worst: smallest first;
//! - alternate: sorted by size, taken alternately from the small end and the large end.
//!
//! Sorts are stable, so items of equal size keep their listing order (as in the original).

/// A fitting algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    First,
    Best,
    Worst,
    Alternate,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [
        Algorithm::First,
        Algorithm::Best,
        Algorithm::Worst,
        Algorithm::Alternate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::First => "first",
            Algorithm::Best => "best",
            Algorithm::Worst => "worst",
            Algorithm::Alternate => "alternate",
        }
    }

    pub fn parse(text: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == text)
    }

    /// The order in which the algorithm looks at `sizes` (indices).
    fn order(self, sizes: &[u64]) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..sizes.len()).collect();
        match self {
            Algorithm::First => {}
            Algorithm::Best => idx.sort_by(|a, b| sizes[*b].cmp(&sizes[*a])),
            Algorithm::Worst => idx.sort_by_key(|i| sizes[*i]),
            Algorithm::Alternate => {
                idx.sort_by_key(|i| sizes[*i]);
                let mut out = Vec::with_capacity(idx.len());
                let (mut lo, mut hi) = (0usize, idx.len());
                let mut small = true;
                while lo < hi {
                    if small {
                        out.push(idx[lo]);
                        lo += 1;
                    } else {
                        hi -= 1;
                        out.push(idx[hi]);
                    }
                    small = !small;
                }
                idx = out;
            }
        }
        idx
    }

    /// The items (indices into `sizes`, in the order taken) that go into one disc of
    /// `capacity` bytes, and their total.
    pub fn fit(self, sizes: &[u64], capacity: f64) -> (Vec<usize>, u64) {
        let mut taken = Vec::new();
        let mut total = 0u64;
        for i in self.order(sizes) {
            if capacity - total as f64 == 0.0 {
                break;
            }
            if (total + sizes[i]) as f64 <= capacity {
                taken.push(i);
                total += sizes[i];
            }
        }
        (taken, total)
    }
}

/// Why items cannot be split over discs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplitError {
    #[error("item {index} ({size} bytes) is larger than a disc ({capacity:.0} bytes)")]
    TooLarge {
        index: usize,
        size: u64,
        capacity: f64,
    },
    #[error("a disc of {capacity:.0} bytes holds nothing; use a smaller cushion")]
    NoRoom { capacity: f64 },
}

/// Splits all items into discs, running the algorithm again on what is left until nothing
/// remains. Each disc lists indices into `sizes`.
pub fn split(
    algorithm: Algorithm,
    sizes: &[u64],
    capacity: f64,
) -> Result<Vec<Vec<usize>>, SplitError> {
    if let Some((index, &size)) = sizes.iter().enumerate().find(|(_, &s)| s as f64 > capacity) {
        return Err(SplitError::TooLarge {
            index,
            size,
            capacity,
        });
    }
    let mut left: Vec<usize> = (0..sizes.len()).collect();
    let mut discs = Vec::new();
    while !left.is_empty() {
        let left_sizes: Vec<u64> = left.iter().map(|&i| sizes[i]).collect();
        let (taken, _) = algorithm.fit(&left_sizes, capacity);
        if taken.is_empty() {
            return Err(SplitError::NoRoom { capacity });
        }
        let chosen: Vec<usize> = taken.iter().map(|&j| left[j]).collect();
        let mut keep = vec![true; left.len()];
        for &j in &taken {
            keep[j] = false;
        }
        left = left
            .iter()
            .zip(keep)
            .filter_map(|(&i, k)| k.then_some(i))
            .collect();
        discs.push(chosen);
    }
    Ok(discs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results of the original's knapsack functions on {a:5, b:3, c:8, d:1, e:4}, capacity 9.
    #[test]
    fn the_originals_example() {
        let sizes = [5, 3, 8, 1, 4];
        let names = |v: Vec<usize>| v.iter().map(|&i| b"abcde"[i] as char).collect::<String>();
        let run = |a: Algorithm| {
            let (taken, total) = a.fit(&sizes, 9.0);
            (names(taken), total)
        };
        assert_eq!(run(Algorithm::First), ("abd".into(), 9));
        assert_eq!(run(Algorithm::Best), ("cd".into(), 9));
        assert_eq!(run(Algorithm::Worst), ("dbe".into(), 8));
        assert_eq!(run(Algorithm::Alternate), ("dc".into(), 9));
    }

    #[test]
    fn split_until_nothing_is_left() {
        let sizes = [300, 300, 300, 300, 300, 300, 6, 4, 2, 0];
        let discs = split(Algorithm::Best, &sizes, 681.0).unwrap();
        assert_eq!(discs.len(), 3);
        let mut all: Vec<usize> = discs.concat();
        all.sort();
        assert_eq!(all, (0..sizes.len()).collect::<Vec<_>>());
        assert!(matches!(
            split(Algorithm::First, &[10, 700], 681.0),
            Err(SplitError::TooLarge { index: 1, .. })
        ));
        assert!(split(Algorithm::Worst, &[], 10.0).unwrap().is_empty());
        assert!(matches!(
            split(Algorithm::Worst, &[0], 0.0),
            Err(SplitError::NoRoom { .. })
        ));
    }
}
