//! Reading the ledger into the checker's state, one entry at a time. What
//! can be judged on the spot (redelivery, nonmonotonic, commit-regression,
//! duplicate-write) is judged here.

use super::groups::{Commit, GroupId, Rebalance, SeekRange};
use super::intern::Sym;
use super::marks::{ExtraCopy, Jump, SeekMark};
use super::members::Step;
use super::pos::Pos;
use super::timeline::SpanEnd;
use super::{Checker, Class, Finding, RecordRef};
use crate::ledger::{Entry, Event, Offset, Partition, RecordId, Role, PROTOCOL_VERSION};

/// The entry being read.
#[derive(Clone, Copy)]
struct At<'a> {
    pos: Pos,
    t: u64,
    src: &'a str,
}

impl At<'_> {
    fn finding(&self, class: Class, group: &str, records: Vec<RecordRef>, detail: String) -> Finding {
        Finding { class, t: self.t, group: Some(group.to_owned()), src: Some(self.src.to_owned()), records, detail }
    }
}

impl Checker {
    /// Reads the next entry of the ledger.
    pub fn push(&mut self, entry: &Entry) {
        let at = At { pos: Pos::of_index(self.entries), t: entry.t, src: &entry.src };
        self.entries += 1;
        self.timeline.record(at.pos, at.t);
        self.plot.saw(at.t);
        match &entry.ev {
            Event::Started { role: Role::Consumer, group } => {
                let member = self.started(at.t, at.src, group.as_deref());
                self.plot.started(member, at.t);
            }
            Event::Exited { code, signal } => {
                let member = self.names.intern(at.src);
                self.members.exited(member);
                self.recovery.exited(member);
                self.plot.exited(member, at.t, *code, *signal);
            }
            Event::ClientError { .. } => {
                self.totals.client_errors += 1;
                let member = self.names.intern(at.src);
                if let Some(group) = self.members.group(member) {
                    self.recovery.sign(at.t, group);
                }
            }
            Event::Hello { protocol, client, version } => self.hello(at, *protocol, client, version),
            Event::Unreadable { line, why } => {
                let line: String = line.chars().take(120).collect();
                self.violation(at, format!("{} wrote a line that is not a worker's event: {line:?} ({why})", at.src));
            }
            Event::Sent { id, .. } => {
                self.totals.sent += 1;
                self.writes.sent(*id);
            }
            Event::Acked { id, p, o } => {
                self.totals.acked += 1;
                self.plot.acked(at.t);
                self.writes.acked(at.pos, *id, *p, *o);
            }
            Event::Failed { .. } => self.totals.failed += 1,
            Event::Assigned { parts, generation } => {
                let member = self.rebalanced(at, parts, *generation, true);
                self.plot.assigned(member, at.t, parts, *generation);
            }
            Event::Revoked { parts, generation } => {
                let member = self.rebalanced(at, parts, *generation, false);
                self.plot.closed(member, at.t, Some(parts), SpanEnd::Revoked);
            }
            Event::Lost { parts, generation } => {
                let member = self.rebalanced(at, parts, *generation, false);
                self.plot.closed(member, at.t, Some(parts), SpanEnd::Lost);
            }
            Event::Finished => {
                let member = self.names.intern(at.src);
                self.recovery.finished(member);
            }
            Event::Processed { p, o, id } => self.processed(at, *p, *o, *id),
            Event::Committed { p, o, err: None } => {
                self.totals.commits_ok += 1;
                let (_, group) = self.member(at);
                self.committed(at, group, *p, *o, false);
            }
            Event::Committed { err: Some(_), .. } => self.totals.commit_errors += 1,
            Event::Seek { p, from, to } => self.seek(at, *p, *from, *to),
            Event::Snapshot { group, p, hwm } => {
                let group = self.groups.id(group);
                let group = self.groups.get(group);
                group.bounded = true;
                group.parts.get_mut(i64::from(*p)).snapshot = Some(*hwm);
            }
            Event::FaultStart { id, kind, target, role } => {
                // Reports say which broker a role was: "broker-2 (coordinator of group G)".
                let named;
                let target = match role {
                    Some(role) => {
                        named = format!("{target} ({role})");
                        &named
                    }
                    None => target,
                };
                self.totals.faults += 1;
                self.causes.fault(at.pos, *id, kind, target);
                self.recovery.fault_start(at.t, *id, kind, target);
                self.plot.fault_start(at.t, *id, kind, target);
            }
            Event::FaultEnd { id, err } => {
                self.recovery.fault_end(at.t, *id);
                self.plot.fault_end(at.t, *id, err);
            }
            Event::Phase { name } => {
                match name.as_str() {
                    "stop" => self.recovery.stop(),
                    "audit" => self.logs.mark_begin(),
                    _ => {}
                }
                self.plot.phase(at.t, name);
            }
            Event::DrainTimeout { group: name } => {
                self.plot.drain_timeout(at.t, name);
                let group = self.groups.id(name);
                let group = self.groups.get(group);
                if group.drained {
                    group.drained = false;
                    self.drain_timeouts.push(name.clone());
                }
            }
            Event::Audit { p, o, id } => self.audit(at, *p, *o, *id),
            Event::Hwm { p, o } => self.logs.hwm(*p, *o),
            Event::AuditEnd => self.logs.mark_end(),
            Event::GroupOffset { group, p, o } => {
                let group = self.groups.id(group);
                self.committed(at, group, *p, *o, true);
            }
            Event::Started { role: Role::Producer, .. }
            | Event::FetchPaused { .. }
            | Event::FetchResumed { .. }
            | Event::HoldingRecord { .. } => {}
        }
    }

    fn started(&mut self, t: u64, src: &str, group: Option<&str>) -> Sym {
        let member = self.names.intern(src);
        let group = self.groups.id(group.unwrap_or(src));
        self.recovery.started(t, group);
        self.members.start(member, group);
        self.groups.join(group, member);
        self.plot.joined(member, group);
        member
    }

    /// The member behind `src` and its group. A consumer that reports
    /// before `started` breaks the protocol; it forms a group of its own,
    /// named after it, so that its reports are still counted.
    fn member(&mut self, at: At) -> (Sym, GroupId) {
        let member = self.names.intern(at.src);
        match self.members.group(member) {
            Some(group) => (member, group),
            None => {
                self.violation(at, format!("{} reported before `started`", at.src));
                self.started(at.t, at.src, None);
                (member, self.groups.id(at.src))
            }
        }
    }

    fn hello(&mut self, at: At, protocol: u32, client: &str, version: &str) {
        let client = format!("{client} {version}");
        if !self.clients.contains(&client) {
            self.clients.push(client);
        }
        if protocol != PROTOCOL_VERSION {
            let detail = format!("{} speaks worker protocol {protocol}; faultline speaks {PROTOCOL_VERSION}", at.src);
            self.violation(at, detail);
        }
    }

    fn violation(&mut self, at: At, detail: String) {
        self.tally.add(Class::ProtocolViolation, 1, at.pos, || Finding {
            class: Class::ProtocolViolation,
            t: at.t,
            group: None,
            src: Some(at.src.to_owned()),
            records: Vec::new(),
            detail,
        });
    }

    fn rebalanced(&mut self, at: At, parts: &[Partition], generation: i32, assigned: bool) -> Sym {
        let (member, group) = self.member(at);
        if assigned {
            self.members.assigned(member, parts);
            self.recovery.assigned(at.t, member, group, parts);
        } else {
            self.members.revoked(member, parts);
            self.recovery.released(at.t, member, parts);
        }
        self.groups.get(group).rebalance = Some(Rebalance { generation, pos: at.pos });
        self.generations.insert((group, generation));
        member
    }

    fn processed(&mut self, at: At, p: Partition, o: Offset, id: RecordId) {
        self.totals.processed += 1;
        self.plot.processed(at.t);
        let (member, group_id) = self.member(at);
        let step = self.members.processed(member, p, o);
        if step.is_none() {
            self.violation(at, format!("{} processed p{p}@{o} while not assigned p{p}", at.src));
        }
        let group = self.groups.get(group_id);
        group.processed += 1;
        let record = RecordRef { p, o, id: Some(id) };
        if group.parts.get_mut(i64::from(p)).processed(at.pos, member, o, id) {
            group.redelivered += 1;
            self.plot.redelivered(at.t);
            let blame = self.causes.blame(group.rebalance);
            let causes = &self.causes;
            self.tally.add(Class::Redelivery, 1, at.pos, || {
                let detail = format!("{} processed {record} again; cause: {}", at.src, causes.describe(blame));
                at.finding(Class::Redelivery, &group.name, vec![record], detail)
            });
        } else {
            group.unique += 1;
            self.plot.unique(group_id, at.t);
        }
        match step.unwrap_or(Step::InOrder) {
            Step::InOrder => {}
            Step::Back { last } => self.tally.add(Class::Nonmonotonic, 1, at.pos, || {
                let detail =
                    format!("{} went back from p{p}@{last} to {record} within one assignment, without a seek", at.src);
                at.finding(Class::Nonmonotonic, &group.name, vec![record], detail)
            }),
            Step::Jump { max } => {
                self.jumps.push(Jump { pos: at.pos, t: at.t, member, group: group_id, p, from: max, to: o })
            }
        }
    }

    /// A commit observation: a member's successful commit, or the broker's
    /// final committed offset. Negative offsets mean "none" to Kafka.
    fn committed(&mut self, at: At, group: GroupId, p: Partition, o: Offset, by_broker: bool) {
        if o < 0 {
            return;
        }
        let src = self.names.intern(at.src);
        let group = self.groups.get(group);
        let commit = Commit { o, pos: at.pos, t: at.t, src, by_broker };
        if let Some(last) = group.parts.get_mut(i64::from(p)).committed(commit) {
            self.tally.add(Class::CommitRegression, 1, at.pos, || {
                let who =
                    if by_broker { "the final read of the group's offsets".to_owned() } else { at.src.to_owned() };
                let detail =
                    format!("{who} took group {}'s committed offset on p{p} back from {last} to {o}", group.name);
                at.finding(Class::CommitRegression, &group.name, vec![RecordRef { p, o, id: None }], detail)
            });
        }
    }

    fn seek(&mut self, at: At, p: Partition, from: Offset, to: Offset) {
        let (member, group) = self.member(at);
        self.members.seek(member, p);
        let part = self.groups.get(group).parts.get_mut(i64::from(p));
        part.seeks.push(SeekRange { from, to, pos: at.pos });
        self.seeks.offer(at.pos, || SeekMark { t: at.t, member, group, p, from, to });
    }

    fn audit(&mut self, at: At, p: Partition, o: Offset, id: RecordId) {
        self.totals.audited += 1;
        if !self.logs.audit(at.pos, p, o, id) {
            return;
        }
        if self.writes.audited(id) {
            self.tally.count(Class::DuplicateWrite, 1);
            self.copies.offer(at.pos, || ExtraCopy { pos: at.pos, t: at.t, id });
        }
    }
}
