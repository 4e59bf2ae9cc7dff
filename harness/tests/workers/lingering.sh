#!/usr/bin/env bash
# A worker whose wrapper keeps a helper process that ignores SIGHUP and
# never reads its input. When the harness dies, the worker itself ends (end
# of its input; SIGHUP and SIGCONT from the kernel if it was stalled), but
# the wrapper and its helper stay until a faultline reaps them.
trap '' HUP
sleep 600 &
"${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline binary}" worker | cat
wait
