//! Attribution of redeliveries to the fault and the rebalance before them.

use std::collections::{BTreeMap, HashMap};

use super::groups::Rebalance;
use super::pos::Pos;
use super::verdict::Cause;

#[derive(Debug)]
struct Fault {
    id: u32,
    kind: String,
    target: String,
    pos: Pos,
}

/// What a redelivery is blamed on: the latest fault before it (an index into
/// the faults), and the group's latest rebalance unless that came before the
/// fault (the fault then explains more than an older rebalance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Blame {
    fault: Option<usize>,
    generation: Option<i32>,
}

#[derive(Debug, Default)]
pub(super) struct Causes {
    faults: Vec<Fault>,
    counts: HashMap<Blame, u64>,
}

impl Causes {
    pub fn fault(&mut self, pos: Pos, id: u32, kind: &str, target: &str) {
        self.faults.push(Fault { id, kind: kind.to_owned(), target: target.to_owned(), pos });
    }

    /// Counts one redelivery in a group whose latest rebalance is `rebalance`.
    pub fn blame(&mut self, rebalance: Option<Rebalance>) -> Blame {
        let fault = self.faults.len().checked_sub(1);
        let fault_pos = fault.and_then(|i| self.faults.get(i)).map(|f| f.pos);
        let generation = rebalance.filter(|r| fault_pos.is_none_or(|f| r.pos > f)).map(|r| r.generation);
        let blame = Blame { fault, generation };
        *self.counts.entry(blame).or_default() += 1;
        blame
    }

    pub fn describe(&self, blame: Blame) -> String {
        let fault = blame.fault.and_then(|i| self.faults.get(i));
        match (fault, blame.generation) {
            (Some(f), Some(g)) => format!("fault #{} {} {} (then generation {g})", f.id, f.kind, f.target),
            (Some(f), None) => format!("fault #{} {} {}", f.id, f.kind, f.target),
            (None, Some(g)) => format!("rebalance to generation {g}"),
            (None, None) => "no fault or rebalance before it".to_owned(),
        }
    }

    /// One row per cause, most redeliveries first. Blames that read the same
    /// (a fault id reused) share a row.
    pub fn rows(&self) -> Vec<Cause> {
        let mut rows: BTreeMap<String, Cause> = BTreeMap::new();
        for (&blame, &count) in &self.counts {
            let cause = self.describe(blame);
            let row = rows.entry(cause.clone()).or_insert_with(|| Cause {
                cause,
                fault: blame.fault.and_then(|i| self.faults.get(i)).map(|f| f.id),
                generation: blame.generation,
                count: 0,
            });
            row.count = row.count.saturating_add(count);
        }
        let mut rows: Vec<Cause> = rows.into_values().collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cause.cmp(&b.cause)));
        rows
    }
}
