package main

// The faultline worker protocol, version 3 (docs/worker-protocol.md): the
// spec read from FAULTLINE_WORKER_SPEC, the commands read from stdin and the
// events written to stdout, one JSON value per line.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

const protocolVersion = 3

// specEnv carries the worker's spec (JSON) from faultline to the worker.
const specEnv = "FAULTLINE_WORKER_SPEC"

// workerSpec is `{"consumer": {...}}` or `{"producer": {...}}`.
type workerSpec struct {
	Consumer *consumerSpec   `json:"consumer"`
	Producer json.RawMessage `json:"producer"`
}

type consumerSpec struct {
	Group        string            `json:"group"`
	Bootstrap    string            `json:"bootstrap"`
	Topic        string            `json:"topic"`
	Commit       string            `json:"commit"`
	Batch        uint32            `json:"batch"`
	ProcessingUs uint64            `json:"processing_us"`
	Protocol     string            `json:"protocol"`
	Snapshot     *[][2]int64       `json:"snapshot"`
	IdleExitMs   *uint64           `json:"idle_exit_ms"`
	Properties   map[string]string `json:"properties"`
}

// Commit strategies (the `commit` field).
const (
	commitAuto           = "auto"
	commitAutoStoreAfter = "auto-store-after-processing"
	commitSyncEach       = "sync-each"
	commitSyncBatch      = "sync-batch"
	commitAsync          = "async"
)

// ---- events ----------------------------------------------------------------

type startedEv struct {
	Role  string `json:"role"`
	Group string `json:"group"`
}

type helloEv struct {
	Protocol int    `json:"protocol"`
	Client   string `json:"client"`
	Version  string `json:"version"`
}

type partsEv struct {
	Parts      []int32 `json:"parts"`
	Generation int32   `json:"generation"`
}

type fetchEv struct {
	Parts []int32 `json:"parts"`
}

type processedEv struct {
	P  int32     `json:"p"`
	O  int64     `json:"o"`
	ID [2]uint64 `json:"id"`
}

type committedEv struct {
	P   int32   `json:"p"`
	O   int64   `json:"o"`
	Err *string `json:"err,omitempty"`
}

type seekEv struct {
	P    int32 `json:"p"`
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

type holdingEv struct {
	P int32 `json:"p"`
	O int64 `json:"o"`
}

type clientErrorEv struct {
	Msg string `json:"msg"`
}

var stdoutMu sync.Mutex

// emit writes one event as one JSON line and flushes it (os.Stdout is not
// buffered: the line is handed to the kernel by this single write) before
// the caller acts on what it reports. If the harness is gone there is nobody
// to report to, so the worker exits rather than act unobserved.
func emit(ev any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil { // Encode appends the newline
		fmt.Fprintf(os.Stderr, "cannot encode event %#v: %v\n", ev, err)
		os.Exit(3)
	}
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	if _, err := os.Stdout.Write(buf.Bytes()); err != nil {
		fmt.Fprintf(os.Stderr, "stdout is gone (%v): exiting\n", err)
		os.Exit(3)
	}
}

func event(name string, body any) map[string]any { return map[string]any{name: body} }

func emitClientError(format string, args ...any) {
	emit(event("client-error", clientErrorEv{Msg: fmt.Sprintf(format, args...)}))
}

func emitCommitted(p int32, o int64, err error) {
	ev := committedEv{P: p, O: o}
	if err != nil {
		s := err.Error()
		ev.Err = &s
	}
	emit(event("committed", ev))
}

// nonNil makes an empty partition list serialise as [] rather than null.
func nonNil(parts []int32) []int32 {
	if parts == nil {
		return []int32{}
	}
	return parts
}

// ---- records ---------------------------------------------------------------

// unknownID is reported for a value that is not `fl/<index>/<seq>`.
var unknownID = [2]uint64{4294967295, 0}

// decodeID parses a record value written by a faultline producer.
func decodeID(value []byte) [2]uint64 {
	rest, ok := strings.CutPrefix(string(value), "fl/")
	if !ok {
		return unknownID
	}
	idx, seq, ok := strings.Cut(rest, "/")
	if !ok {
		return unknownID
	}
	i, err1 := strconv.ParseUint(idx, 10, 32)
	s, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return unknownID
	}
	return [2]uint64{i, s}
}

// ---- commands --------------------------------------------------------------

type command struct {
	stop      bool
	pause     bool
	resume    bool
	seekToEnd bool
	hold      bool // hold-record
	release   bool // release-record
}

// parseCommand reads one command line; ok is false for an unknown command.
func parseCommand(line []byte) (command, bool) {
	var s string
	if json.Unmarshal(line, &s) == nil {
		switch s {
		case "stop":
			return command{stop: true}, true
		case "pause-fetch":
			return command{pause: true}, true
		case "hold-record":
			return command{hold: true}, true
		case "release-record":
			return command{release: true}, true
		}
		return command{}, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil || len(obj) != 1 {
		return command{}, false
	}
	raw, ok := obj["resume-fetch"]
	if !ok {
		return command{}, false
	}
	var body struct {
		SeekToEnd *bool `json:"seek_to_end"`
	}
	if json.Unmarshal(raw, &body) != nil || body.SeekToEnd == nil {
		return command{}, false
	}
	return command{resume: true, seekToEnd: *body.SeekToEnd}, true
}

// commands reads stdin on a goroutine. End of input (or a read error) means
// stop: the harness is gone or done with us.
func commands() <-chan command {
	ch := make(chan command, 16)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			cmd, ok := parseCommand(line)
			if !ok {
				fmt.Fprintf(os.Stderr, "ignoring unknown command %q\n", line)
				continue
			}
			ch <- cmd
		}
		ch <- command{stop: true}
	}()
	return ch
}
