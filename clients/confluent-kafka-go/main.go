// Command faultline-confluent-kafka-go is a faultline consumer worker built
// on confluent-kafka-go (librdkafka underneath). It speaks the worker
// protocol of docs/worker-protocol.md: the spec in FAULTLINE_WORKER_SPEC,
// commands on stdin, events on stdout, logs on stderr.
//
// It is an honest client: group membership, offset store, commits, pause and
// seek are the library's own; the worker only reports what the library did.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

const (
	clientName = "confluent-kafka-go"
	modulePath = "github.com/confluentinc/confluent-kafka-go/v2"
	// The version pinned in go.mod, in case the binary carries no build info.
	fallbackVersion = "v2.11.1"
)

func main() {
	os.Exit(realMain())
}

func realMain() int {
	// A write to a closed stdout must fail (and the worker exit 3), not kill
	// the process with SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)

	emit(event("hello", helloEv{Protocol: protocolVersion, Client: clientName, Version: clientVersion()}))

	raw, ok := os.LookupEnv(specEnv)
	if !ok {
		emitClientError("no %s in the environment (workers are started by `faultline run`)", specEnv)
		return 2
	}
	var spec workerSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		emitClientError("invalid %s: %v", specEnv, err)
		return 2
	}
	if spec.Producer != nil {
		emitClientError("the %s adapter is a consumer only: it cannot run a producer spec", clientName)
		return 2
	}
	if spec.Consumer == nil {
		emitClientError("invalid %s: neither \"consumer\" nor \"producer\"", specEnv)
		return 2
	}
	if msg := validate(spec.Consumer); msg != "" {
		emitClientError("%s", msg)
		return 2
	}
	return runConsumer(spec.Consumer)
}

// clientVersion is "<confluent-kafka-go version> (librdkafka <version>)".
func clientVersion() string {
	version := fallbackVersion
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == modulePath {
				version = dep.Version
				if dep.Replace != nil && dep.Replace.Version != "" {
					version = dep.Replace.Version
				}
			}
		}
	}
	_, rdkafka := kafka.LibraryVersion()
	return fmt.Sprintf("%s (librdkafka %s)", version, rdkafka)
}

// validate checks what the spec asks for against what this client can do;
// it returns why not, or "".
func validate(s *consumerSpec) string {
	switch {
	case s.Group == "":
		return "invalid consumer spec: no group"
	case s.Bootstrap == "":
		return "invalid consumer spec: no bootstrap"
	case s.Topic == "":
		return "invalid consumer spec: no topic"
	}
	switch s.Commit {
	case commitAuto, commitAutoStoreAfter, commitSyncEach, commitSyncBatch:
	case commitAsync:
		// confluent-kafka-go has no asynchronous commit. Its Commit,
		// CommitMessage and CommitOffsets all block until the broker answers
		// (they call rd_kafka_commit_queue on a temporary queue and wait on
		// it); librdkafka's rd_kafka_commit(..., async=1) is not exposed, and
		// the wrapper's own advice is to call the blocking commit from a
		// goroutine. A goroutine would make this worker, not the library,
		// decide how commits overlap, queue and order across rebalances, so
		// the strategy is refused rather than imitated.
		return fmt.Sprintf("commit strategy %q is not supported by %s: the library has no asynchronous commit API (Commit/CommitOffsets are synchronous)", commitAsync, clientName)
	default:
		return fmt.Sprintf("unknown commit strategy %q", s.Commit)
	}
	switch s.Protocol {
	case "classic", "consumer":
	default:
		return fmt.Sprintf("unknown group protocol %q", s.Protocol)
	}
	if s.Snapshot != nil {
		for _, po := range *s.Snapshot {
			if po[0] < 0 || po[0] > 1<<31-1 {
				return fmt.Sprintf("invalid snapshot partition %d", po[0])
			}
		}
	}
	return ""
}
