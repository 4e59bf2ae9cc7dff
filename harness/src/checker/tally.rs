//! Counts per class, and the first findings of each in ledger order.

use std::collections::BTreeMap;

use super::pos::Pos;
use super::verdict::{Class, Finding};

/// Findings kept per class.
pub(super) const FIRST: usize = 10;
/// Records listed per finding.
pub(super) const RECORDS: usize = 5;

/// The `FIRST` items with the earliest positions, whatever order they are
/// offered in. An item is only built if it gets in, so offering is cheap once
/// the list is full of earlier ones (the common case: offers mostly come in
/// ledger order).
#[derive(Debug)]
pub(super) struct Firsts<T> {
    items: Vec<(Pos, T)>,
}

impl<T> Default for Firsts<T> {
    fn default() -> Self {
        Firsts { items: Vec::new() }
    }
}

impl<T> Firsts<T> {
    pub fn offer(&mut self, pos: Pos, make: impl FnOnce() -> T) {
        if self.items.len() >= FIRST && self.items.last().is_some_and(|&(last, _)| pos >= last) {
            return;
        }
        // After equal positions, so ties keep the order they were offered in.
        let at = self.items.partition_point(|&(other, _)| other <= pos);
        self.items.insert(at, (pos, make()));
        self.items.truncate(FIRST);
    }

    pub fn into_vec(self) -> Vec<T> {
        self.items.into_iter().map(|(_, item)| item).collect()
    }
}

#[derive(Debug, Default)]
pub(super) struct Tally {
    counts: [u64; Class::ALL.len()],
    firsts: [Firsts<Finding>; Class::ALL.len()],
}

impl Tally {
    /// Counts `n` of `class`, revealed at `pos`; `make` describes it.
    pub fn add(&mut self, class: Class, n: u64, pos: Pos, make: impl FnOnce() -> Finding) {
        self.count(class, n);
        self.firsts[class.index()].offer(pos, make);
    }

    /// Counts `n` of `class`, described elsewhere.
    pub fn count(&mut self, class: Class, n: u64) {
        let i = class.index();
        self.counts[i] = self.counts[i].saturating_add(n);
    }

    /// Adds findings of `class` counted elsewhere.
    pub fn describe(&mut self, class: Class, findings: impl IntoIterator<Item = (Pos, Finding)>) {
        for (pos, finding) in findings {
            self.firsts[class.index()].offer(pos, || finding);
        }
    }

    pub fn into_maps(self) -> (BTreeMap<Class, u64>, BTreeMap<Class, Vec<Finding>>) {
        let counts = Class::ALL.into_iter().zip(self.counts).collect();
        let findings = Class::ALL.into_iter().zip(self.firsts.map(Firsts::into_vec)).collect();
        (counts, findings)
    }
}
