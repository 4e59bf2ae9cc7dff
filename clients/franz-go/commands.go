package main

// Commands from the runner, one JSON value per line on stdin.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

type command struct {
	kind      string // "stop", "pause-fetch", "resume-fetch", "hold-record", "release-record"
	seekToEnd bool
}

// readCommands reads stdin on its own goroutine; end of input means stop
// (the harness is gone or done with us). An unknown or malformed command is
// logged to stderr and ignored.
func readCommands() <-chan command {
	ch := make(chan command, 16)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Bytes()
			cmd, err := parseCommand(line)
			if err != nil {
				fmt.Fprintf(os.Stderr, "faultline-franz-go: ignoring bad command %q: %v\n", line, err)
				continue
			}
			ch <- cmd
		}
		ch <- command{kind: "stop"}
	}()
	return ch
}

func parseCommand(line []byte) (command, error) {
	var v any
	if err := json.Unmarshal(line, &v); err != nil {
		return command{}, err
	}
	switch c := v.(type) {
	case string:
		switch c {
		case "stop", "pause-fetch", "hold-record", "release-record":
			return command{kind: c}, nil
		}
	case map[string]any:
		if len(c) == 1 {
			if body, ok := c["resume-fetch"].(map[string]any); ok {
				seek, ok := body["seek_to_end"].(bool)
				if !ok {
					return command{}, fmt.Errorf("resume-fetch needs a boolean seek_to_end")
				}
				return command{kind: "resume-fetch", seekToEnd: seek}, nil
			}
		}
	}
	return command{}, fmt.Errorf("unknown command")
}
