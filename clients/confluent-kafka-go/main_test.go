package main

// End-to-end tests: the worker binary runs against librdkafka's mock cluster
// and is judged only by the lines it writes, as faultline judges it.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

const partitions = 3

var (
	workerBin string
	cluster   *kafka.MockCluster
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faultline-ckg-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workerBin = filepath.Join(dir, "faultline-confluent-kafka-go")
	build := exec.Command("go", "build", "-o", workerBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the worker:", err)
		os.Exit(1)
	}
	cluster, err = kafka.NewMockCluster(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mock cluster:", err)
		os.Exit(1)
	}
	code := m.Run()
	cluster.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---- fixtures --------------------------------------------------------------

// newTopic creates a topic with `partitions` partitions.
func newTopic(t *testing.T, name string) string {
	t.Helper()
	if err := cluster.CreateTopic(name, partitions, 1); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	return name
}

// produce writes records seq from..to-1 as a faultline producer 0 would,
// record seq to partition seq%partitions, so its offset there is seq/partitions.
func produce(t *testing.T, topic string, from, to int) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": cluster.BootstrapServers(), "linger.ms": 5})
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	dr := make(chan kafka.Event, to-from)
	for s := from; s < to; s++ {
		err := p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: int32(s % partitions)},
			Value:          []byte(fmt.Sprintf("fl/0/%d", s)),
		}, dr)
		if err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	for s := from; s < to; s++ {
		select {
		case ev := <-dr:
			if m := ev.(*kafka.Message); m.TopicPartition.Error != nil {
				t.Fatalf("delivery: %v", m.TopicPartition.Error)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no delivery report")
		}
	}
}

// brokerCommitted reads the group's committed offsets from the cluster.
func brokerCommitted(t *testing.T, group, topic string) map[int32]int64 {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": cluster.BootstrapServers(), "group.id": group})
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	for p := int32(0); p < partitions; p++ {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p})
	}
	res, err := c.Committed(tps, 10_000)
	if err != nil {
		t.Fatalf("committed: %v", err)
	}
	out := map[int32]int64{}
	for _, tp := range res {
		out[tp.Partition] = int64(tp.Offset)
	}
	return out
}

type spec struct {
	Group        string            `json:"group"`
	Bootstrap    string            `json:"bootstrap"`
	Topic        string            `json:"topic"`
	Commit       string            `json:"commit"`
	Batch        uint32            `json:"batch"`
	ProcessingUs uint64            `json:"processing_us"`
	Protocol     string            `json:"protocol"`
	Snapshot     [][2]int64        `json:"snapshot"`
	IdleExitMs   *uint64           `json:"idle_exit_ms"`
	Properties   map[string]string `json:"properties"`
}

func newSpec(topic, commit string) spec {
	return spec{
		Group:      "g-" + topic,
		Bootstrap:  cluster.BootstrapServers(),
		Topic:      topic,
		Commit:     commit,
		Batch:      7,
		Protocol:   "classic",
		Properties: map[string]string{},
	}
}

// ---- the worker process ----------------------------------------------------

// line is one event: its name (the unit string or the object's one key) and body.
type line struct {
	raw  string
	name string
	body json.RawMessage
}

type worker struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer

	mu    sync.Mutex
	lines []line
	bad   []string
	exit  chan int
}

func startWorker(t *testing.T, specJSON string) *worker {
	t.Helper()
	w := &worker{t: t, exit: make(chan int, 1)}
	w.cmd = exec.Command(workerBin)
	w.cmd.Env = append(os.Environ(), specEnv+"="+specJSON)
	w.cmd.Stderr = &w.stderr
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.add(sc.Text())
		}
		err := w.cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		w.exit <- code
	}()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		if t.Failed() || os.Getenv("FAULTLINE_TEST_DUMP") != "" {
			t.Logf("worker stderr:\n%s", w.stderr.String())
			for _, l := range w.snapshot() {
				t.Logf("  %s", l.raw)
			}
		}
	})
	return w
}

func runSpec(t *testing.T, s spec) *worker {
	t.Helper()
	b, err := json.Marshal(map[string]spec{"consumer": s})
	if err != nil {
		t.Fatal(err)
	}
	return startWorker(t, string(b))
}

func (w *worker) add(raw string) {
	l := line{raw: raw}
	var unit string
	var obj map[string]json.RawMessage
	switch {
	case json.Unmarshal([]byte(raw), &unit) == nil:
		l.name = unit
	case json.Unmarshal([]byte(raw), &obj) == nil && len(obj) == 1:
		for k, v := range obj {
			l.name, l.body = k, v
		}
	default:
		w.mu.Lock()
		w.bad = append(w.bad, raw)
		w.mu.Unlock()
		return
	}
	w.mu.Lock()
	w.lines = append(w.lines, l)
	w.mu.Unlock()
}

func (w *worker) snapshot() []line {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]line(nil), w.lines...)
}

func (w *worker) send(cmd string) {
	w.t.Helper()
	if _, err := io.WriteString(w.stdin, cmd+"\n"); err != nil {
		w.t.Fatalf("send %s: %v", cmd, err)
	}
}

// waitFor waits until cond holds for the lines so far.
func (w *worker) waitFor(what string, timeout time.Duration, cond func([]line) bool) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(w.snapshot()) {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *worker) waitExit(timeout time.Duration) int {
	w.t.Helper()
	select {
	case code := <-w.exit:
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.bad) > 0 {
			w.t.Errorf("lines that are not one JSON event: %q", w.bad)
		}
		return code
	case <-time.After(timeout):
		w.t.Fatalf("worker did not exit within %v", timeout)
		return -1
	}
}

func count(name string) func([]line) bool {
	return func(ls []line) bool { return countOf(ls, name) > 0 }
}

func countOf(ls []line, name string) int {
	n := 0
	for _, l := range ls {
		if l.name == name {
			n++
		}
	}
	return n
}

func processedAtLeast(n int) func([]line) bool {
	return func(ls []line) bool { return countOf(ls, "processed") >= n }
}

// ---- the ledger check --------------------------------------------------------

type processed struct {
	P  int32     `json:"p"`
	O  int64     `json:"o"`
	ID [2]uint64 `json:"id"`
}

type committed struct {
	P   int32   `json:"p"`
	O   int64   `json:"o"`
	Err *string `json:"err"`
}

type ledger struct {
	processed map[int32]map[int64]bool // per partition, offsets processed
	last      map[int32]int64          // last successful commit per partition
	seeks     []struct{ P, From, To int64 }
}

// check applies the protocol's order rules to one member's lines, the only
// member of its group: hello, started, processed only while assigned, each
// record at most once and carrying its id, and (unless auto) no commit past
// a record not yet processed.
func check(t *testing.T, ls []line, s spec) ledger {
	t.Helper()
	if len(ls) < 2 || ls[0].name != "hello" || ls[1].name != "started" {
		t.Fatalf("want hello then started, got %v", ls[:min(2, len(ls))])
	}
	var hello struct {
		Protocol int    `json:"protocol"`
		Client   string `json:"client"`
		Version  string `json:"version"`
	}
	mustUnmarshal(t, ls[0].body, &hello)
	if hello.Protocol != protocolVersion || hello.Client != "confluent-kafka-go" || !strings.HasPrefix(hello.Version, "v2.11.1 (librdkafka 2.") {
		t.Errorf("hello: %s", ls[0].raw)
	}
	if want := fmt.Sprintf(`{"started":{"role":"consumer","group":%q}}`, s.Group); ls[1].raw != want {
		t.Errorf("started: got %s want %s", ls[1].raw, want)
	}
	lg := ledger{processed: map[int32]map[int64]bool{}, last: map[int32]int64{}}
	assigned := map[int32]bool{}
	// next[p]: every offset below it has been processed (single member from 0).
	next := map[int32]int64{}
	for _, l := range ls[2:] {
		switch l.name {
		case "hello", "started":
			t.Errorf("second %s", l.raw)
		case "assigned", "revoked", "lost":
			var b struct {
				Parts      []int32 `json:"parts"`
				Generation *int32  `json:"generation"`
			}
			mustUnmarshal(t, l.body, &b)
			if b.Parts == nil || b.Generation == nil {
				t.Errorf("incomplete %s", l.raw)
			}
			for _, p := range b.Parts {
				assigned[p] = l.name == "assigned"
			}
		case "processed":
			var b processed
			mustUnmarshal(t, l.body, &b)
			if !assigned[b.P] {
				t.Errorf("processed on a partition not assigned: %s", l.raw)
			}
			if want := [2]uint64{0, uint64(b.O)*partitions + uint64(b.P)}; b.ID != want {
				t.Errorf("id: %s, want %v", l.raw, want)
			}
			if lg.processed[b.P] == nil {
				lg.processed[b.P] = map[int64]bool{}
			}
			if lg.processed[b.P][b.O] {
				t.Errorf("processed twice: %s", l.raw)
			}
			lg.processed[b.P][b.O] = true
			for lg.processed[b.P][next[b.P]] {
				next[b.P]++
			}
		case "committed":
			var b committed
			mustUnmarshal(t, l.body, &b)
			if b.Err != nil {
				t.Logf("failed commit: %s", l.raw)
				continue
			}
			if s.Commit != commitAuto && b.O > next[b.P] {
				t.Errorf("commit ahead of processing: %s (processed up to %d)", l.raw, next[b.P])
			}
			lg.last[b.P] = b.O
		case "seek":
			var b struct{ P, From, To int64 }
			mustUnmarshal(t, l.body, &b)
			lg.seeks = append(lg.seeks, b)
			// The records between are skipped on purpose.
			if next[int32(b.P)] == b.From {
				next[int32(b.P)] = b.To
			}
		case "fetch-paused", "fetch-resumed", "finished", "holding-record":
		case "client-error":
			t.Logf("client error: %s", l.raw)
		default:
			t.Errorf("unknown event %s", l.raw)
		}
	}
	if countOf(ls, "assigned") == 0 {
		t.Errorf("no assigned event")
	}
	return lg
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("bad event body %s: %v", b, err)
	}
}

// wantProcessed checks that exactly offsets [0, upTo) of each partition were processed.
func wantProcessed(t *testing.T, lg ledger, upTo int64) {
	t.Helper()
	for p := int32(0); p < partitions; p++ {
		if got := int64(len(lg.processed[p])); got != upTo {
			t.Errorf("partition %d: %d records processed, want %d", p, got, upTo)
		}
		for o := int64(0); o < upTo; o++ {
			if !lg.processed[p][o] {
				t.Errorf("partition %d: offset %d not processed", p, o)
				break
			}
		}
	}
}

// wantCommitted checks the last reported commit of each partition, and that
// the cluster holds the same.
func wantCommitted(t *testing.T, lg ledger, s spec, want int64) {
	t.Helper()
	broker := brokerCommitted(t, s.Group, s.Topic)
	for p := int32(0); p < partitions; p++ {
		if lg.last[p] != want {
			t.Errorf("partition %d: last reported commit %d, want %d", p, lg.last[p], want)
		}
		if broker[p] != lg.last[p] {
			t.Errorf("partition %d: cluster has %d committed, the worker reported %d", p, broker[p], lg.last[p])
		}
	}
}

// ---- tests -----------------------------------------------------------------

// Every strategy the client can express: all 300 records processed once,
// commits never ahead of processing (but for auto), a clean exit on stop (or
// end of stdin) with everything processed committed, and reported.
func TestStrategies(t *testing.T) {
	for _, commit := range []string{commitAuto, commitAutoStoreAfter, commitSyncEach, commitSyncBatch} {
		t.Run(commit, func(t *testing.T) {
			t.Parallel()
			topic := newTopic(t, "strategy-"+commit)
			produce(t, topic, 0, 300)
			s := newSpec(topic, commit)
			w := runSpec(t, s)
			w.waitFor("300 records processed", 30*time.Second, processedAtLeast(300))
			if commit == commitSyncEach {
				// End of stdin means stop.
				_ = w.stdin.Close()
			} else {
				w.send(`"stop"`)
			}
			if code := w.waitExit(20 * time.Second); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			ls := w.snapshot()
			lg := check(t, ls, s)
			wantProcessed(t, lg, 100)
			wantCommitted(t, lg, s, 100)
			if countOf(ls, "revoked") == 0 {
				t.Errorf("no revoked event on leaving")
			}
			if commit == commitSyncEach && countOf(ls, "committed") < 300 {
				t.Errorf("sync-each: %d commits for 300 records", countOf(ls, "committed"))
			}
		})
	}
}

// Bounded mode: only the records below the snapshot, then finished and exit
// 0 by itself.
func TestBounded(t *testing.T) {
	for _, commit := range []string{commitSyncBatch, commitAuto, commitAutoStoreAfter} {
		t.Run(commit, func(t *testing.T) { testBounded(t, commit) })
	}
}

func testBounded(t *testing.T, commit string) {
	t.Parallel()
	topic := newTopic(t, "bounded-"+commit)
	produce(t, topic, 0, 300)
	s := newSpec(topic, commit)
	s.Batch = 10
	s.Snapshot = [][2]int64{{0, 40}, {1, 40}, {2, 40}}
	w := runSpec(t, s)
	if code := w.waitExit(30 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	ls := w.snapshot()
	lg := check(t, ls, s)
	wantProcessed(t, lg, 40)
	wantCommitted(t, lg, s, 40)
	if countOf(ls, "finished") != 1 {
		t.Errorf("want one finished")
	}
}

// Idle exit: everything processed, then finished once no record came for a while.
func TestIdleExit(t *testing.T) {
	t.Parallel()
	topic := newTopic(t, "idle")
	produce(t, topic, 0, 300)
	s := newSpec(topic, commitAutoStoreAfter)
	idle := uint64(4000) // counted from the start, as in the built-in worker: it covers joining the group
	s.IdleExitMs = &idle
	w := runSpec(t, s)
	if code := w.waitExit(30 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	ls := w.snapshot()
	lg := check(t, ls, s)
	wantProcessed(t, lg, 100)
	wantCommitted(t, lg, s, 100)
	if countOf(ls, "finished") != 1 {
		t.Errorf("want one finished")
	}
}

// pause-fetch stops processing; resume-fetch with seek_to_end skips what was
// written meanwhile, reporting a seek per partition.
func TestPauseResumeSeekToEnd(t *testing.T) {
	t.Parallel()
	topic := newTopic(t, "pause")
	produce(t, topic, 0, 300)
	s := newSpec(topic, commitSyncBatch)
	w := runSpec(t, s)
	w.waitFor("300 records processed", 30*time.Second, processedAtLeast(300))
	w.send(`"pause-fetch"`)
	w.waitFor("fetch-paused", 10*time.Second, count("fetch-paused"))
	produce(t, topic, 300, 360) // offsets 100..119
	time.Sleep(time.Second)
	if n := countOf(w.snapshot(), "processed"); n != 300 {
		t.Errorf("%d records processed while paused", n-300)
	}
	w.send(`{"resume-fetch":{"seek_to_end":true}}`)
	w.waitFor("fetch-resumed", 20*time.Second, count("fetch-resumed"))
	produce(t, topic, 360, 390) // offsets 120..129
	w.waitFor("the records after the seek", 20*time.Second, processedAtLeast(330))
	w.send(`"stop"`)
	if code := w.waitExit(20 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	ls := w.snapshot()
	for _, l := range ls {
		if l.name == "fetch-paused" || l.name == "fetch-resumed" {
			if l.raw != fmt.Sprintf(`{%q:{"parts":[0,1,2]}}`, l.name) {
				t.Errorf("%s", l.raw)
			}
		}
	}
	lg := check(t, ls, s)
	if len(lg.seeks) != partitions {
		t.Errorf("want %d seeks, got %v", partitions, lg.seeks)
	}
	for _, sk := range lg.seeks {
		if sk.From != 100 || sk.To != 120 {
			t.Errorf("seek %+v, want from 100 to 120", sk)
		}
	}
	for p := int32(0); p < partitions; p++ {
		for o := int64(0); o < 130; o++ {
			skipped := o >= 100 && o < 120
			if lg.processed[p][o] == skipped {
				t.Errorf("partition %d offset %d: processed %v", p, o, !skipped)
			}
		}
	}
	wantCommitted(t, lg, s, 130)
}

type held struct {
	P int32 `json:"p"`
	O int64 `json:"o"`
}

// indexOf: the index of the first line named so, or -1.
func indexOf(ls []line, name string) int {
	for i, l := range ls {
		if l.name == name {
			return i
		}
	}
	return -1
}

// processedAt: the record of a processed line.
func processedAt(t *testing.T, l line) held {
	t.Helper()
	var b processed
	mustUnmarshal(t, l.body, &b)
	return held{P: b.P, O: b.O}
}

// holdOne: with records flowing (10 ms of processing each, 3 s for the
// 300), arms a hold and waits for the record it holds. Returns the record
// and the index of its holding-record line.
func holdOne(t *testing.T, w *worker) (held, int) {
	t.Helper()
	w.waitFor("20 records processed", 30*time.Second, processedAtLeast(20))
	w.send(`"hold-record"`)
	w.waitFor("holding-record", 10*time.Second, count("holding-record"))
	ls := w.snapshot()
	i := indexOf(ls, "holding-record")
	if n := countOf(ls, "holding-record"); n != 1 {
		t.Errorf("%d holding-record lines for one hold-record", n)
	}
	var h held
	mustUnmarshal(t, ls[i].body, &h)
	if countOf(ls, "processed") >= 300 {
		t.Fatalf("every record was processed before the hold")
	}
	for _, l := range ls[:i] {
		if l.name == "processed" && processedAt(t, l) == h {
			t.Errorf("the held record was processed before the hold: %s", l.raw)
		}
	}
	return h, i
}

// hold-record holds the next record: no processed while it is held, the
// held record is the first processed after release-record, then the rest
// follow, each once, with commits never ahead.
func TestHoldRecord(t *testing.T) {
	t.Parallel()
	topic := newTopic(t, "hold")
	produce(t, topic, 0, 300)
	s := newSpec(topic, commitSyncEach)
	s.ProcessingUs = 10000
	w := runSpec(t, s)
	h, i := holdOne(t, w)
	time.Sleep(time.Second)
	if n := countOf(w.snapshot()[i+1:], "processed"); n > 0 {
		t.Fatalf("%d records processed during the hold", n)
	}
	w.send(`"release-record"`)
	w.waitFor("the held record processed", 10*time.Second, func(ls []line) bool { return countOf(ls[i+1:], "processed") > 0 })
	after := w.snapshot()[i+1:]
	if first := after[indexOf(after, "processed")]; processedAt(t, first) != h {
		t.Errorf("first processed after the release: %s, want the held record %+v", first.raw, h)
	}
	w.waitFor("300 records processed", 30*time.Second, processedAtLeast(300))
	w.send(`"stop"`)
	if code := w.waitExit(20 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	ls := w.snapshot()
	lg := check(t, ls, s)
	wantProcessed(t, lg, 100)
	wantCommitted(t, lg, s, 100)
	if n := countOf(ls, "revoked") + countOf(ls, "lost"); n != 1 {
		t.Errorf("%d revoked/lost events, want the one on leaving", n)
	}
}

// stop, or the end of stdin, during a hold: exit 0 without processing the
// held record; what was processed before it is committed, and only that.
func TestHoldRecordStop(t *testing.T) {
	for _, how := range []string{"stop", "eof"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			topic := newTopic(t, "hold-"+how)
			produce(t, topic, 0, 300)
			s := newSpec(topic, commitSyncEach)
			s.ProcessingUs = 10000
			w := runSpec(t, s)
			h, i := holdOne(t, w)
			if how == "stop" {
				w.send(`"stop"`)
			} else {
				_ = w.stdin.Close()
			}
			if code := w.waitExit(20 * time.Second); code != 0 {
				t.Errorf("exit code %d after %s during a hold, want 0", code, how)
			}
			ls := w.snapshot()
			if n := countOf(ls[i+1:], "processed"); n > 0 {
				t.Errorf("%d records processed after the hold", n)
			}
			lg := check(t, ls, s)
			// sync-each: every record before the held one is committed.
			if lg.last[h.P] != h.O {
				t.Errorf("partition %d: last commit %d, want the held offset %d", h.P, lg.last[h.P], h.O)
			}
			if b := max(brokerCommitted(t, s.Group, s.Topic)[h.P], 0); b != h.O {
				t.Errorf("partition %d: the cluster holds %d, want the held offset %d", h.P, b, h.O)
			}
			if countOf(ls, "revoked") == 0 {
				t.Errorf("no revoked event on leaving")
			}
		})
	}
}

// A hold past max.poll.interval.ms, what hold-record is for: librdkafka's
// poll timer fires while the record is in hand and the member leaves the
// group by itself (heartbeats alone do not keep it in). After the release
// the held record is processed, its commit fails, the next Poll returns the
// poll-interval error (a client-error) and serves the loss, the member
// rejoins and the held record comes again.
func TestHoldPastMaxPollInterval(t *testing.T) {
	t.Parallel()
	topic := newTopic(t, "hold-max-poll")
	produce(t, topic, 0, 300)
	s := newSpec(topic, commitSyncEach)
	s.ProcessingUs = 10000
	// librdkafka wants max.poll.interval.ms >= session.timeout.ms.
	s.Properties = map[string]string{"session.timeout.ms": "3000", "heartbeat.interval.ms": "300", "max.poll.interval.ms": "3000"}
	w := runSpec(t, s)
	h, i := holdOne(t, w)
	time.Sleep(5 * time.Second)
	if n := countOf(w.snapshot()[i+1:], "processed"); n > 0 {
		t.Fatalf("%d records processed during the hold", n)
	}
	w.send(`"release-record"`)
	// Every record processed, and committed where the member stands now.
	allCommitted := func() bool {
		for _, o := range brokerCommitted(t, s.Group, s.Topic) {
			if o != 100 {
				return false
			}
		}
		return true
	}
	w.waitFor("every record processed after the rejoin", 30*time.Second, func(ls []line) bool {
		seen := map[held]bool{}
		for _, l := range ls {
			if l.name == "processed" {
				seen[processedAt(t, l)] = true
			}
		}
		return len(seen) == 300
	})
	deadline := time.Now().Add(20 * time.Second)
	for !allCommitted() {
		if time.Now().After(deadline) {
			t.Fatalf("committed: %v", brokerCommitted(t, s.Group, s.Topic))
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.send(`"stop"`)
	if code := w.waitExit(20 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	ls := w.snapshot()
	checkMember(t, ls, s)

	// After the hold, in this order: the held record processed, its
	// commit failing, the poll-interval error, the loss, the new
	// assignment, the held record again.
	steps := []struct {
		what string
		is   func(line) bool
	}{
		{"the held record processed", func(l line) bool { return l.name == "processed" && processedAt(t, l) == h }},
		{"its commit failing", func(l line) bool {
			var c committed
			return l.name == "committed" && json.Unmarshal(l.body, &c) == nil && c.P == h.P && c.O == h.O+1 && c.Err != nil
		}},
		{"the poll-interval client-error", func(l line) bool {
			return l.name == "client-error" && strings.Contains(l.raw, "maximum poll interval")
		}},
		{"lost", func(l line) bool { return l.name == "lost" }},
		{"assigned", func(l line) bool { return l.name == "assigned" }},
		{"the held record processed again", func(l line) bool { return l.name == "processed" && processedAt(t, l) == h }},
	}
	next := 0
	for _, l := range ls[i+1:] {
		if next < len(steps) && steps[next].is(l) {
			next++
		}
	}
	if next < len(steps) {
		t.Errorf("after the hold of %+v: no %s (in order)", h, steps[next].what)
	}
}

// What the client cannot do is refused up front: hello, a client-error, exit 2.
func TestRefusals(t *testing.T) {
	t.Parallel()
	bad := newSpec("refused", commitAsync)
	badProp := newSpec("refused", commitAuto)
	badProp.Properties = map[string]string{"no.such.property": "1"}
	goProp := newSpec("refused", commitAuto)
	goProp.Properties = map[string]string{"go.events.channel.enable": "true"}
	cases := map[string]string{
		"producer":       `{"producer":{"index":0,"bootstrap":"localhost:9","topic":"t","records":1,"rate":0,"keys":0,"acks":"all","idempotence":true,"properties":{}}}`,
		"async":          mustJSON(t, map[string]spec{"consumer": bad}),
		"unknown-prop":   mustJSON(t, map[string]spec{"consumer": badProp}),
		"go-prop":        mustJSON(t, map[string]spec{"consumer": goProp}),
		"not-json":       `{`,
		"unknown-commit": strings.Replace(mustJSON(t, map[string]spec{"consumer": bad}), `"async"`, `"sometimes"`, 1),
	}
	for name, js := range cases {
		t.Run(name, func(t *testing.T) {
			w := startWorker(t, js)
			if code := w.waitExit(10 * time.Second); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			ls := w.snapshot()
			if len(ls) != 2 || ls[0].name != "hello" || ls[1].name != "client-error" {
				t.Errorf("want hello and client-error, got %v", ls)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeID(t *testing.T) {
	for in, want := range map[string][2]uint64{
		"fl/0/17":                   {0, 17},
		"fl/3/0":                    {3, 0},
		"fl/4294967296/1":           unknownID,
		"fl/x/1":                    unknownID,
		"fl/1":                      unknownID,
		"hello":                     unknownID,
		"":                          unknownID,
		"fl/1/18446744073709551615": {1, 18446744073709551615},
	} {
		if got := decodeID([]byte(in)); got != want {
			t.Errorf("decodeID(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	for in, want := range map[string]command{
		`"stop"`:                                 {stop: true},
		`"pause-fetch"`:                          {pause: true},
		`{"resume-fetch":{"seek_to_end":true}}`:  {resume: true, seekToEnd: true},
		`{"resume-fetch":{"seek_to_end":false}}`: {resume: true},
		`"hold-record"`:                          {hold: true},
		`"release-record"`:                       {release: true},
	} {
		got, ok := parseCommand([]byte(in))
		if !ok || got != want {
			t.Errorf("parseCommand(%s) = %+v, %v", in, got, ok)
		}
	}
	for _, in := range []string{`"dance"`, `{"resume-fetch":{}}`, `{"x":1}`, `[]`, `nope`, `{"hold-record":{}}`, `"holding-record"`} {
		if _, ok := parseCommand([]byte(in)); ok {
			t.Errorf("parseCommand(%s) accepted", in)
		}
	}
}

// The KIP-848 group protocol (group.protocol=consumer).
func TestConsumerProtocol(t *testing.T) {
	t.Parallel()
	topic := newTopic(t, "kip848")
	produce(t, topic, 0, 300)
	s := newSpec(topic, commitSyncBatch)
	s.Protocol = "consumer"
	w := runSpec(t, s)
	w.waitFor("300 records processed", 30*time.Second, processedAtLeast(300))
	w.send(`"stop"`)
	if code := w.waitExit(20 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	lg := check(t, w.snapshot(), s)
	wantProcessed(t, lg, 100)
	wantCommitted(t, lg, s, 100)
}

// Two members: the second one's arrival revokes and reassigns the first's
// partitions; the first, paused, stays paused across that rebalance; in the
// end every record was processed (at least once) and committed, and no
// member's leaving moved a committed offset back.
func TestRebalancePausedMember(t *testing.T) {
	t.Parallel()
	topic := newTopic(t, "rebalance")
	produce(t, topic, 0, 300)
	s := newSpec(topic, commitSyncEach)
	s.ProcessingUs = 5000
	s.Properties = map[string]string{"heartbeat.interval.ms": "100", "session.timeout.ms": "6000"}
	a := runSpec(t, s)
	a.waitFor("a few records processed", 30*time.Second, processedAtLeast(30))
	a.send(`"pause-fetch"`)
	a.waitFor("fetch-paused", 10*time.Second, count("fetch-paused"))
	paused := countOf(a.snapshot(), "processed")

	b := runSpec(t, s)
	a.waitFor("the first member's reassignment", 30*time.Second, func(ls []line) bool { return countOf(ls, "assigned") >= 2 })
	b.waitFor("the second member's assignment", 30*time.Second, count("assigned"))
	time.Sleep(time.Second)
	if n := countOf(a.snapshot(), "processed"); n != paused {
		t.Errorf("the paused member processed %d records across the rebalance", n-paused)
	}
	a.send(`{"resume-fetch":{"seek_to_end":false}}`)
	a.waitFor("fetch-resumed", 10*time.Second, count("fetch-resumed"))

	seen := func() map[[2]int64]bool {
		all := map[[2]int64]bool{}
		for _, w := range []*worker{a, b} {
			for _, l := range w.snapshot() {
				if l.name == "processed" {
					var p processed
					mustUnmarshal(t, l.body, &p)
					all[[2]int64{int64(p.P), p.O}] = true
				}
			}
		}
		return all
	}
	allCommitted := func() bool {
		for _, o := range brokerCommitted(t, s.Group, topic) {
			if o != 100 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen()) < 300 || !allCommitted() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 300 records processed, committed: %v", len(seen()), brokerCommitted(t, s.Group, topic))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// One after the other: a member leaving starts a rebalance, and a commit
	// the other makes meanwhile fails (as it should, and is reported so).
	b.send(`"stop"`)
	if code := b.waitExit(20 * time.Second); code != 0 {
		t.Errorf("second member: exit code %d, want 0", code)
	}
	a.send(`"stop"`)
	if code := a.waitExit(20 * time.Second); code != 0 {
		t.Errorf("first member: exit code %d, want 0", code)
	}
	checkMember(t, a.snapshot(), s)
	checkMember(t, b.snapshot(), s)
	if countOf(a.snapshot(), "revoked") < 2 {
		t.Errorf("the first member saw no revoke before its reassignment")
	}
	if !allCommitted() {
		t.Errorf("committed offsets moved: %v", brokerCommitted(t, s.Group, topic))
	}
}

// checkMember checks one member of a shared group: hello, started, processed
// only while assigned, and every commit right after a record the member
// itself processed.
func checkMember(t *testing.T, ls []line, s spec) {
	t.Helper()
	if len(ls) < 2 || ls[0].name != "hello" || ls[1].name != "started" {
		t.Fatalf("want hello then started")
	}
	assigned := map[int32]bool{}
	done := map[[2]int64]bool{}
	for _, l := range ls[2:] {
		switch l.name {
		case "assigned", "revoked", "lost":
			var b struct{ Parts []int32 }
			mustUnmarshal(t, l.body, &b)
			for _, p := range b.Parts {
				assigned[p] = l.name == "assigned"
			}
		case "processed":
			var b processed
			mustUnmarshal(t, l.body, &b)
			if !assigned[b.P] {
				t.Errorf("processed on a partition not assigned: %s", l.raw)
			}
			done[[2]int64{int64(b.P), b.O}] = true
		case "committed":
			var b committed
			mustUnmarshal(t, l.body, &b)
			if b.Err == nil && !done[[2]int64{int64(b.P), b.O - 1}] {
				t.Errorf("commit past a record this member did not process: %s", l.raw)
			}
		}
	}
}
