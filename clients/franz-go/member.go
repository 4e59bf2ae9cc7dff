package main

// The consumer: one member of a group, on franz-go's own group membership,
// commits and pause/resume. It mirrors the built-in librdkafka worker
// (harness/src/workers/consumer.rs) in what it reports and when.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// How long one poll waits for records before the loop looks at its
	// commands and its exit conditions again (the reference polls 100 ms).
	pollWait = 100 * time.Millisecond
	// Records per poll. One, as librdkafka's consumer poll hands over one
	// message: commands and exit conditions are seen between records, and
	// the rebalance callbacks (held back while a poll's records are being
	// processed, see BlockRebalanceOnPoll below) wait for one record only.
	maxPollRecords = 1
	// Listing high watermarks for seek_to_end.
	listTimeout = 10 * time.Second
)

type strategy int

const (
	auto strategy = iota
	autoStoreAfterProcessing
	syncEach
	syncBatch
	async
)

func parseStrategy(s string) (strategy, bool) {
	switch s {
	case "auto":
		return auto, true
	case "auto-store-after-processing":
		return autoStoreAfterProcessing, true
	case "sync-each":
		return syncEach, true
	case "sync-batch":
		return syncBatch, true
	case "async":
		return async, true
	}
	return 0, false
}

func (s strategy) explicit() bool { return s == syncEach || s == syncBatch || s == async }

// exitReason says why the poll loop ended.
type exitReason int

const (
	exitStop exitReason = iota
	exitBounded
	exitIdle
	exitWrongProtocol
)

type member struct {
	work     consumerWork
	strategy strategy
	topic    string
	cl       *kgo.Client

	// snapshot: bounded mode's offsets per partition (nil if unbounded).
	snapshot map[int32]int64

	// wantConsumerProtocol: the spec asked for KIP-848. franz-go falls
	// back to the classic protocol by itself when it cannot run KIP-848;
	// the logger sees that and sets wrongProtocol.
	wantConsumerProtocol bool
	wrongProtocol        atomic.Bool

	// The poll loop's own state (its goroutine only): the commands from
	// stdin, and whether hold-record armed a hold of the next record.
	commands <-chan command
	hold     bool

	// Everything below is shared with the rebalance callbacks, which run
	// on franz-go's group goroutine.
	mu       sync.Mutex
	assigned map[int32]bool
	// Fetching was paused on request: keep it paused across rebalances.
	paused bool
	// Partitions this member paused for pause-fetch (to resume them all).
	fetchPaused map[int32]bool
	// The next offset to commit per partition, for the explicit
	// strategies (records processed since the last commit).
	pending     map[int32]kgo.EpochOffset
	sinceCommit uint32
	// The application's position per partition in the current assignment:
	// one past the last record polled, or where a seek moved it.
	position map[int32]int64
	// auto: the offsets franz-go's default OnPartitionsRevoked would
	// commit, see revokeCommitAuto.
	autoHead map[int32]kgo.EpochOffset
	// Bounded mode: partitions that reached their snapshot, and those of
	// them this member stopped fetching.
	done    map[int32]bool
	stopped map[int32]bool

	// Asynchronous commits not answered yet: waited for before leaving,
	// so each one's result is reported.
	inflight sync.WaitGroup
}

func newMember(work consumerWork, strat strategy) *member {
	m := &member{
		work:        work,
		strategy:    strat,
		topic:       work.Topic,
		assigned:    map[int32]bool{},
		fetchPaused: map[int32]bool{},
		pending:     map[int32]kgo.EpochOffset{},
		position:    map[int32]int64{},
		autoHead:    map[int32]kgo.EpochOffset{},
		done:        map[int32]bool{},
		stopped:     map[int32]bool{},
	}
	if work.Snapshot != nil {
		m.snapshot = map[int32]int64{}
		for _, po := range *work.Snapshot {
			m.snapshot[po.P] = po.O
		}
	}
	m.wantConsumerProtocol = work.Protocol == "consumer"
	return m
}

// groupOpts: the group and commit options for the strategy, and the
// callbacks that report rebalances and commits.
func (m *member) groupOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(m.work.Group),
		kgo.ConsumeTopics(m.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// The reference worker's rebalance callbacks run inside poll on
		// the member's own thread, so an assignment never changes while a
		// record is being processed: `processed` is only ever written for
		// a partition the member holds, and a commit never goes out for a
		// partition already revoked. franz-go runs its callbacks on the
		// group goroutine, concurrently with processing, unless polls hold
		// rebalances back until AllowRebalance: that is this option.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(m.onAssigned),
		kgo.OnPartitionsRevoked(m.onRevoked),
		kgo.OnPartitionsLost(m.onLost),
		// A rebalance waiting for the loop's AllowRebalance (a record
		// in processing, or held: see holdRecord) gets a line in the log.
		kgo.OnPartitionsCallbackBlocked(m.onBlocked),
	}
	switch m.strategy {
	case auto:
		// franz-go's default autocommit: every AutoCommitInterval it
		// commits the records handed over by polls before the latest one.
		opts = append(opts, kgo.AutoCommitCallback(m.onCommit))
	case autoStoreAfterProcessing:
		opts = append(opts, kgo.AutoCommitMarks(), kgo.AutoCommitCallback(m.onCommit))
	default:
		opts = append(opts, kgo.DisableAutoCommit())
	}
	if m.wantConsumerProtocol {
		opts = append(opts, kgo.ServerSideBalancer())
	}
	return opts
}

// ---- rebalance callbacks (franz-go's group goroutine) -----------------------

func generation(cl *kgo.Client) int32 {
	_, gen := cl.GroupMetadata()
	return gen
}

func (m *member) onAssigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	if m.wrongProtocol.Load() {
		return
	}
	parts := assigned[m.topic]
	emitPartsGen("assigned", parts, generation(cl))
	m.mu.Lock()
	for _, p := range parts {
		m.assigned[p] = true
	}
	pause := m.paused && len(parts) > 0
	if pause {
		for _, p := range parts {
			m.fetchPaused[p] = true
		}
	}
	m.mu.Unlock()
	// Called before fetching of these partitions starts: pausing here
	// means no record of theirs is fetched while paused.
	if pause {
		cl.PauseFetchPartitions(map[string][]int32{m.topic: parts})
	}
}

func (m *member) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	parts := revoked[m.topic]
	if len(parts) > 0 && !m.wrongProtocol.Load() {
		// franz-go also calls this at the end of a cooperative session
		// that revokes nothing; only a real revoke is reported.
		emitPartsGen("revoked", parts, generation(cl))
	}
	m.forget(parts)
	// Setting OnPartitionsRevoked replaces franz-go's default one, which
	// (when autocommitting) makes a blocking commit before the partitions
	// go. The auto strategies keep that commit; the explicit ones only
	// drop their pending offsets, as the reference does.
	switch m.strategy {
	case auto:
		m.revokeCommitAuto(cl)
	case autoStoreAfterProcessing:
		// The default revoke commits the marked offsets: exactly these.
		cl.CommitOffsetsSync(cl.Context(), cl.MarkedOffsets(), m.onCommit)
	}
	m.mu.Lock()
	for _, p := range parts {
		delete(m.autoHead, p)
	}
	m.mu.Unlock()
}

func (m *member) onBlocked(context.Context, *kgo.Client) {
	fmt.Fprintf(os.Stderr, "%s faultline-franz-go: a rebalance callback waits for the poll loop's AllowRebalance\n",
		time.Now().Format("15:04:05.000"))
}

func (m *member) onLost(_ context.Context, cl *kgo.Client, lost map[string][]int32) {
	parts := lost[m.topic]
	if len(parts) > 0 && !m.wrongProtocol.Load() {
		emitPartsGen("lost", parts, generation(cl))
	}
	m.forget(parts)
	m.mu.Lock()
	for _, p := range parts {
		delete(m.autoHead, p)
	}
	m.mu.Unlock()
}

// forget: offsets pending on a partition that was revoked or lost are not
// committed in a later assignment: the member may get the partition back
// from an older commit and would move the group's offset backwards when it
// commits again. Those records come again instead (redelivery). Partitions
// the member keeps (a partial, cooperative revoke) keep theirs.
func (m *member) forget(parts []int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range parts {
		delete(m.assigned, p)
		delete(m.pending, p)
		delete(m.position, p)
	}
}

// revokeCommitAuto does what franz-go's default OnPartitionsRevoked does
// under the default autocommit: a blocking commit of the "head" offsets,
// the records handed over by the polls before the latest one (franz-go
// holds the latest poll back, as it may still be in processing). franz-go
// has no getter for those offsets, so the member takes
// UncommittedOffsets() just before each poll, which is what franz-go turns
// into the head at the start of that poll; offsets already committed are
// left out, as franz-go leaves them out.
func (m *member) revokeCommitAuto(cl *kgo.Client) {
	committed := cl.CommittedOffsets()[m.topic]
	m.mu.Lock()
	head := map[int32]kgo.EpochOffset{}
	for p, eo := range m.autoHead {
		if c, ok := committed[p]; ok && c.Offset == eo.Offset {
			continue
		}
		head[p] = eo
	}
	m.mu.Unlock()
	if len(head) == 0 {
		return
	}
	cl.CommitOffsetsSync(cl.Context(), map[string]map[int32]kgo.EpochOffset{m.topic: head}, m.onCommit)
}

// ---- commit results ----------------------------------------------------------

// onCommit reports every partition of a commit of the auto strategies
// (autocommits and revoke commits).
func (m *member) onCommit(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	m.reportCommit(req, resp, err, nil)
}

// reportCommit writes `committed` for each partition of this topic in a
// commit, with the offset it carried and the partition's error if any.
// fallback names the offsets asked for, for an error franz-go reports with
// an empty request (the commit never went out).
func (m *member) reportCommit(req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error, fallback map[int32]int64) {
	offsets := map[int32]int64{}
	var order []int32
	var topicID [16]byte
	if req != nil {
		for _, t := range req.Topics {
			if t.Topic != m.topic {
				continue
			}
			topicID = t.TopicID
			for _, p := range t.Partitions {
				if _, seen := offsets[p.Partition]; !seen {
					order = append(order, p.Partition)
				}
				offsets[p.Partition] = p.Offset
			}
		}
	}
	if err != nil {
		if len(order) == 0 {
			for p, o := range fallback {
				offsets[p] = o
				order = append(order, p)
			}
			order = sorted(order)
		}
		for _, p := range order {
			emitCommitted(p, offsets[p], err)
		}
		return
	}
	if resp == nil {
		return
	}
	for _, t := range resp.Topics {
		if t.Topic != m.topic && (t.TopicID == [16]byte{} || t.TopicID != topicID) {
			continue
		}
		for _, p := range t.Partitions {
			o, ok := offsets[p.Partition]
			if !ok {
				continue
			}
			emitCommitted(p.Partition, o, kerr.ErrorForCode(p.ErrorCode))
		}
	}
}

// commitPending commits the offsets after the records processed since the
// last commit, for partitions still assigned (explicit strategies).
func (m *member) commitPending(sync bool) {
	m.mu.Lock()
	m.sinceCommit = 0
	for p := range m.pending {
		if !m.assigned[p] {
			delete(m.pending, p)
		}
	}
	if len(m.pending) == 0 {
		m.mu.Unlock()
		return
	}
	offsets := make(map[int32]kgo.EpochOffset, len(m.pending))
	fallback := make(map[int32]int64, len(m.pending))
	for p, eo := range m.pending {
		offsets[p] = eo
		fallback[p] = eo.Offset
	}
	m.mu.Unlock()
	commit := map[string]map[int32]kgo.EpochOffset{m.topic: offsets}

	if !sync {
		// Issued now, reported when the broker answers. Like the
		// reference, what was handed to the asynchronous commit is no
		// longer pending.
		m.inflight.Add(1)
		m.cl.CommitOffsets(m.cl.Context(), commit, func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			defer m.inflight.Done()
			m.reportCommit(req, resp, err, fallback)
		})
		m.clearPending(offsets)
		return
	}
	ok := false
	m.cl.CommitOffsetsSync(m.cl.Context(), commit, func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		m.reportCommit(req, resp, err, fallback)
		ok = err == nil && respOK(resp)
	})
	if ok {
		m.clearPending(offsets)
	}
}

// clearPending drops the committed offsets, unless a newer record of the
// partition was processed meanwhile (it cannot be, as the loop commits on
// its own goroutine; this keeps it right if that changes).
func (m *member) clearPending(committed map[int32]kgo.EpochOffset) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, eo := range committed {
		if cur, ok := m.pending[p]; ok && cur == eo {
			delete(m.pending, p)
		}
	}
}

func respOK(resp *kmsg.OffsetCommitResponse) bool {
	if resp == nil {
		return false
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return false
			}
		}
	}
	return true
}

// ---- the poll loop -----------------------------------------------------------

func (m *member) run(commands <-chan command) exitReason {
	m.commands = commands
	lastRecord := time.Now()
	for {
		if m.wrongProtocol.Load() {
			return exitWrongProtocol
		}
		if m.strategy == auto {
			// See revokeCommitAuto.
			head := m.cl.UncommittedOffsets()[m.topic]
			m.mu.Lock()
			m.autoHead = map[int32]kgo.EpochOffset{}
			for p, eo := range head {
				if m.assigned[p] {
					m.autoHead[p] = eo
				}
			}
			m.mu.Unlock()
		}

		ctx, cancel := context.WithTimeout(context.Background(), pollWait)
		fetches := m.cl.PollRecords(ctx, maxPollRecords)
		cancel()
		// From here until AllowRebalance, no rebalance callback runs: the
		// records polled belong to partitions this member holds.

		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
				return
			}
			if t == "" {
				emitClientError(fmt.Sprintf("fetch: %v", err))
			} else {
				emitClientError(fmt.Sprintf("fetch %s[%d]: %v", t, p, err))
			}
		})
		if m.wrongProtocol.Load() {
			return exitWrongProtocol
		}
		stopped := false
		fetches.EachRecord(func(rec *kgo.Record) {
			if stopped {
				return
			}
			lastRecord = time.Now()
			stopped = !m.handle(rec)
		})
		if stopped {
			// stop (or the end of stdin) while a record was held.
			return exitStop
		}

		// Commands are handled while rebalances are still held back, so a
		// seek (SetOffsets) cannot race a revoke, as franz-go recommends.
		if stop := m.drainCommands(commands); stop {
			return exitStop
		}
		if m.snapshot != nil && m.boundedDone() {
			return exitBounded
		}
		if m.work.IdleExitMs != nil && time.Since(lastRecord) >= time.Duration(*m.work.IdleExitMs)*time.Millisecond {
			return exitIdle
		}
		m.cl.AllowRebalance()
	}
}

func (m *member) drainCommands(commands <-chan command) (stop bool) {
	for {
		select {
		case cmd := <-commands:
			switch cmd.kind {
			case "stop":
				return true
			case "pause-fetch":
				m.pauseFetch()
			case "resume-fetch":
				m.resumeFetch(cmd.seekToEnd)
			case "hold-record":
				m.hold = true
			case "release-record":
				// No record held yet: the pending hold is off.
				m.hold = false
			}
		default:
			return false
		}
	}
}

// holdRecord: hold-record armed a hold and (p, o) is the next record to
// process. Report it, then block the poll loop, with the record in hand,
// until release-record (true: process it) or stop / the end of stdin
// (false: leave without processing it). franz-go's own goroutines go on:
// heartbeats, the autocommit loop, and fetches (a broker's next fetch waits
// for a poll to drain the one buffered). Rebalances wait: the record came
// from a poll, and AllowRebalance comes only after it is processed.
// pause-fetch and resume-fetch are applied during the hold; a second
// hold-record is ignored.
func (m *member) holdRecord(p int32, o int64) (release bool) {
	emitHolding(p, o)
	for cmd := range m.commands {
		switch cmd.kind {
		case "release-record":
			return true
		case "stop":
			return false
		case "pause-fetch":
			m.pauseFetch()
		case "resume-fetch":
			m.resumeFetch(cmd.seekToEnd)
		case "hold-record":
		}
	}
	return false
}

// handle processes one record. False: the record was held and stop (or the
// end of stdin) came instead of release-record; it was not processed.
func (m *member) handle(rec *kgo.Record) bool {
	p, o := rec.Partition, rec.Offset
	m.mu.Lock()
	m.position[p] = o + 1
	m.mu.Unlock()
	hwm, bounded := m.snapshot[p]
	if bounded && o >= hwm {
		// Past the snapshot: not ours to process. Stop fetching it and
		// rewind so no later commit runs past it.
		m.finishPartition(p, hwm)
		return true
	}
	if m.done[p] && m.stopped[p] {
		// Already finished: a record fetched before the pause took hold.
		return true
	}
	id := decodeID(rec.Value)
	if m.hold {
		m.hold = false
		if !m.holdRecord(p, o) {
			return false
		}
	}
	if m.work.ProcessingUs > 0 {
		time.Sleep(time.Duration(m.work.ProcessingUs) * time.Microsecond)
	}
	// Reported (and out of the process) before the offset is marked or
	// committed.
	emitProcessed(p, o, id)
	switch m.strategy {
	case auto:
	case autoStoreAfterProcessing:
		m.cl.MarkCommitRecords(rec)
	default:
		m.mu.Lock()
		m.pending[p] = kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: o + 1}
		m.sinceCommit++
		batch := m.work.Batch
		if m.strategy == syncEach {
			batch = 1
		}
		due := m.sinceCommit >= batch
		m.mu.Unlock()
		if due {
			m.commitPending(m.strategy != async)
		}
	}
	if bounded && o+1 >= hwm {
		m.finishPartition(p, hwm)
	}
	return true
}

// finishPartition: bounded mode, partition p reached its snapshot. Stop
// fetching it and move its position back to the snapshot, so neither a
// record past it nor a commit past it follows.
func (m *member) finishPartition(p int32, hwm int64) {
	m.mu.Lock()
	m.done[p] = true
	already := m.stopped[p]
	m.stopped[p] = true
	m.position[p] = hwm
	m.mu.Unlock()
	if already {
		return
	}
	m.cl.PauseFetchPartitions(map[string][]int32{m.topic: {p}})
	m.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{m.topic: {p: {Epoch: -1, Offset: hwm}}})
}

// boundedDone: bounded mode ends when every assigned partition has reached
// its snapshot (by processing up to it, or by starting at or past it). A
// partition the snapshot does not name has nothing to process.
func (m *member) boundedDone() bool {
	committed := m.cl.CommittedOffsets()[m.topic]
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.assigned) == 0 {
		return false
	}
	all := true
	for p := range m.assigned {
		hwm := m.snapshot[p]
		pos, known := m.position[p]
		if !known {
			// Nothing polled yet in this assignment: it starts from the
			// group's committed offset.
			if c, ok := committed[p]; ok {
				pos, known = c.Offset, true
			}
		}
		if hwm == 0 || (known && pos >= hwm) {
			m.done[p] = true
		}
		if !m.done[p] {
			all = false
		}
	}
	return all
}

// ---- pause / resume ------------------------------------------------------------

func (m *member) assignedParts() []int32 {
	parts := make([]int32, 0, len(m.assigned))
	for p := range m.assigned {
		parts = append(parts, p)
	}
	return sorted(parts)
}

func (m *member) pauseFetch() {
	m.mu.Lock()
	m.paused = true
	parts := m.assignedParts()
	for _, p := range parts {
		m.fetchPaused[p] = true
	}
	m.mu.Unlock()
	if len(parts) > 0 {
		m.cl.PauseFetchPartitions(map[string][]int32{m.topic: parts})
	}
	emitParts("fetch-paused", parts)
}

func (m *member) resumeFetch(seekToEnd bool) {
	m.mu.Lock()
	m.paused = false
	parts := m.assignedParts()
	var resume []int32
	for p := range m.fetchPaused {
		// A partition bounded mode finished stays paused.
		if !m.stopped[p] {
			resume = append(resume, p)
		}
	}
	m.fetchPaused = map[int32]bool{}
	m.mu.Unlock()

	if seekToEnd && len(parts) > 0 {
		m.seekToEnd(parts)
	}
	if len(resume) > 0 {
		m.cl.ResumeFetchPartitions(map[string][]int32{m.topic: sorted(resume)})
	}
	emitParts("fetch-resumed", parts)
}

// seekToEnd moves each assigned partition to its high watermark, writing a
// `seek` (before it seeks) for each one that moves.
func (m *member) seekToEnd(parts []int32) {
	ctx, cancel := context.WithTimeout(m.cl.Context(), listTimeout)
	defer cancel()
	adm := kadm.NewClient(m.cl)
	ends, err := adm.ListEndOffsets(ctx, m.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		emitClientError(fmt.Sprintf("seek_to_end: listing high watermarks: %v", err))
		if ends == nil {
			return
		}
	}
	var committed map[int32]int64
	for _, p := range parts {
		end, ok := ends.Lookup(m.topic, p)
		if !ok || end.Err != nil {
			continue
		}
		m.mu.Lock()
		from, known := m.position[p]
		m.mu.Unlock()
		if !known {
			if committed == nil {
				committed = m.committedOrZero(ctx, adm)
			}
			from = committed[p]
		}
		if end.Offset > from {
			emitSeek(p, from, end.Offset)
			m.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{m.topic: {p: {Epoch: -1, Offset: end.Offset}}})
			m.mu.Lock()
			m.position[p] = end.Offset
			m.mu.Unlock()
		}
	}
}

// committedOrZero: the group's committed offsets as the broker holds them
// (0 for a partition without one), for partitions nothing was polled from
// yet in this assignment: that is where fetching starts.
func (m *member) committedOrZero(ctx context.Context, adm *kadm.Client) map[int32]int64 {
	out := map[int32]int64{}
	resp, err := adm.FetchOffsetsForTopics(ctx, m.work.Group, m.topic)
	if err != nil {
		return out
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == m.topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}
