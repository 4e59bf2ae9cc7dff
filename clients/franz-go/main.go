// faultline-franz-go: a faultline consumer worker on github.com/twmb/franz-go.
//
// It speaks the worker protocol of docs/worker-protocol.md: the spec comes in
// FAULTLINE_WORKER_SPEC, commands on stdin, events on stdout (one JSON value
// per line, each written out before the worker acts on it), logs on stderr.
// Group membership, commits and pausing are franz-go's own; the adapter only
// reports what the client does.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

const (
	specEnv    = "FAULTLINE_WORKER_SPEC"
	backendEnv = "FAULTLINE_BACKEND"
	franzGo    = "github.com/twmb/franz-go"
	// The version this adapter is built against, if the binary carries no
	// build information.
	franzGoVersion = "v1.22.3"
	// How long to wait, when leaving, for asynchronous commits to answer.
	asyncCommitWait = 30 * time.Second
)

type workerSpec struct {
	Consumer *consumerWork   `json:"consumer"`
	Producer *map[string]any `json:"producer"`
}

type consumerWork struct {
	Group        string            `json:"group"`
	Bootstrap    string            `json:"bootstrap"`
	Topic        string            `json:"topic"`
	Commit       string            `json:"commit"`
	Batch        uint32            `json:"batch"`
	ProcessingUs uint64            `json:"processing_us"`
	Protocol     string            `json:"protocol"`
	Snapshot     *[]partOffset     `json:"snapshot"`
	IdleExitMs   *uint64           `json:"idle_exit_ms"`
	Properties   map[string]string `json:"properties"`
}

// partOffset is one `[partition, offset]` pair of a snapshot.
type partOffset struct {
	P int32
	O int64
}

func (po *partOffset) UnmarshalJSON(b []byte) error {
	var pair []int64
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("a snapshot entry is [partition, offset], got %s", b)
	}
	po.P, po.O = int32(pair[0]), pair[1]
	return nil
}

func main() {
	// With SIGPIPE caught, a write to a stdout nobody reads any more fails
	// with EPIPE instead of killing the process, and emit exits with 3.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	emitHello(libraryVersion())
	os.Exit(run())
}

// libraryVersion: franz-go's version as built into this binary.
func libraryVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == franzGo {
				if dep.Replace != nil && dep.Replace.Version != "" {
					return dep.Replace.Version
				}
				if dep.Version != "" {
					return dep.Version
				}
			}
		}
	}
	return franzGoVersion
}

// fail reports why the worker cannot run and returns its exit code.
func fail(code int, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "faultline-franz-go:", msg)
	emitClientError(msg)
	return code
}

func run() int {
	raw, ok := os.LookupEnv(specEnv)
	if !ok {
		return fail(2, "no %s (workers are started by `faultline run`)", specEnv)
	}
	var spec workerSpec
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&spec); err != nil {
		return fail(2, "%s is not a valid worker spec: %v", specEnv, err)
	}
	if spec.Producer != nil {
		return fail(2, "this adapter runs consumers only; a producer spec is for the built-in worker")
	}
	if spec.Consumer == nil {
		return fail(2, "%s holds neither a consumer nor a producer", specEnv)
	}
	work := *spec.Consumer
	strat, ok := parseStrategy(work.Commit)
	if !ok {
		return fail(2, "unknown commit strategy %q", work.Commit)
	}
	switch work.Protocol {
	case "classic", "consumer":
	default:
		return fail(2, "unknown group protocol %q (classic or consumer)", work.Protocol)
	}
	if work.Group == "" || work.Topic == "" || work.Bootstrap == "" {
		return fail(2, "the consumer spec needs group, bootstrap and topic")
	}

	m := newMember(work, strat)
	opts := []kgo.Opt{
		kgo.SeedBrokers(splitBootstrap(work.Bootstrap)...),
		kgo.WithLogger(&logger{m: m}),
	}
	if os.Getenv(backendEnv) == "mock" {
		// librdkafka's mock cluster answers franz-go's newest ApiVersions
		// request in a way franz-go cannot read ("unable to read
		// ApiVersions response"); Kafka 2.3's request versions work.
		opts = append(opts, kgo.MaxVersions(kversion.V2_3_0()))
	}
	opts = append(opts, m.groupOpts()...)
	propOpts, problems := mapProperties(work.Properties)
	opts = append(opts, propOpts...)

	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fail(3, "creating the franz-go client: %v", err)
	}
	m.cl = cl
	emitStarted(work.Group)
	for _, p := range problems {
		emitClientError(p)
	}

	commands := readCommands()
	reason := m.run(commands)
	if reason == exitWrongProtocol {
		// Already reported by the logger when franz-go chose the
		// classic protocol.
		cl.CloseAllowingRebalance()
		return 2
	}
	// The explicit strategies commit what they processed before leaving;
	// the auto strategies leave it to the revoke on close.
	if strat.explicit() {
		m.commitPending(true)
	}
	waitTimeout(&m.inflight, asyncCommitWait)
	if reason == exitBounded || reason == exitIdle {
		emitFinished()
	}
	// Leaves the group: the revoke callback reports the partitions and
	// (auto strategies) makes franz-go's final commit.
	cl.CloseAllowingRebalance()
	return 0
}

func splitBootstrap(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func waitTimeout(wg interface{ Wait() }, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		fmt.Fprintln(os.Stderr, "faultline-franz-go: asynchronous commits still unanswered when leaving")
	}
}

// logger sends franz-go's log to stderr (saved as the worker's log) and
// reports its warnings and errors (connection refused, a failed join, a
// group session that died...) as client-errors.
type logger struct {
	m      *member
	warned atomic.Bool
}

func (l *logger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (l *logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(keyvals); i += 2 {
		fmt.Fprintf(&b, "; %v: %v", keyvals[i], keyvals[i+1])
	}
	line := b.String()
	fmt.Fprintf(os.Stderr, "%s [%s] %s\n", time.Now().Format("15:04:05.000"), level, line)
	if level == kgo.LogLevelError || level == kgo.LogLevelWarn {
		emitClientError(line)
	}
	// franz-go runs a KIP-848 member only if the broker offers
	// ConsumerGroupHeartbeat v1 and the balancer is range or
	// cooperative-sticky; otherwise it falls back to the classic protocol
	// without an error. Its log line is the only sign of which it chose.
	if l.m.wantConsumerProtocol && msg == "beginning to manage the group lifecycle" && !l.warned.Swap(true) {
		emitClientError("group.protocol=consumer: franz-go is joining with the classic protocol instead " +
			"(its KIP-848 consumer, kgo.ServerSideBalancer, needs a broker with ConsumerGroupHeartbeat v1 " +
			"- Kafka 4.0+, and not librdkafka's mock cluster under FAULTLINE_BACKEND=mock, where requests are " +
			"capped at Kafka 2.3 - and a range or cooperative-sticky assignor); refusing to run as a classic member")
		l.m.wrongProtocol.Store(true)
	}
}
