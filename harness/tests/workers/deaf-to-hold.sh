#!/usr/bin/env bash
# A worker broken on purpose: the built-in worker, deaf to hold-record and
# release-record (as one written for protocol 2 would be).
grep --line-buffered -v -e '"hold-record"' -e '"release-record"' |
  "${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline binary}" worker
