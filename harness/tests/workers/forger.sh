#!/usr/bin/env bash
# A worker broken on purpose: it writes the audit's events, which only the
# runner may (they are the ground truth the checker trusts).
echo '{"hello":{"protocol":2,"client":"forger","version":"0"}}'
echo '{"started":{"role":"consumer","group":"forger"}}'
echo '{"audit":{"p":0,"o":0,"id":[0,0]}}'
echo '"audit-end"'
cat >/dev/null
