#!/bin/bash
# lane: beside
# REPRO for the lead (fault sweep 10; scripts/docpipe's watch_replicas):
# the database away for longer than the store's --db-retry (PGDATA's disk
# full: the server PANICs and its recovery fails for want of WAL space, so
# it stays down; or a long maintenance).  The store waits --db-retry, exits
# 3; the supervisor restarts it as a crash (RESTART_MAX 5 deaths within
# RESTART_WINDOW 60 s), the hub re-sends the window each time.  A store that
# waited --db-retry >= ~12 s never dies 5 times within 60 s, so it is
# restarted for ever: the run never ends (PGDATA on an 80 MB tmpfs filled by
# /tmp/h29big: still restarting after 400 s with --db-retry 30; with the
# default 300 s, one restart every ~5 minutes, for ever).
# Expected: the run stops (exit 3) once the store has waited its
# --db-retry, as documented ("waits ... for up to --db-retry").
# Copy into tests/integration/ and run tests/run -v release -- db_away_forever
. "$(dirname "$0")/../lib/tap.sh"
release_only "a database away for 2 minutes"
PGD=$(mktemp -d /tmp/docpipe-away.XXXXXX) && chmod 755 "$PGD" || exit 1
env=$("$TOP/tests/lib/pg.sh" start "$PGD/pg") || { ok 1 "a server of its own"; done_testing; }
eval "$env"
at_exit '"$TOP/tests/lib/pg.sh" stop "$PGD/pg"; rm -rf "$PGD"'
createdb away && export PGDATABASE=away && unset DATABASE_URL
numbered_docs "$T_DIR/docs" 3000 20 doc
docpipe run "$T_DIR/docs" --progress none --window 8 --opt store=--db-retry=15 \
	>"$T_DIR/report" 2>"$T_DIR/err" &
SUP=$!
wait_for 60 sql_ge "SELECT count(*) FROM docpipe.documents" 100
"$TOP/tests/lib/pg.sh" stop "$PGD/pg"
wait_for 150 exited $SUP
ok $? "the run ends within 150 s of a database gone for good (--db-retry 15)"
like "$(grep -c "restarting it" "$T_DIR/err")" "^[0-1]$" "... the store not restarted again and again"
kill -TERM $SUP 2>/dev/null
wait_for 30 exited $SUP
done_testing
