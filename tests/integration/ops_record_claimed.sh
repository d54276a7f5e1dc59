#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe run's recorder (docpipe-status --record-run - --claim) makes the
# run tables when it claims the roots, at the run's start; the report at
# the run's end is then only inserted (status.h, status_record_run's
# ready): the schema's statements are not made again under the schema
# lock, on every run's end path.  Seen from outside: a store holding the
# schema lock (its start, a migration) does not hold the report up
# (before: the recorder waited for the lock).  A run table dropped during
# the run is made again, once, and the report recorded all the same.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
mkdir -p "$D"
SCHEMA_LOCK=7237112460664137009 # STORE_LOCK_KEY, src/store/store.h

# recorder NAME: a recorder claiming $D for run NAME, its report to come
# through the FIFO $T_DIR/NAME.in (held open here on fd REC_FD); waits for
# its answer.
recorder() {
	mkfifo "$T_DIR/$1.in"
	docpipe-status --record-run - --claim "$1" "$D" <"$T_DIR/$1.in" >"$T_DIR/$1.out" 2>"$T_DIR/$1.err" &
	REC=$!
	exec {REC_FD}>"$T_DIR/$1.in"
	wait_for 30 grep -qx claimed "$T_DIR/$1.out"
}
report() {
	printf '{"v":1,"kind":"report","run":"%s","complete":true,"documents":3,"added":3,"updated":0,"unchanged":0,"deleted":0,"skipped":0,"failed":0,"failures":[],"resent":0,"requests":0,"tokens":0,"retries":0,"seconds":0.5}\n' "$1" >&"$REC_FD"
	exec {REC_FD}>&-
}
recorded() { sql_ge "SELECT count(*) FROM docpipe.runs WHERE id = '$1' AND documents = 3 AND complete" 1; }

recorder t_locked
ok $? "the recorder claims the roots" || diag "$(cat "$T_DIR/t_locked.err")"
hold_lock schema "SELECT pg_advisory_xact_lock($SCHEMA_LOCK)"
ok $? "a session holds the schema lock, as a store making its tables does"
report t_locked
wait_for 15 recorded t_locked
ok $? "the report is recorded while the schema lock is held (the claim made the tables)" ||
	diag "$(cat "$T_DIR/t_locked.err")"
release_lock schema
wait_for 30 exited $REC
wait $REC
is "$?" 0 "the recorder ends with status 0"

recorder t_dropped
ok $? "a second recorder claims the roots"
sql "DROP TABLE docpipe.runs" >/dev/null
report t_dropped
wait_for 30 exited $REC
wait $REC
is "$?" 0 "docpipe.runs dropped during the run: the recorder ends with status 0" ||
	diag "$(cat "$T_DIR/t_dropped.err")"
recorded t_dropped
ok $? "... the table made again and the report recorded"
done_testing
