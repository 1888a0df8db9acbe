//! Compact storage of per-operation measurements: a start time (unix ns, `u64`) and a
//! duration (ns, `u32`, 12 bytes per operation). The rare duration of 4.29 s or more goes to a
//! side list, so nothing is truncated.

/// Durations at or above this are kept in the side list.
const LONG: u32 = u32::MAX;

/// (start unix ns, duration ns) pairs in insertion order.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    starts: Vec<u64>,
    durations: Vec<u32>,
    /// (index, duration) of durations that do not fit in a `u32`, by increasing index.
    long: Vec<(usize, u64)>,
}

impl Samples {
    /// An empty list.
    pub fn new() -> Samples {
        Samples::default()
    }

    /// Appends one measurement.
    pub fn push(&mut self, start_ns: u64, duration_ns: u64) {
        match u32::try_from(duration_ns) {
            Ok(d) if d != LONG => self.durations.push(d),
            _ => {
                self.long.push((self.starts.len(), duration_ns));
                self.durations.push(LONG);
            }
        }
        self.starts.push(start_ns);
    }

    /// Number of measurements.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The measurement at `i`.
    pub fn get(&self, i: usize) -> (u64, u64) {
        let d = self.durations[i];
        let d = if d == LONG {
            let at = self
                .long
                .binary_search_by_key(&i, |&(idx, _)| idx)
                .expect("long durations are indexed");
            self.long[at].1
        } else {
            u64::from(d)
        };
        (self.starts[i], d)
    }

    /// All measurements, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_short_and_long_durations() {
        let mut s = Samples::new();
        let input = [
            (1, 0),
            (2, 1_272_716),
            (3, u64::from(u32::MAX) - 1),
            (4, u64::from(u32::MAX)),
            (5, 5_415_000_000),
            (6, 7),
        ];
        for (start, d) in input {
            s.push(start, d);
        }
        assert_eq!(s.len(), 6);
        assert_eq!(s.iter().collect::<Vec<_>>(), input);
    }
}
