//! Dense storage keyed by offset, sequence number or partition.

use std::collections::BTreeMap;

/// A value whose default means "nothing here", so that dense storage needs no
/// `Option` around it (which would cost up to 8 bytes per record).
pub(super) trait Cell: Default {
    fn is_empty(&self) -> bool;
}

/// Keys the vector may grow by beyond twice the number of keys placed: enough
/// for a partition that starts at a small offset, too little for any waste.
const SLACK: usize = 16;

/// A map from `i64` keys to cells. Keys that are dense (the offsets of a
/// partition, the sequence numbers of a producer, partition numbers) live in a
/// vector indexed by key; outliers (negative or astronomically large keys in a
/// nonsensical ledger) live in a B-tree. The vector never grows past
/// `2 * placed + SLACK` cells, `placed` counting the keys that grew it or went
/// to the tree, so memory stays proportional to the entries that touched it.
#[derive(Debug)]
pub(super) struct Slots<T> {
    base: i64,
    dense: Vec<T>,
    sparse: BTreeMap<i64, T>,
    placed: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots { base: 0, dense: Vec::new(), sparse: BTreeMap::new(), placed: 0 }
    }
}

/// Maps nest (per producer, then per seq): a map is there once touched.
impl<T: Cell> Cell for Slots<T> {
    fn is_empty(&self) -> bool {
        self.dense.is_empty() && self.sparse.is_empty()
    }
}

impl<T: Cell> Slots<T> {
    pub fn get(&self, key: i64) -> Option<&T> {
        let cell = match self.index(key) {
            Some(i) if i < self.dense.len() => self.dense.get(i),
            _ => self.sparse.get(&key),
        };
        cell.filter(|cell| !cell.is_empty())
    }

    /// The cell for `key`, created empty if need be.
    #[inline]
    pub fn get_mut(&mut self, key: i64) -> &mut T {
        match self.index(key) {
            Some(i) if i < self.dense.len() => &mut self.dense[i],
            _ => self.place(key),
        }
    }

    /// Empties the cell for `key`.
    pub fn clear(&mut self, key: i64) {
        match self.index(key) {
            Some(i) if i < self.dense.len() => self.dense[i] = T::default(),
            _ => {
                self.sparse.remove(&key);
            }
        }
    }

    /// Non-empty cells in key order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &T)> {
        let end = self.base.saturating_add(i64::try_from(self.dense.len()).unwrap_or(i64::MAX));
        let below = self.sparse.range(..self.base).map(|(&k, v)| (k, v));
        let dense = self.dense.iter().enumerate().filter_map(|(i, cell)| {
            let key = i64::try_from(i).ok().and_then(|i| self.base.checked_add(i))?;
            Some((key, cell))
        });
        let above = self.sparse.range(end..).map(|(&k, v)| (k, v));
        below.chain(dense).chain(above).filter(|(_, cell)| !cell.is_empty())
    }

    /// Where `key` falls in the vector, if at or above the base.
    fn index(&self, key: i64) -> Option<usize> {
        key.checked_sub(self.base).and_then(|i| usize::try_from(i).ok())
    }

    /// A key outside the vector: grows the vector to it if it stays dense
    /// enough, else keeps it aside.
    fn place(&mut self, key: i64) -> &mut T {
        if self.dense.is_empty() && self.sparse.is_empty() {
            self.base = if (0..=SLACK as i64).contains(&key) { 0 } else { key };
        }
        match self.index(key) {
            Some(i) if i <= self.placed.saturating_mul(2).saturating_add(SLACK) => {
                self.placed += 1;
                self.grow(i + 1);
                &mut self.dense[i]
            }
            _ => self.sparse.entry(key).or_insert_with(|| {
                self.placed += 1;
                T::default()
            }),
        }
    }

    /// Extends the vector to `len` cells, moving in any outliers it now covers.
    fn grow(&mut self, len: usize) {
        let from = self.base.saturating_add(i64::try_from(self.dense.len()).unwrap_or(i64::MAX));
        let to = self.base.saturating_add(i64::try_from(len).unwrap_or(i64::MAX));
        self.dense.resize_with(len, T::default);
        if self.sparse.is_empty() {
            return;
        }
        let covered: Vec<i64> = self.sparse.range(from..to).map(|(&k, _)| k).collect();
        for key in covered {
            let slot = self.index(key).and_then(|i| self.dense.get_mut(i));
            if let (Some(cell), Some(slot)) = (self.sparse.remove(&key), slot) {
                *slot = cell;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, PartialEq)]
    struct Mark(u8);

    impl Cell for Mark {
        fn is_empty(&self) -> bool {
            self.0 == 0
        }
    }

    fn key() -> impl Strategy<Value = i64> {
        prop_oneof![8 => 0..40i64, 1 => -5..5i64, 1 => any::<i64>(), 1 => Just(i64::MAX), 1 => Just(i64::MIN)]
    }

    proptest! {
        /// Behaves as a map whatever the keys: dense, sparse, below or above
        /// the vector, or moved into it as it grows.
        #[test]
        fn slots_are_a_map(ops in proptest::collection::vec((key(), 0..3u8), 0..200)) {
            let mut slots: Slots<Mark> = Slots::default();
            let mut model: BTreeMap<i64, u8> = BTreeMap::new();
            for (k, v) in ops {
                if v == 0 {
                    slots.clear(k);
                    model.remove(&k);
                } else {
                    slots.get_mut(k).0 = v;
                    model.insert(k, v);
                }
                prop_assert_eq!(slots.get(k).map(|m| m.0), model.get(&k).copied());
            }
            let all: Vec<(i64, u8)> = slots.iter().map(|(k, m)| (k, m.0)).collect();
            prop_assert_eq!(all, model.into_iter().collect::<Vec<_>>());
            prop_assert!(slots.dense.len() <= 2 * slots.placed + SLACK + 1);
        }
    }
}
