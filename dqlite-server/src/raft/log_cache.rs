//! The raft log's in-memory entry cache, shared by the log store (which inserts, truncates,
//! purges and reads entries) and the log thread (which marks them on disk and evicts).
//!
//! Entries stay in the cache until they are on disk; after that, at most [`CACHE_FLUSHED`]
//! of them and a byte budget of their encoded size (`--log-cache-bytes`) are kept (for
//! replication reads), oldest evicted first.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::Entry;

/// Entries kept in memory after they reached the disk (for replication reads).
const CACHE_FLUSHED: usize = 1024;

/// Recent entries by index; `bool` is "on disk".
pub(super) type Entries = BTreeMap<u64, (Entry, bool)>;

/// The cache of recent entries: one contiguous run of indexes ending at the last entry of
/// the log, flushed ones first.
#[derive(Default)]
pub(super) struct EntryCache {
    entries: Mutex<Entries>,
}

impl EntryCache {
    /// Locks the cache (a panic while it was held leaves it usable).
    pub(super) fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the cached `rows` `(index, encoded size)` as on disk, then evicts so that at
    /// most `cache_bytes` of flushed entries stay.
    pub(super) fn mark_flushed(
        &self,
        sizes: &mut Sizes,
        cache_bytes: usize,
        rows: impl Iterator<Item = (u64, usize)>,
    ) {
        let mut cache = self.lock();
        for (idx, len) in rows {
            if let Some(e) = cache.get_mut(&idx) {
                e.1 = true;
                sizes.insert(idx, len);
            }
        }
        evict(&mut cache, sizes, CACHE_FLUSHED, cache_bytes);
    }
}

/// Encoded sizes of the flushed entries in the cache, and their sum.
#[derive(Default)]
pub(super) struct Sizes {
    by_index: BTreeMap<u64, usize>,
    total: usize,
}

impl Sizes {
    fn insert(&mut self, idx: u64, len: usize) {
        if let Some(old) = self.by_index.insert(idx, len) {
            self.total -= old;
        }
        self.total += len;
    }

    fn remove(&mut self, idx: u64) {
        if let Some(old) = self.by_index.remove(&idx) {
            self.total -= old;
        }
    }
}

/// Drops the oldest flushed entries while more than `max_count` entries or `max_bytes` of
/// flushed ones are cached. Entries not yet on disk are never dropped (the cache is one run
/// of indexes, flushed ones first). Sizes of entries the log store removed itself (truncated
/// or purged) are forgotten first.
fn evict<E>(
    cache: &mut BTreeMap<u64, (E, bool)>,
    sizes: &mut Sizes,
    max_count: usize,
    max_bytes: usize,
) {
    // The store removes a prefix (purge) or a suffix (truncate) of the cache by itself: their
    // sizes lie outside the cache's range. Only those are visited, so this costs nothing per
    // append (scanning every size on every append cost ~15% CPU per write at 9 workers). A
    // truncated index appended again keeps its old size until it is flushed, which only
    // makes eviction a little early.
    let range = match (cache.first_key_value(), cache.last_key_value()) {
        (Some((&first, _)), Some((&last, _))) => first..=last,
        // An empty cache: every size goes.
        _ => std::ops::RangeInclusive::new(u64::MAX, 0),
    };
    while let Some(k) = sizes.by_index.first_key_value().map(|(k, _)| *k) {
        if range.contains(&k) {
            break;
        }
        sizes.remove(k);
    }
    while let Some(k) = sizes.by_index.last_key_value().map(|(k, _)| *k) {
        if range.contains(&k) {
            break;
        }
        sizes.remove(k);
    }
    while cache.len() > max_count || sizes.total > max_bytes {
        match cache.first_key_value() {
            Some((&k, (_, true))) => {
                cache.remove(&k);
                sizes.remove(k);
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushed_entries_are_bounded_by_bytes_and_unflushed_ones_stay() {
        let mut cache: BTreeMap<u64, ((), bool)> = BTreeMap::new();
        let mut sizes = Sizes::default();
        for idx in 1..=10 {
            cache.insert(idx, ((), idx <= 8));
        }
        for idx in 1..=8 {
            sizes.insert(idx, 100);
        }
        evict(&mut cache, &mut sizes, 1024, 350);
        assert_eq!(
            cache.keys().copied().collect::<Vec<_>>(),
            vec![6, 7, 8, 9, 10]
        );
        assert_eq!(sizes.total, 300);
        // Over the byte bound with nothing flushed left to drop: unflushed entries stay.
        evict(&mut cache, &mut sizes, 1024, 0);
        assert_eq!(cache.keys().copied().collect::<Vec<_>>(), vec![9, 10]);
        assert_eq!(sizes.total, 0);
    }

    #[test]
    fn sizes_of_entries_removed_by_the_store_are_forgotten() {
        let mut cache: BTreeMap<u64, ((), bool)> = BTreeMap::new();
        let mut sizes = Sizes::default();
        for idx in 1..=4 {
            cache.insert(idx, ((), true));
            sizes.insert(idx, 100);
        }
        // Purged by the store (not through `evict`).
        cache.remove(&1);
        cache.remove(&2);
        evict(&mut cache, &mut sizes, 1024, 250);
        assert_eq!(cache.len(), 2, "the purged sizes no longer count");
        assert_eq!(sizes.total, 200);
    }
}
