package main

// Scenario properties (librdkafka names) mapped to kgo options.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// mapProperties turns the scenario's properties into kgo options. A property
// with no franz-go equivalent, or with a value it cannot take, is returned
// as a problem for the caller to report as a client-error; the rest still
// apply.
func mapProperties(props map[string]string) (opts []kgo.Opt, problems []string) {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	ms := func(k, v string, opt func(time.Duration) kgo.Opt) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("property %s=%q: not a number of milliseconds", k, v))
			return
		}
		opts = append(opts, opt(time.Duration(n)*time.Millisecond))
	}
	bytes := func(k, v string, opt func(int32) kgo.Opt) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n <= 0 {
			problems = append(problems, fmt.Sprintf("property %s=%q: not a positive number of bytes", k, v))
			return
		}
		opts = append(opts, opt(int32(n)))
	}

	for _, k := range keys {
		v := props[k]
		switch k {
		case "session.timeout.ms":
			ms(k, v, func(d time.Duration) kgo.Opt { return kgo.SessionTimeout(d) })
		case "heartbeat.interval.ms":
			ms(k, v, func(d time.Duration) kgo.Opt { return kgo.HeartbeatInterval(d) })
		case "max.poll.interval.ms":
			// The nearest franz-go has: the rebalance timeout the member
			// joins with (the Java client derives it from this setting too).
			// franz-go has no poll-interval watchdog that leaves the group.
			ms(k, v, func(d time.Duration) kgo.Opt { return kgo.RebalanceTimeout(d) })
		case "socket.timeout.ms":
			// librdkafka's timeout of a request on the wire; franz-go's
			// nearest is the overhead it deadlines every request with
			// (requests with a timeout field get it on top).
			ms(k, v, func(d time.Duration) kgo.Opt { return kgo.RequestTimeoutOverhead(d) })
		case "auto.commit.interval.ms":
			ms(k, v, func(d time.Duration) kgo.Opt { return kgo.AutoCommitInterval(d) })
		case "fetch.wait.max.ms", "fetch.max.wait.ms":
			// librdkafka spells it fetch.wait.max.ms; the Java client
			// fetch.max.wait.ms. Both mean the same thing.
			ms(k, v, func(d time.Duration) kgo.Opt { return kgo.FetchMaxWait(d) })
		case "fetch.min.bytes":
			bytes(k, v, func(n int32) kgo.Opt { return kgo.FetchMinBytes(n) })
		case "fetch.max.bytes":
			bytes(k, v, func(n int32) kgo.Opt { return kgo.FetchMaxBytes(n) })
		case "max.partition.fetch.bytes":
			bytes(k, v, func(n int32) kgo.Opt { return kgo.FetchMaxPartitionBytes(n) })
		case "client.id":
			opts = append(opts, kgo.ClientID(v))
		case "group.instance.id":
			opts = append(opts, kgo.InstanceID(v))
		case "isolation.level":
			switch v {
			case "read_committed":
				opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
			case "read_uncommitted":
				opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
			default:
				problems = append(problems, fmt.Sprintf("property %s=%q: not read_committed or read_uncommitted", k, v))
			}
		case "auto.offset.reset":
			switch v {
			case "earliest", "smallest", "beginning":
				opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			case "latest", "largest", "end":
				opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
			default:
				problems = append(problems, fmt.Sprintf("property %s=%q: franz-go maps only earliest and latest", k, v))
			}
		case "partition.assignment.strategy", "group.remote.assignor":
			balancers, err := parseBalancers(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("property %s=%q: %v", k, v, err))
				continue
			}
			opts = append(opts, kgo.Balancers(balancers...))
		case "bootstrap.servers", "group.id", "group.protocol", "enable.auto.commit", "enable.auto.offset.store":
			problems = append(problems, fmt.Sprintf("property %s is not applied: franz-go's adapter sets it from the spec (bootstrap, group, protocol, commit)", k))
		default:
			problems = append(problems, fmt.Sprintf("property %s has no franz-go equivalent in this adapter; ignored", k))
		}
	}
	return opts, problems
}

// parseBalancers maps librdkafka's partition.assignment.strategy (a comma
// separated list, in order of preference) or KIP-848's group.remote.assignor
// (uniform, range) to kgo balancers.
func parseBalancers(v string) ([]kgo.GroupBalancer, error) {
	var out []kgo.GroupBalancer
	for _, name := range strings.Split(v, ",") {
		switch strings.TrimSpace(name) {
		case "range":
			out = append(out, kgo.RangeBalancer())
		case "roundrobin":
			out = append(out, kgo.RoundRobinBalancer())
		case "cooperative-sticky", "uniform":
			out = append(out, kgo.CooperativeStickyBalancer())
		default:
			return nil, fmt.Errorf("unknown strategy %q (franz-go maps range, roundrobin, cooperative-sticky)", strings.TrimSpace(name))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no strategy")
	}
	return out, nil
}
