//! Partition shapes: for each node, the nodes whose traffic it drops. Every shape is
//! symmetric (if a drops b, b drops a) and leaves every node reachable from the clients.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// The partitions the `partition` nemesis chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The leader alone on one side, every other node on the other.
    IsolateLeader,
    /// A random minority against the majority.
    Halves,
    /// Two halves that cannot talk, joined by one node that talks to both.
    Bridge,
    /// Each node talks only to its two neighbours on a random ring (five nodes or more).
    Ring,
}

impl Shape {
    /// The name recorded in the history.
    pub fn name(self) -> &'static str {
        match self {
            Shape::IsolateLeader => "isolate-leader",
            Shape::Halves => "halves",
            Shape::Bridge => "bridge",
            Shape::Ring => "ring",
        }
    }

    /// The shapes that mean something for `n` nodes.
    pub fn applicable(n: usize) -> Vec<Shape> {
        let mut shapes = vec![Shape::IsolateLeader, Shape::Halves, Shape::Bridge];
        if n >= 5 {
            shapes.push(Shape::Ring);
        }
        shapes
    }
}

/// The drop lists of `shape` over `n` nodes. `leader` is used by
/// [`Shape::IsolateLeader`] (a random node when unknown).
pub fn drops(shape: Shape, n: usize, leader: Option<usize>, rng: &mut StdRng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut cut = vec![vec![false; n]; n];
    let mut sever = |a: usize, b: usize| {
        cut[a][b] = true;
        cut[b][a] = true;
    };
    match shape {
        Shape::IsolateLeader => {
            let alone = leader
                .filter(|&l| l < n)
                .unwrap_or_else(|| rng.random_range(0..n));
            for other in (0..n).filter(|&o| o != alone) {
                sever(alone, other);
            }
        }
        Shape::Halves => {
            let (minority, majority) = order.split_at(n / 2);
            for &a in minority {
                for &b in majority {
                    sever(a, b);
                }
            }
        }
        Shape::Bridge => {
            // order[0] is the bridge; the rest split in two halves that cannot talk.
            let rest = &order[1..];
            let (left, right) = rest.split_at(rest.len() / 2);
            for &a in left {
                for &b in right {
                    sever(a, b);
                }
            }
        }
        Shape::Ring => {
            for (i, &a) in order.iter().enumerate() {
                for (j, &b) in order.iter().enumerate() {
                    let distance = (i + n - j) % n;
                    if a != b && distance != 1 && distance != n - 1 {
                        sever(a, b);
                    }
                }
            }
        }
    }
    cut.iter()
        .map(|row| (0..n).filter(|&b| row[b]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn symmetric(d: &[Vec<usize>]) -> bool {
        d.iter()
            .enumerate()
            .all(|(a, row)| row.iter().all(|&b| b != a && d[b].contains(&a)))
    }

    #[test]
    fn shapes_cut_what_they_say() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in [3, 5] {
            for shape in Shape::applicable(n) {
                for _ in 0..20 {
                    let d = drops(shape, n, Some(1), &mut rng);
                    assert!(symmetric(&d), "{shape:?} {d:?}");
                    // Some node can still reach a majority... except the isolated leader.
                    let talks = |a: usize| n - d[a].len();
                    match shape {
                        Shape::IsolateLeader => {
                            assert_eq!(d[1].len(), n - 1);
                            assert!((0..n).filter(|&a| a != 1).all(|a| d[a] == vec![1]));
                        }
                        Shape::Halves => {
                            let majority = (0..n).filter(|&a| talks(a) > n / 2).count();
                            assert_eq!(majority, n - n / 2, "{d:?}");
                        }
                        Shape::Bridge => {
                            assert_eq!((0..n).filter(|&a| d[a].is_empty()).count(), 1, "{d:?}");
                        }
                        Shape::Ring => assert!((0..n).all(|a| talks(a) == 3), "{d:?}"),
                    }
                }
            }
        }
        assert!(!Shape::applicable(3).contains(&Shape::Ring));
    }
}
