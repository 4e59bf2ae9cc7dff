package main

// The consumer: one member of a group. Reports assignments, every processed
// record (before its offset is stored or committed) and every commit result,
// whichever strategy commits it. It follows the built-in librdkafka worker
// (harness/src/workers/consumer.rs) step for step.

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

const (
	pollMs = 100
	// Timeout of the broker queries (watermarks, committed offsets).
	queryTimeoutMs = 10_000
	// Longest wait, when leaving, for the results of the commits librdkafka
	// makes by itself as it gives up its partitions (auto strategies).
	closeWait = 10 * time.Second
	// confluent-kafka-go reports no group generation (below).
	unknownGeneration = -1
)

type member struct {
	spec  *consumerSpec
	c     *kafka.Consumer
	topic string
	// The commands from stdin, and whether hold-record armed a hold of the
	// next record.
	cmds <-chan command
	hold bool
	// Fetching was paused on request: keep it paused across rebalances.
	paused      bool
	sinceCommit uint32
	// Next offset to commit per partition, for the explicit strategies.
	pending map[int32]int64
	// Bounded mode: the offsets to stop at, and the partitions that reached them.
	snapshot map[int32]int64
	done     map[int32]bool

	// Only to know, when leaving, whether to wait for the result of the
	// commit librdkafka makes of its stored offsets as it revokes them (the
	// library discards events polled inside Close, so they are read before
	// it): what the library holds stored (auto strategies) and what was
	// reported committed, per partition.
	stored    map[int32]int64
	committed map[int32]int64
	leaving   bool
	awaiting  map[int32]int64
}

func runConsumer(spec *consumerSpec) int {
	autoCommit, autoStore := false, false
	switch spec.Commit {
	case commitAuto:
		autoCommit, autoStore = true, true
	case commitAutoStoreAfter:
		autoCommit, autoStore = true, false
	}
	config := kafka.ConfigMap{
		"bootstrap.servers":        spec.Bootstrap,
		"group.id":                 spec.Group,
		"auto.offset.reset":        "earliest",
		"enable.auto.commit":       boolString(autoCommit),
		"enable.auto.offset.store": boolString(autoStore),
		"group.protocol":           spec.Protocol,
	}
	// The scenario's properties are librdkafka's and go to it as they are
	// (set last, so they win, as in the built-in worker). The go.* settings
	// are the Go wrapper's own, not librdkafka's, and take no strings.
	keys := make([]string, 0, len(spec.Properties))
	for k := range spec.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "go.") {
			emitClientError("property %q is a confluent-kafka-go setting, not a librdkafka property", k)
			return 2
		}
		config[k] = spec.Properties[k]
	}
	c, err := kafka.NewConsumer(&config)
	if err != nil {
		emitClientError("config: %v", err)
		return 2
	}
	m := &member{
		spec:      spec,
		c:         c,
		topic:     spec.Topic,
		pending:   map[int32]int64{},
		done:      map[int32]bool{},
		stored:    map[int32]int64{},
		committed: map[int32]int64{},
		awaiting:  map[int32]int64{},
	}
	if spec.Snapshot != nil {
		m.snapshot = map[int32]int64{}
		for _, po := range *spec.Snapshot {
			m.snapshot[int32(po[0])] = po[1]
		}
	}
	if err := c.SubscribeTopics([]string{spec.Topic}, m.rebalance); err != nil {
		emitClientError("subscribe: %v", err)
		_ = c.Close()
		return 3
	}
	emit(event("started", startedEv{Role: "consumer", Group: spec.Group}))

	err = m.run(commands())
	m.commitPending()
	if err == nil && (spec.Snapshot != nil || spec.IdleExitMs != nil) {
		emit("finished")
	}
	m.leave()
	if err != nil {
		emitClientError("worker failed: %v", err)
		return 3
	}
	return 0
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (m *member) autoCommit() bool {
	return m.spec.Commit == commitAuto || m.spec.Commit == commitAutoStoreAfter
}

// run consumes until stop (or end of stdin), bounded or idle completion, or
// an error the built-in worker also treats as fatal.
func (m *member) run(cmds <-chan command) error {
	m.cmds = cmds
	lastRecord := time.Now()
	for {
		select {
		case cmd := <-cmds:
			switch {
			case cmd.stop:
				return nil
			case cmd.pause:
				if err := m.pauseFetch(); err != nil {
					return err
				}
			case cmd.resume:
				if err := m.resumeFetch(cmd.seekToEnd); err != nil {
					return err
				}
			case cmd.hold:
				m.hold = true
			case cmd.release:
				// No record held yet: the pending hold is off.
				m.hold = false
			}
		default:
		}
		if m.snapshot != nil && m.boundedDone() {
			return nil
		}
		if idle := m.spec.IdleExitMs; idle != nil && time.Since(lastRecord) >= time.Duration(*idle)*time.Millisecond {
			return nil
		}
		// Rebalance callbacks run inside Poll, on this goroutine.
		ev := m.c.Poll(pollMs)
		msg, ok := ev.(*kafka.Message)
		if !ok {
			m.handleEvent(ev)
			continue
		}
		if msg.TopicPartition.Error != nil {
			emitClientError("%v", msg.TopicPartition.Error)
			continue
		}
		lastRecord = time.Now()
		if err := m.handle(msg); err != nil {
			if errors.Is(err, errStoppedHolding) {
				return nil
			}
			return err
		}
	}
}

// errStoppedHolding: stop (or the end of stdin) came while a record was
// held; the worker leaves without processing it.
var errStoppedHolding = errors.New("stopped while holding a record")

// holdRecord: hold-record armed a hold and (p, o) is the next record to
// process. Report it, then block this goroutine, the one that polls, until
// release-record (nil: process it) or stop / the end of stdin
// (errStoppedHolding). Nothing polls meanwhile, so no rebalance callback,
// commit result or error is served, but librdkafka's own threads go on:
// heartbeats, fetches into its queues, its auto commit of stored offsets,
// and its max.poll.interval.ms timer, after which it leaves the group by
// itself (the next Poll returns that as an error, a client-error, and
// serves the loss; then it rejoins). pause-fetch and resume-fetch are
// applied during the hold; a second hold-record is ignored.
func (m *member) holdRecord(p int32, o int64) error {
	emit(event("holding-record", holdingEv{P: p, O: o}))
	for cmd := range m.cmds {
		switch {
		case cmd.release:
			return nil
		case cmd.stop:
			return errStoppedHolding
		case cmd.pause:
			if err := m.pauseFetch(); err != nil {
				return err
			}
		case cmd.resume:
			if err := m.resumeFetch(cmd.seekToEnd); err != nil {
				return err
			}
		}
	}
	return errStoppedHolding
}

// handleEvent reports what Poll returned besides records.
func (m *member) handleEvent(ev kafka.Event) {
	switch e := ev.(type) {
	case nil:
	case kafka.OffsetsCommitted:
		m.reportCommitEvent(e)
	case kafka.Error:
		emitClientError("%v", e)
	case kafka.AssignedPartitions, kafka.RevokedPartitions:
		// Handled by the rebalance callback; not returned when it exists.
	default:
		fmt.Fprintf(os.Stderr, "ignoring event: %v\n", ev)
	}
}

func (m *member) handle(msg *kafka.Message) error {
	p, o := msg.TopicPartition.Partition, int64(msg.TopicPartition.Offset)
	if m.spec.Commit == commitAuto {
		// enable.auto.offset.store: librdkafka stored it as it handed it over.
		m.stored[p] = o + 1
	}
	hwm, bounded := m.snapshot[p]
	if bounded && o >= hwm {
		// Past the snapshot: not ours to process. Stop fetching it and
		// rewind so no later commit runs past it.
		return m.finishPartition(p, hwm)
	}
	id := decodeID(msg.Value)
	if m.hold {
		m.hold = false
		if err := m.holdRecord(p, o); err != nil {
			return err
		}
	}
	if m.spec.ProcessingUs > 0 {
		time.Sleep(time.Duration(m.spec.ProcessingUs) * time.Microsecond)
	}
	// Reported (and flushed) before the offset is stored or committed.
	emit(event("processed", processedEv{P: p, O: o, ID: id}))
	switch m.spec.Commit {
	case commitAuto:
	case commitAutoStoreAfter:
		if _, err := m.c.StoreMessage(msg); err != nil {
			return fmt.Errorf("store offset %d of partition %d: %w", o+1, p, err)
		}
		m.stored[p] = o + 1
	case commitSyncEach, commitSyncBatch:
		m.pending[p] = o + 1
		m.sinceCommit++
		batch := m.spec.Batch
		if m.spec.Commit == commitSyncEach {
			batch = 1
		}
		if m.sinceCommit >= batch {
			m.commitPending()
		}
	}
	if bounded && o+1 >= hwm {
		return m.finishPartition(p, hwm)
	}
	return nil
}

// ---- rebalances ------------------------------------------------------------

// rebalance is the callback given to SubscribeTopics. It does what the
// library would do without one (assign / unassign, incrementally under the
// cooperative protocols), reporting around it, and keeps fetching paused
// while paused.
//
// The generation: librdkafka knows it (rd_kafka_consumer_group_metadata_
// generation_id), but confluent-kafka-go only hands out the group metadata
// as an opaque serialised object for transactions, with no accessor, so the
// worker reports -1 ("the client cannot tell").
func (m *member) rebalance(c *kafka.Consumer, ev kafka.Event) error {
	cooperative := c.GetRebalanceProtocol() == "COOPERATIVE"
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		var err error
		if cooperative {
			err = c.IncrementalAssign(e.Partitions)
		} else {
			err = c.Assign(e.Partitions)
		}
		if err != nil {
			emitClientError("rebalance: assign %v: %v", m.parts(e.Partitions), err)
			return err
		}
		emit(event("assigned", partsEv{Parts: m.parts(e.Partitions), Generation: unknownGeneration}))
		if m.paused && len(e.Partitions) > 0 {
			if err := c.Pause(e.Partitions); err != nil {
				emitClientError("rebalance: pause %v: %v", m.parts(e.Partitions), err)
			}
		}
	case kafka.RevokedPartitions:
		parts := m.parts(e.Partitions)
		lost := c.AssignmentLost()
		name := "revoked"
		if lost {
			name = "lost"
		}
		emit(event(name, partsEv{Parts: parts, Generation: unknownGeneration}))
		for _, p := range parts {
			// Offsets pending on a partition that was revoked or lost are not
			// committed in a later assignment: the member may get the
			// partition back from an older commit and would move the group's
			// offset backwards when it commits again. Those records come
			// again instead (redelivery). Partitions the member keeps (a
			// partial, cooperative revoke) keep theirs.
			delete(m.pending, p)
			// As it unassigns them, librdkafka commits the offsets stored for
			// them (auto commit, unless lost); leaving, wait for that result.
			if m.leaving && !lost && m.autoCommit() {
				if s, ok := m.stored[p]; ok && s > m.committedOr(p, -1) {
					m.awaiting[p] = s
				}
			}
			delete(m.stored, p)
		}
		var err error
		if cooperative {
			err = c.IncrementalUnassign(e.Partitions)
		} else {
			err = c.Unassign()
		}
		if err != nil {
			emitClientError("rebalance: unassign %v: %v", parts, err)
			return err
		}
	}
	return nil
}

// parts lists the partitions of our topic, sorted.
func (m *member) parts(tps []kafka.TopicPartition) []int32 {
	parts := []int32{}
	for _, tp := range tps {
		if tp.Topic == nil || *tp.Topic == m.topic {
			parts = append(parts, tp.Partition)
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return parts
}

// ---- commits ---------------------------------------------------------------

func isNoOffset(err error) bool {
	var kerr kafka.Error
	return errors.As(err, &kerr) && kerr.Code() == kafka.ErrNoOffset
}

// reportCommitEvent reports a commit librdkafka made by itself (the auto
// commit, on its timer or as it revokes partitions): the OffsetsCommitted
// event Poll returns. Nothing to commit is not a commit.
func (m *member) reportCommitEvent(e kafka.OffsetsCommitted) {
	if isNoOffset(e.Error) {
		return
	}
	for _, tp := range e.Offsets {
		if tp.Topic == nil || *tp.Topic != m.topic || tp.Offset < 0 {
			continue
		}
		err := tp.Error
		if err == nil {
			err = e.Error
		}
		m.reportCommitted(tp.Partition, int64(tp.Offset), err)
	}
}

func (m *member) reportCommitted(p int32, o int64, err error) {
	emitCommitted(p, o, err)
	if err == nil && o > m.committedOr(p, -1) {
		m.committed[p] = o
	}
	if want, ok := m.awaiting[p]; ok && (err != nil || o >= want) {
		delete(m.awaiting, p)
	}
}

func (m *member) committedOr(p int32, def int64) int64 {
	if o, ok := m.committed[p]; ok {
		return o
	}
	return def
}

// commitPending commits, synchronously (CommitOffsets blocks until the
// broker answers), the offsets after the records processed since the last
// commit, for partitions still assigned, and reports the result: a
// synchronous commit's result comes back from the call, not as an event.
func (m *member) commitPending() {
	m.sinceCommit = 0
	if len(m.pending) == 0 {
		return
	}
	assigned := map[int32]bool{}
	if a, err := m.c.Assignment(); err == nil {
		for _, p := range m.parts(a) {
			assigned[p] = true
		}
	}
	var offsets []kafka.TopicPartition
	for p, o := range m.pending {
		if !assigned[p] {
			delete(m.pending, p)
			continue
		}
		offsets = append(offsets, kafka.TopicPartition{Topic: &m.topic, Partition: p, Offset: kafka.Offset(o)})
	}
	if len(offsets) == 0 {
		return
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i].Partition < offsets[j].Partition })
	result, err := m.c.CommitOffsets(offsets)
	if err != nil {
		if isNoOffset(err) {
			return
		}
		// Kept pending: the next commit tries again.
		for _, tp := range offsets {
			m.reportCommitted(tp.Partition, int64(tp.Offset), err)
		}
		return
	}
	if len(result) == 0 {
		result = offsets
	}
	for _, tp := range result {
		if tp.Topic != nil && *tp.Topic != m.topic {
			continue
		}
		m.reportCommitted(tp.Partition, int64(tp.Offset), tp.Error)
	}
	clear(m.pending)
}

// ---- fetch control ---------------------------------------------------------

func (m *member) pauseFetch() error {
	m.paused = true
	a, err := m.c.Assignment()
	if err != nil {
		return err
	}
	if err := m.c.Pause(a); err != nil {
		return err
	}
	emit(event("fetch-paused", fetchEv{Parts: m.parts(a)}))
	return nil
}

func (m *member) resumeFetch(seekToEnd bool) error {
	m.paused = false
	a, err := m.c.Assignment()
	if err != nil {
		return err
	}
	if seekToEnd {
		positions, err := m.c.Position(a)
		if err != nil {
			return err
		}
		for _, tp := range a {
			if tp.Topic == nil || *tp.Topic != m.topic {
				continue
			}
			p := tp.Partition
			_, high, err := m.c.QueryWatermarkOffsets(m.topic, p, queryTimeoutMs)
			if err != nil {
				return err
			}
			from, ok := offsetOf(positions, p)
			if !ok {
				from = m.committedOrZero(p)
			}
			if high > from {
				emit(event("seek", seekEv{P: p, From: from, To: high}))
				if err := m.seek(p, high); err != nil {
					return err
				}
			}
		}
	}
	if err := m.c.Resume(a); err != nil {
		return err
	}
	emit(event("fetch-resumed", fetchEv{Parts: m.parts(a)}))
	return nil
}

// offsetOf finds a partition's absolute offset in a list.
func offsetOf(tps []kafka.TopicPartition, p int32) (int64, bool) {
	for _, tp := range tps {
		if tp.Partition == p && tp.Offset >= 0 && tp.Error == nil {
			return int64(tp.Offset), true
		}
	}
	return 0, false
}

func (m *member) committedOrZero(p int32) int64 {
	c, err := m.c.Committed([]kafka.TopicPartition{{Topic: &m.topic, Partition: p}}, queryTimeoutMs)
	if err != nil {
		return 0
	}
	if o, ok := offsetOf(c, p); ok {
		return o
	}
	return 0
}

func (m *member) seek(p int32, to int64) error {
	res, err := m.c.SeekPartitions([]kafka.TopicPartition{{Topic: &m.topic, Partition: p, Offset: kafka.Offset(to)}})
	if err != nil {
		return err
	}
	for _, tp := range res {
		if tp.Error != nil {
			return fmt.Errorf("seek partition %d to %d: %w", p, to, tp.Error)
		}
	}
	return nil
}

// ---- bounded mode ----------------------------------------------------------

func (m *member) finishPartition(p int32, hwm int64) error {
	if m.done[p] {
		return nil
	}
	m.done[p] = true
	if err := m.c.Pause([]kafka.TopicPartition{{Topic: &m.topic, Partition: p}}); err != nil {
		return err
	}
	return m.seek(p, hwm)
}

// boundedDone: bounded mode ends when every assigned partition has reached
// its snapshot (by processing up to it, or by starting at or past it).
func (m *member) boundedDone() bool {
	a, err := m.c.Assignment()
	if err != nil || len(a) == 0 {
		return false
	}
	positions, _ := m.c.Position(a)
	for _, tp := range a {
		p := tp.Partition
		hwm := m.snapshot[p]
		if pos, ok := offsetOf(positions, p); hwm == 0 || (ok && pos >= hwm) {
			m.done[p] = true
		}
		if !m.done[p] {
			return false
		}
	}
	return true
}

// ---- leaving ---------------------------------------------------------------

// leave closes the consumer: it revokes the partitions (the rebalance
// callback reports them; librdkafka auto-commits what it has stored for
// them), leaves the group, and destroys the client.
//
// consumer.Close() polls the consumer queue itself and throws away every
// event but rebalances, so the results of librdkafka's own final commits
// would never be reported. The member therefore first stops fetching (so
// nothing more is handed over, and with enable.auto.offset.store stored),
// unsubscribes, which is the same revoke and leave, and polls until its
// partitions are gone and the commits it expects have answered (or
// closeWait passes); Close then only tears down.
func (m *member) leave() {
	m.leaving = true
	if a, err := m.c.Assignment(); err == nil && len(a) > 0 {
		if err := m.c.Pause(a); err != nil {
			fmt.Fprintf(os.Stderr, "pause before leaving: %v\n", err)
		}
	}
	if err := m.c.Unsubscribe(); err != nil {
		emitClientError("unsubscribe: %v", err)
	} else {
		deadline := time.Now().Add(closeWait)
		for time.Now().Before(deadline) {
			ev := m.c.Poll(pollMs)
			if msg, ok := ev.(*kafka.Message); ok {
				// Handed over after stop: not processed. (librdkafka stored
				// it already under enable.auto.offset.store.)
				if msg.TopicPartition.Error == nil && m.spec.Commit == commitAuto {
					m.stored[msg.TopicPartition.Partition] = int64(msg.TopicPartition.Offset) + 1
				}
				continue
			}
			m.handleEvent(ev)
			if a, err := m.c.Assignment(); (err != nil || len(a) == 0) && len(m.awaiting) == 0 {
				break
			}
		}
		if len(m.awaiting) > 0 {
			fmt.Fprintf(os.Stderr, "closing without the result of the final auto commit for %v\n", m.awaiting)
		}
	}
	if err := m.c.Close(); err != nil {
		emitClientError("close: %v", err)
	}
}
