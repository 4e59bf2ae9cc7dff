package main

// The worker side of the protocol: one event, one flushed JSON line.

import (
	"encoding/json"
	"os"
	"sort"
	"sync"
)

// protocolVersion: the worker protocol this adapter speaks (its hello).
const protocolVersion = 3

var stdoutMu sync.Mutex

// emit writes one event as one JSON line with a single write(2) on stdout
// (unbuffered, so the line is out of the process when emit returns: the
// flush-before-act rule). If the harness is gone there is nobody to report
// to, so the worker exits rather than act unobserved.
func emit(ev any) {
	b, err := json.Marshal(ev)
	if err != nil {
		// Every event is built from plain types here; this cannot happen.
		panic(err)
	}
	b = append(b, '\n')
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	if _, err := os.Stdout.Write(b); err != nil {
		os.Exit(3)
	}
}

// Events, with field names and order as docs/worker-protocol.md shows them.

type helloEv struct {
	Protocol int    `json:"protocol"`
	Client   string `json:"client"`
	Version  string `json:"version"`
}

type startedEv struct {
	Role  string `json:"role"`
	Group string `json:"group"`
}

type partsGenEv struct {
	Parts      []int32 `json:"parts"`
	Generation int32   `json:"generation"`
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

type partsEv struct {
	Parts []int32 `json:"parts"`
}

type seekEv struct {
	P    int32 `json:"p"`
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

type heldEv struct {
	P int32 `json:"p"`
	O int64 `json:"o"`
}

type msgEv struct {
	Msg string `json:"msg"`
}

func emitHello(version string) {
	emit(map[string]helloEv{"hello": {Protocol: protocolVersion, Client: "franz-go", Version: version}})
}

func emitStarted(group string) {
	emit(map[string]startedEv{"started": {Role: "consumer", Group: group}})
}

func emitPartsGen(kind string, parts []int32, generation int32) {
	emit(map[string]partsGenEv{kind: {Parts: sorted(parts), Generation: generation}})
}

func emitProcessed(p int32, o int64, id [2]uint64) {
	emit(map[string]processedEv{"processed": {P: p, O: o, ID: id}})
}

func emitCommitted(p int32, o int64, err error) {
	ev := committedEv{P: p, O: o}
	if err != nil {
		s := err.Error()
		ev.Err = &s
	}
	emit(map[string]committedEv{"committed": ev})
}

func emitParts(kind string, parts []int32) {
	emit(map[string]partsEv{kind: {Parts: sorted(parts)}})
}

func emitSeek(p int32, from, to int64) {
	emit(map[string]seekEv{"seek": {P: p, From: from, To: to}})
}

// emitHolding: the record at (p, o) is held (hold-record), written before
// the loop blocks on it.
func emitHolding(p int32, o int64) {
	emit(map[string]heldEv{"holding-record": {P: p, O: o}})
}

func emitFinished() { emit("finished") }

func emitClientError(msg string) {
	emit(map[string]msgEv{"client-error": {Msg: msg}})
}

// sorted returns a sorted copy, never nil (an empty list is [], not null).
func sorted(parts []int32) []int32 {
	out := append(make([]int32, 0, len(parts)), parts...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// unknownID is the id of a record whose value is not `fl/<producer>/<seq>`.
var unknownID = [2]uint64{4294967295, 0}

// decodeID reads the record id from a value written by a faultline producer:
// `fl/<producer>/<seq>`, producer a u32 and seq a u64 (parsed as Rust's
// from_str does: an optional leading '+', then decimal digits).
func decodeID(value []byte) [2]uint64 {
	s := string(value)
	if len(s) < 3 || s[:3] != "fl/" {
		return unknownID
	}
	rest := s[3:]
	slash := -1
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			slash = i
			break
		}
	}
	if slash < 0 {
		return unknownID
	}
	producer, ok := parseUint(rest[:slash], 32)
	if !ok {
		return unknownID
	}
	seq, ok := parseUint(rest[slash+1:], 64)
	if !ok {
		return unknownID
	}
	return [2]uint64{producer, seq}
}

func parseUint(s string, bits uint) (uint64, bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	max := uint64(1)<<bits - 1
	if bits == 64 {
		max = ^uint64(0)
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
