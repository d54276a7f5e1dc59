#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A database with no connection slot beyond a run's long-lived sessions (a
# role's CONNECTION LIMIT, a max_connections other clients nearly use):
# the recorder and the store replica live until the run's end, so the
# hub's sweep (docpipe-store --sweep-on-go) waited --db-retry for a slot
# that freed only after it, then "sweep failed", exit 3, the deleted
# files kept (fault sweep 10).  Now a store whose input is quiet gives its
# connections back (docpipe-store(1), "Connections") and connects again
# for the next work: the sweep gets a slot, the run ends 0.
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
role=t_slots_$BASHPID
sql "CREATE ROLE $role LOGIN CONNECTION LIMIT 2" >/dev/null
at_exit "psql -X -q -d postgres -c 'DROP ROLE IF EXISTS $role' >/dev/null 2>&1"
sql "ALTER DATABASE $PGDATABASE OWNER TO $role" >/dev/null
numbered_docs "$T_DIR/docs" 40 20 doc
export DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$role"
# run N: a run over the files; its status in RC.  --db-retry 60 bounds the
# wait of the code before.
run() {
	docpipe run "$T_DIR/docs" --progress none --opt store=--db-retry=60 >"$T_DIR/report$1" 2>"$T_DIR/err$1" &
	SUP=$!
	wait_for 150 exited $SUP || kill -TERM $SUP
	wait $SUP
	RC=$?
}
run 1
is "$RC/$(jq -r '[.added, .sweep] | @tsv' "$T_DIR/report1")" "0/$(printf '40\tdone')" \
	"a role allowed 2 connections: the run stores every document and sweeps (exit 0)"
rm "$T_DIR/docs/doc7.md" "$T_DIR/docs/doc8.md"
echo "# doc 1 edited" >>"$T_DIR/docs/doc1.md"
run 2
is "$RC/$(jq -r '[.updated, .unchanged, .deleted, .sweep] | @tsv' "$T_DIR/report2")" \
	"0/$(printf '1\t37\t2\tdone')" "the next run: the edit stored, the 2 deleted files swept (exit 0)"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 38 "38 documents stored"
done_testing
