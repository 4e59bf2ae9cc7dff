#!/usr/bin/env bash
# A worker broken on purpose: the built-in worker, with each commit reported
# before the records it covers (their `processed` lines are held back until
# the next commit is out). A shell loop, not awk: mawk reads its input in
# blocks, so a line written just before the worker blocks (holding-record)
# would never come out.
"${FAULTLINE_BIN:?set FAULTLINE_BIN to the faultline binary}" worker | {
  held=()
  while IFS= read -r line; do
    case $line in
      '{"processed"'*) held+=("$line") ;;
      '{"committed"'*) printf '%s\n' "$line" "${held[@]}"; held=() ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
  if ((${#held[@]})); then printf '%s\n' "${held[@]}"; fi
}
