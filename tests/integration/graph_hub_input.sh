#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The hub's --input FIFO (session 55: docpipe run starts the hub while the
# run's claim is made, discover only once it holds, so the hub's start and
# bind are off the run's critical path).  The hub binds and writes its
# endpoints before its input has a writer, says nothing while it waits,
# ends with its report on SIGTERM then, reads a writer's records, and sees
# its input's end when a writer came and went without a word.  And a run whose
# claim waits (the database away at its start) has its hub bound meanwhile,
# shows nothing of it, then runs as any other once the claim is made.
# Before, the hub read its standard input only, opened by a bash before
# its exec: it bound nothing until discover started, after the claim.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1

# hub NAME: a hub on the FIFO $T_DIR/NAME.in (pid in HUB), its endpoints
# in $T_DIR/NAME.ep, its report and messages in $T_DIR/NAME.out / .err.
hub() {
	mkdir -p "$T_DIR/$1.ipc" && mkfifo "$T_DIR/$1.in" || exit 1
	docpipe-hub --run "$1" --listen "ipc://$T_DIR/$1.ipc" --endpoints "$T_DIR/$1.ep" --input "$T_DIR/$1.in" \
		--progress plain >"$T_DIR/$1.out" 2>"$T_DIR/$1.err" &
	HUB=$!
}
alive() { kill -0 "$1" 2>/dev/null; }

hub waits
wait_for 20 test -s "$T_DIR/waits.ep"
ok $? "the hub writes its endpoints while its input has no writer" || diag "$(cat "$T_DIR/waits.err")"
nap 0.3
ok "$(alive $HUB; echo $?)" "... and waits for it"
is "$(cat "$T_DIR/waits.err")" "" "... saying nothing meanwhile"
kill -TERM $HUB
wait_for 10 exited $HUB
ok $? "SIGTERM while it waits ends it"
wait $HUB
is "$?/$(jq -r .complete "$T_DIR/waits.out" 2>/dev/null)" 5/false "... status 5, its report says incomplete" ||
	diag "$(cat "$T_DIR/waits.err")"

hub reads
wait_for 20 test -s "$T_DIR/reads.ep"
mkdir -p "$T_DIR/empty"
docpipe-discover --end-record "$T_DIR/empty" >"$T_DIR/reads.in"
wait_for 20 exited $HUB
wait $HUB
is "$?/$(jq -r '[.complete, .documents] | join(",")' "$T_DIR/reads.out" 2>/dev/null)" 0/true,0 \
	"a writer's records are read: its end record completes the run" || diag "$(cat "$T_DIR/reads.err")"

hub gone
wait_for 20 test -s "$T_DIR/gone.ep"
: >"$T_DIR/gone.in"
wait_for 20 exited $HUB
wait $HUB
is "$?/$(jq -r .documents "$T_DIR/gone.out" 2>/dev/null)" 0/0 \
	"a writer that came and went without a record: the input ended (as stdin's end)"

# docpipe run: the claim waits for the database; the hub is bound meanwhile.
numbered_docs "$T_DIR/docs" 3 20 note
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR"
at_exit 'db_allow true'
db_allow false
docpipe run "$T_DIR/docs" --progress plain >"$T_DIR/run.json" 2>"$T_DIR/run.err" &
SUP=$!
wait_for 30 grep -qs "waiting up to 300 s for the database" "$T_DIR/run.err"
ok $? "a run whose database is away at its start waits to claim its roots" || diag "$(cat "$T_DIR/run.err")"
eps() { compgen -G "$TMPDIR/docpipe-run.*/endpoints" >/dev/null; }
wait_for 20 eps
ok $? "... its hub bound meanwhile (its endpoints written)"
is "$(grep -c '^docpipe-hub:' "$T_DIR/run.err")" 0 "... saying nothing" || diag "$(cat "$T_DIR/run.err")"
db_allow true
wait $SUP
is "$?/$(jq -r '[.complete, .added] | join(",")' "$T_DIR/run.json" 2>/dev/null)" 0/true,3 \
	"... then the claim is made and the run stores every file" || diag "$(cat "$T_DIR/run.err")"
is "$(ls -A "$TMPDIR")" "" "... leaving no run directory"
done_testing
