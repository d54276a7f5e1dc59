#!/bin/bash
# lane: beside
# REPRO for the lead (fault sweep 10): a run whose database has just the
# connection slots its long-lived sessions take (a role's CONNECTION LIMIT,
# a managed server's max_connections nearly used by other clients).  The
# recorder and the store replica hold theirs until the hub has finished;
# the hub's sweep process (docpipe-store --sweep-on-go), started at the
# first receipt, waits for a slot (--db-retry, 300 s by default) that
# only frees after the sweep: the run sits still for --db-retry, then
# "sweep failed", exit 3, every document stored, deleted files kept.
# Where: the run's order of ends (src/hub/loop.c sweep_begin/sweep_end,
# scripts/docpipe's stops) or the store giving back an idle connection
# (src/store).  Copy into tests/integration/ and run
#   tests/run -v release -- sweep_no_slot
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
role=t_slots_$BASHPID
sql "CREATE ROLE $role LOGIN CONNECTION LIMIT 2" >/dev/null
sql "ALTER DATABASE $PGDATABASE OWNER TO $role" >/dev/null
numbered_docs "$T_DIR/docs" 40 20 doc
export DATABASE_URL="postgresql:///$PGDATABASE?host=$PGHOST&port=$PGPORT&user=$role"
docpipe run "$T_DIR/docs" --progress none --opt store=--db-retry=40 >"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
wait_for 100 exited $SUP
wait $SUP
rc=$?
is "$(sql "SELECT count(*) FROM docpipe.documents")" 40 "every document stored"
is "$rc/$(jq -r .sweep "$T_DIR/report")" "0/done" "the run ends 0 with its sweep done"
ok "$(grep -q "too many connections\|waiting up to" "$T_DIR/err"; echo $((1 - $?)))" \
	"no wait for a connection slot ($(grep -c "waiting up to" "$T_DIR/err") said)"
done_testing
