#!/bin/sh
# make fuzz: every Fuzz target of the module for FUZZTIME each, then one line per target with the
# executions it ran, so a target that only replays its seeds (a fuzzer stuck minimising large
# seeds ran 5-11 inputs in 45 s before) shows up as a number, not as a pass.
# -fuzzminimizetime bounds minimising each new input to 10 runs instead of 60 s.
# Usage: serve/internal/fuzzall.sh [FUZZTIME] [package pattern]
set -u
time=${1:-10s}
pkgs=${2:-./...}
report=$(mktemp)
trap 'rm -f "$report"' EXIT
for pkg in $(go list "$pkgs"); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
		out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 10x "$pkg" 2>&1)
		rc=$?
		execs=$(printf '%s\n' "$out" | sed -n 's/.*execs: \([0-9]*\).*/\1/p' | tail -1)
		status=ok
		[ $rc -eq 0 ] || status=FAIL
		printf '%s\t%s\t%s\t%s\n' "${pkg#github.com/toonid/toonid/}" "$target" "${execs:-0}" "$status" >> "$report"
		[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -20
	done
done
printf '\n| package | target | execs in %s | result |\n|---|---|---|---|\n' "$time"
awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$report"
! grep -q 'FAIL$' "$report"
