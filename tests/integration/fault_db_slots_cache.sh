#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A database whose connection slots a run's long-lived sessions fill (a
# role's CONNECTION LIMIT, a small max_connections): summarize and embed
# on the model API each hold a result cache session for the run's life.
# With two replicas of each and the recorder that was every slot of 5: the
# stores waited --db-retry for one while the cache sessions sat idle, and
# nothing was stored (fault sweep 12).  Now a cache unused for 5 s gives
# its session back and its next use connects again (docs/reuse.md).
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
role=t_cslots_$BASHPID
sql "CREATE ROLE $role LOGIN CONNECTION LIMIT 5" >/dev/null
at_exit "psql -X -q -d postgres -c 'DROP ROLE IF EXISTS $role' >/dev/null 2>&1"
sql "ALTER DATABASE $PGDATABASE OWNER TO $role" >/dev/null
numbered_docs "$T_DIR/docs" 40 20 doc
fakeapi
export DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$role"
# --db-retry 60 bounds the wait of the code before (the stores exit 3).
docpipe run "$T_DIR/docs" --progress none --replicas summarize=2 --replicas embed=2 --replicas store=2 \
	--opt summarize=--backend=openai --opt embed=--backend=openai --opt store=--db-retry=60 \
	>"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
wait_for 240 exited $SUP || kill -TERM $SUP
wait $SUP
is "$?/$(jq -r '[.added, .failed, .sweep] | @tsv' "$T_DIR/report")" "0/$(printf '40\t0\tdone')" \
	"5 slots for the recorder, 2 stores and 4 cache sessions: every document stored (exit 0)"
grep -i "too many" "$T_DIR/err" | cut -c1-200 | head -3 | sed "s/^/# /"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 40 "40 documents stored"
is "$(sql "SELECT count(*) FROM docpipe.summary_cache")" 40 "their summaries kept for reuse"
done_testing
