#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# The hub's input reader (the thread that reads its stdin) on a stop
# (session 58, h58e).  Before, a hub stopped with its input not at its end
# returned from main without waiting for the reader: one not yet past its
# start then read its options from main's stack, gone, while the process
# exited -- a SEGV in its third thread ("SEGV on unknown address ... T3",
# the report cut by the exit), in ~1 of 400 runs sent SIGTERM in their
# first 0.3 s (fault_supervisor_spawn).  Now the hub ends its reader (its
# source interrupted) and waits for it on every way out.  Made certain by
# a test hook: the reader's first read 4 s late; the hub stopped at once
# waits for it, then ends as a stopped hub does.  And the stop is still
# prompt with the reader waiting on stdin, or blocked in its send while
# the window is full.
. "$(dirname "$0")/../lib/tap.sh"

# hub NAME [OPTION...]: a hub reading the FIFO $T_DIR/NAME.in, which the
# test holds open for writing (fd in IN: its input never ends by itself);
# its pid in HUB, its endpoints in NAME.ep, its report and messages in
# NAME.out / NAME.err.  Returns once its endpoints are written.
hub() {
	local name=$1; shift
	mkdir -p "$T_DIR/$name.ipc" && mkfifo "$T_DIR/$name.in" || exit 1
	exec {IN}<>"$T_DIR/$name.in"
	docpipe-hub --run "$name" --listen "ipc://$T_DIR/$name.ipc" --endpoints "$T_DIR/$name.ep" \
		--progress plain "$@" <"$T_DIR/$name.in" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	HUB=$!
	wait_for 20 test -s "$T_DIR/$name.ep"
}
# stopped NAME: SIGTERM to the hub; it ends within 20 s, status 5, its
# report incomplete.
stopped() {
	kill -TERM $HUB
	wait_for 20 exited $HUB
	ok $? "$2: SIGTERM ends it" || return
	wait $HUB
	is "$?/$(jq -r .complete "$T_DIR/$1.out" 2>/dev/null)" 5/false \
		"... status 5, its report says incomplete" || diag "$(cat "$T_DIR/$1.err")"
}

DOCPIPE_HUB_TEST_READER_PAUSE_S=4 hub late
kill -TERM $HUB
nap 0.5
ok "$(kill -0 $HUB 2>/dev/null; echo $?)" "a hub stopped before its reader's first read waits for its reader"
wait_for 20 exited $HUB
ok $? "... which ends then, and the hub with it"
wait $HUB
is "$?/$(jq -r .complete "$T_DIR/late.out" 2>/dev/null)" 5/false "... status 5, its report says incomplete" ||
	diag "$(cat "$T_DIR/late.err")"
exec {IN}>&-

hub idle
stopped idle "the reader waiting on stdin (a writer, no record)"
exec {IN}>&-

# 2,000 records, a window of 1 and no replica: the reader fills the input
# pair's queue (~1,000) and blocks in its send; discover, the FIFO full
# behind it, in its write.
mkdir -p "$T_DIR/docs"
for i in $(seq 1 2000); do echo "# doc $i" >"$T_DIR/docs/d$i.md"; done
hub full --window 1
docpipe-discover "$T_DIR/docs" >&$IN &
DISCOVER=$!
wait_for 20 grep -qs "documents 0/1+ " "$T_DIR/full.err"
nap 1
ok "$(kill -0 $DISCOVER 2>/dev/null; echo $?)" \
	"a window of 1 and no replica: the hub holds 1 document, discover's writes wait behind its reader" ||
	diag "$(cat "$T_DIR/full.err")"
stopped full "the reader blocked in its send"
kill $DISCOVER
exec {IN}>&-
done_testing
