#!/usr/bin/env bash
# A worker broken on purpose: the built-in worker, with each commit reported
# before the records it covers (their `processed` lines are held back until
# the next commit is out).
"${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline binary}" worker | awk '
  /^\{"processed"/ { held[n++] = $0; next }
  /^\{"committed"/ { print; for (i = 0; i < n; i++) print held[i]; n = 0; fflush(); next }
  { print; fflush() }
  END { for (i = 0; i < n; i++) print held[i] }'
