#!/bin/bash
# lane: beside (it waits more than it computes)
# docpipe-watch judges a file a walk finds (no event tells: a directory
# moved in, a rescan) by how long ago it was written: within
# --writer-settle, its writer may still hold it open (the read lease
# decides where one can be taken).  With the wall clock stepped while it
# runs (an NTP step, `date -s`, a VM resumed; tests/lib/clockstep.c), the
# mtime is read with the wall clock's offset from before the step: an hour
# forward made a file its writer held open look an hour old (taken at
# once, half-written, then again at its close), an hour back made a file
# closed a minute before look just written (where no lease can be taken,
# it waited --writer-settle).  Found by h61e, session 61.
. "$(dirname "$0")/../lib/tap.sh"
release_only "an LD_PRELOAD shim over the clock (a sanitizer's runtime must come first)"
if ! ${CC:-cc} -shared -fPIC -O1 -o "$T_DIR/clockstep.so" "$TOP/tests/lib/clockstep.c" -ldl 2>"$T_DIR/cc.err"; then
	skip "no C compiler for tests/lib/clockstep.c"
	done_testing
fi
chmod 755 "$T_DIR"
STEP=$T_DIR/step
# records ROOT NAME: the sizes of the watcher's file records for NAME, in order.
records() { jq -r --arg n "$2" 'select(.kind == "file" and (.path | endswith("/" + $n))) | .size' "$T_DIR/$1.out" | xargs; }
has_record() { [ -n "$(records "$1" "$2")" ]; }

# watch_stepped ROOT SECONDS [USER]: docpipe-watch on $T_DIR/ROOT (as USER),
# the wall clock stepped SECONDS once it runs; a directory moved in then
# holds a file closed a minute ago (old.md) and one its writer holds open
# (log.md: written, then 1.5 s without a write, the directory moved in
# meanwhile, then written and closed).
watch_stepped() {
	local root=$T_DIR/$1 src=$T_DIR/$1-src
	mkdir -p "$root" "$src"
	chmod 755 "$root" "$src"
	printf '# old\n\nclosed a minute ago\n' >"$src/old.md"
	touch -d '-1 min' "$src/old.md"
	echo 0 >"$STEP"
	env LD_PRELOAD="$T_DIR/clockstep.so" CLOCKSTEP_FILE="$STEP" ${3:+runuser -u "$3" --} \
		"$DOCPIPE_BIN/docpipe-watch" --writer-settle 15000 "$root" >"$T_DIR/$1.out" 2>"$T_DIR/$1.err" &
	WATCH=$!
	at_exit 'kill $WATCH 2>/dev/null'
	mkfifo "$T_DIR/$1.go"
	python3 - "$src/log.md" "$T_DIR/$1.go" <<'PY' &
import sys
with open(sys.argv[1], "w") as f, open(sys.argv[2]) as go:
    f.write("# log\n\nfirst line\n"); f.flush()
    go.readline()
    f.write("second line\n")
PY
	local writer=$!
	exec 9>"$T_DIR/$1.go"
	sleep 0.5 # the watcher's start (its offset from the monotonic clock)
	echo "$2" >"$STEP"
	sleep 0.3 # the shim reads the step within 50 ms
	mv "$src" "$root/in"
	sleep 1.5 # no event on log.md: --settle (200 ms) passes 7 times over
	echo >&9
	exec 9>&-
	wait "$writer"
	wait_for 30 has_record "$1" log.md
	sleep 0.5 # a second record would come within --settle
	kill "$WATCH"
	wait "$WATCH"
}

watch_stepped forward 3600
is "$(records forward log.md)" 30 \
	"the clock an hour forward: the file its writer holds open taken once, after its close (at once, half-written, then again before)"
is "$(records forward old.md)" 27 "the closed one taken"

if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
	# As nobody, no lease on root's files: their age alone decides.
	watch_stepped back -3600 nobody
	is "$(records back old.md)" 27 "the clock an hour back: the file closed a minute before taken"
	# When: the records' order says it, robust under load (log.md's close
	# comes 1.5 s after the move; --writer-settle is 15 s).
	is "$(jq -r 'select(.kind == "file") | .path | split("/") | last' "$T_DIR/back.out" | xargs)" "old.md log.md" \
		"before the writer's next write (--writer-settle, 15 s, after the move before), log.md once after its close"
	is "$(records back log.md)" 30 "the open file taken once, whole"
else
	skip "no user nobody or no runuser: a lease is taken by root on any file"
fi
done_testing
