//! cback-span's fitting algorithms against vectors from the original's own functions
//! (`tests/data/knapsack-vectors.txt`): the same files are taken, in the same order, for the
//! same total.

use cedar_actions::knapsack::Algorithm;

const VECTORS: &str = include_str!("../../data/knapsack-vectors.txt");

fn numbers<T: std::str::FromStr>(field: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    field
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn the_same_choices_as_the_original() {
    let mut checked = 0;
    for line in VECTORS.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('|').collect();
        let (head, sizes, taken, total) = (fields[0], fields[1], fields[2], fields[3]);
        let (name, capacity) = head.trim().split_once(' ').unwrap();
        let algorithm = Algorithm::parse(name).unwrap();
        let capacity: f64 = capacity.parse().unwrap();
        let sizes: Vec<u64> = numbers(sizes);
        let (ours, our_total) = algorithm.fit(&sizes, capacity);
        assert_eq!(ours, numbers::<usize>(taken), "{line}");
        assert_eq!(our_total, total.trim().parse::<u64>().unwrap(), "{line}");
        checked += 1;
    }
    assert_eq!(checked, 1600);
}
