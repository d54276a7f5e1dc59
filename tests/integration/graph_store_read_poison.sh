#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A record that kills the store while its reader parses it (the OOM killer
# ending a store that parses a huge record: tens of MB of text, chunks and
# vectors, parsed into jq values at several times its size) fails by name
# and the run goes on (src/lib/crash.h, reading.PID; src/store/feed.c): the
# store marks a record of 1 MiB or more while it parses it, the supervisor
# blames it at the second SIGKILL death with it in progress ("SIGKILL-2"),
# and every store refuses it unparsed from then on.
# Before, such a record was in no journal: the hub re-sent it for free to
# every restarted store, which died reading it again, until the restart
# limit stopped the run (status 3) naming nothing, or, with the deaths
# spaced out, forever.
# 20 Markdown files and one of 1.5 MB whose record the store dies reading
# (DOCPIPE_TEST_STORE_READ_KILL_SIZE: SIGKILL parsing a record over N bytes).
# Then the same with a batch being written at the death (its write held by
# a lock): a death with both marks blames none; each document in progress
# is a suspect, processed alone (the huge one read with no batch written
# beside), and the huge one is blamed at its next death.
. "$(dirname "$0")/../lib/tap.sh"

cd "$T_DIR" || exit 1
numbered_docs docs 20 40 note
want=$(plain_fingerprint docs)
ok $? "plain pipeline over the 20 Markdown files"
# huge DIR/NAME: 1.5 MB of paragraphs, whose document record is over 1 MiB.
huge() { python3 -c 'import sys
with open(sys.argv[1], "w") as f:
    f.write("# huge\n\n")
    for i in range(15000):
        f.write("paragraph %d of the huge note, words enough to fill a line of text here.\n\n" % i)' "$1"; }
huge docs/note9-huge.md

newdb || exit 1
start=$SECONDS
DOCPIPE_TEST_STORE_READ_KILL_SIZE=1048576 timeout 100 docpipe run docs --progress none >report 2>err
rc=$?
diag "the run took $((SECONDS - start)) s"
is "$rc" 1 "a record that kills the store as it is read: the run ends with status 1 (a document failed), not stopped"
diag "report: $(jq -c '{added, unchanged, failed}' report)"
is "$(jq -r '[.complete, .added + .unchanged, .updated, .failed] | @tsv' report)" "$(printf 'true\t20\t0\t1')" \
	"the 20 others stored (none twice), the huge one failed"
is "$(jq -r '.failures[] | .path | sub(".*/"; "")' report)" "note9-huge.md" "the huge one failed by name"
like "$(jq -r '.failures[0].error' report)" \
	"killed by SIGKILL twice while reading \\(parsing\\) this record" "its reason: the store died reading it, twice"
like "$(cat err)" "killed by SIGKILL twice while reading .*note9-huge.md" "the supervisor said so"
ok "$(grep -qE 'exited 5 times|stopping the run' err && echo 1 || echo 0)" "no restart limit, no stop"
is "$(sql "SELECT string_agg(regexp_replace(path, '.*/', '') || ':' || stage, ' ') FROM docpipe.failures")" \
	"note9-huge.md:store" "the failure is recorded for docpipe status, by the store"
is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path LIKE '%huge%'")" 0 "nothing of the huge one written"
is "$(fingerprint "d.path NOT LIKE '%huge%'")" "$want" \
	"the others are stored as a plain pipeline stores them: each once, whole"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' err | tail -40

# The store's writer waits on the lock of memo1.md's path (write.c: a
# batch locks its paths) while its reader reads the huge record: both
# marked at the death.  The lock is let go once that death is seen.
numbered_docs docs2 20 40 memo
want=$(plain_fingerprint docs2)
ok $? "plain pipeline over the 20 other Markdown files"
huge docs2/memo9-huge.md
newdb || exit 1
PGAPPNAME=path-holder psql -X -q -c "SELECT pg_advisory_lock(1685086580, hashtext('$T_DIR/docs2/memo1.md'))" \
	-c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
holder=$!
wait_for 30 sql_ge "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1685086580 AND granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())" 1
ok $? "a session holds memo1.md's path"
DOCPIPE_TEST_STORE_READ_KILL_SIZE=1048576 timeout 100 docpipe run docs2 --progress none >report2 2>err2 &
run=$!
wait_for 60 grep -qs "documents in progress" err2
ok $? "a death with a batch written and the huge record read: its documents are suspects"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'path-holder'" >/dev/null
wait $holder
wait $run
rc=$?
is "$rc" 1 "the run ends with status 1 (a document failed)"
like "$(cat err2)" "died of SIGKILL with [0-9]+ documents in progress \([0-9]+ being written, 1 being read\)" \
	"the supervisor named the batch and the record read"
is "$(jq -r '[.complete, .added + .unchanged, .updated, .failed] | @tsv' report2)" "$(printf 'true\t20\t0\t1')" \
	"the 20 others stored (none twice), the huge one failed"
is "$(jq -r '.failures[] | .path | sub(".*/"; "")' report2)" "memo9-huge.md" "only the huge one failed, by name"
like "$(jq -r '.failures[0].error' report2)" \
	"killed by SIGKILL twice while reading \\(parsing\\) this record" "its reason: the store died reading it"
is "$(fingerprint "d.path NOT LIKE '%huge%'")" "$want" "the others stored as a plain pipeline stores them"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' err2 | tail -40
done_testing
