#!/usr/bin/env bash
# A worker broken on purpose: it ends, cleanly, before it ever says `started`.
echo 'about to leave without a word' >&2
exit 0
