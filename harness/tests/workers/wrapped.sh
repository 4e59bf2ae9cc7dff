#!/usr/bin/env bash
# A worker behind a pipe, as a user's wrapper script may run one: bash, the
# built-in worker and cat, in one process group. Nothing here dies with the
# harness: stalled (SIGSTOP) when the harness is killed, all three would
# wait forever unless the next faultline reaps them.
"${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline binary}" worker | cat
