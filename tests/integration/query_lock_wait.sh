#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe-query and docpipe-status behind a lock another session holds (a
# store migrating an old schema, an ALTER or a transaction left open in
# psql): after DP_DB_LOCK_SAY_MS (2 s) they say on stderr who holds it,
# then wait on, and answer once it is released.  Before, they waited
# without a word.  A lock_timeout of the user's ends the wait instead.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 4 6 doc
docpipe-discover "$D" | docpipe-chunk | docpipe-embed | docpipe-store -q >/dev/null
is "$?" 0 "a corpus is stored"

# wait_said FILE PID: true when FILE says the wait (said) within 20 s and
# PID still runs then.
said() { grep -q 'waiting for a lock' "$1"; }
wait_said() { wait_for 20 said "$1" && ! exited "$2"; }

hold_lock migration "LOCK TABLE docpipe.chunks IN ACCESS EXCLUSIVE MODE"
ok $? "another session holds an ACCESS EXCLUSIVE lock on docpipe.chunks"
docpipe-query --json "3 4 5" >"$T_DIR/q" 2>"$T_DIR/qe" &
query=$!
wait_said "$T_DIR/qe" "$query"
ok $? "the query, waiting, says so and goes on waiting"
like "$(cat "$T_DIR/qe")" \
	"^docpipe-query: waiting for a lock on docpipe.chunks held by pid [0-9]+ \(migration, active, transaction open [0-9]+ s: BEGIN; LOCK TABLE docpipe.chunks IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep\(600\)\); it goes on when that session ends its transaction$" \
	"in one line: the relation, and the session's pid, application, state, age, statement"
release_lock migration
wait "$query"
is "$?/$(jq -r .path "$T_DIR/q" | grep -c doc)" 0/4 "once the lock is released the query answers"
is "$(grep -c . "$T_DIR/qe")" 1 "and says nothing more"

# docpipe-status: the same code (dp_db_say_lock_waits), under a role's
# standard_conforming_strings off (fault sweep 21b: the holder's
# statement was shown with its s's taken out, after a "nonstandard use of
# escape" warning).
hold_lock altering "LOCK TABLE docpipe.documents IN ACCESS EXCLUSIVE MODE"
PGOPTIONS='-c standard_conforming_strings=off' docpipe-status --json >"$T_DIR/s" 2>"$T_DIR/se" &
status=$!
wait_said "$T_DIR/se" "$status"
ok $? "docpipe-status, waiting, says so and goes on waiting"
like "$(cat "$T_DIR/se")" "^docpipe-status: waiting for a lock on docpipe.documents held by pid [0-9]+ \(altering, .*: BEGIN; LOCK TABLE docpipe.documents IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep\(600\)\); it goes on" \
	"naming the relation and the session, its statement whole under standard_conforming_strings off"
release_lock altering
wait "$status"
is "$?/$(jq -c '[.roots[0].documents]' "$T_DIR/s")" "0/[4]" "then it reports"
is "$(grep -c . "$T_DIR/se")" 1 "no warning beside the wait's line"

# The user's own limit (lock_timeout in PGOPTIONS or the URL's options)
# ends the wait with an error instead.
hold_lock migration "LOCK TABLE docpipe.chunks IN ACCESS EXCLUSIVE MODE"
PGOPTIONS='-c lock_timeout=3s' timeout 60 docpipe-query "3 4 5" >/dev/null 2>"$T_DIR/te"
is "$?" 3 "with lock_timeout=3s the query gives up (exit 3)"
like "$(tail -1 "$T_DIR/te")" "lock timeout" "saying why"
release_lock migration

# No lock, no word.
docpipe-query "3 4 5" >/dev/null 2>"$T_DIR/ne"
is "$?/$(cat "$T_DIR/ne")" 0/ "a query that waits for no lock says nothing on stderr"
done_testing
