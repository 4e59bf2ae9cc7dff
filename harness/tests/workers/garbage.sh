#!/usr/bin/env bash
# A worker broken on purpose: after its greeting it writes a line that is
# not an event.
echo '{"hello":{"protocol":2,"client":"garbage","version":"0"}}'
echo '{"started":{"role":"consumer","group":"garbage"}}'
echo 'this is not an event'
cat >/dev/null
