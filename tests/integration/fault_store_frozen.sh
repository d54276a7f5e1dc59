#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A store that stops answering inside its transaction: its process frozen
# (SIGSTOP here; a paused container, a suspended VM) or its machine cut off
# (the server keeps that session until its TCP keepalives give up, two
# hours by default).  Its open transaction holds locks another store
# needs (the rows and path locks of a write of the same path; at every
# store's start too, before the schema setup took no lock stronger than a
# write's), so a replica of the store in the same run, or any later run,
# waited for as long: the run stalled with no end.
# Now every docpipe session has idle_in_transaction_session_timeout (60 s,
# unless something set one): the server ends the frozen session, the other
# store goes on, and the frozen one, woken, finds its connection lost and
# writes its batch again.
. "$(dirname "$0")/../lib/tap.sh"
# A minute of the server's own timer, the same store code under ASan: once,
# in the release pass (make check's time).
release_only "a minute the server's timeout decides"
newdb || exit 1
mkdir -p "$T_DIR/a" "$T_DIR/b"
echo '# seed' >"$T_DIR/a/seed.md"
echo '# slow one' >"$T_DIR/a/slow.md"
echo '# other one' >"$T_DIR/b/other.md"
docpipe-discover "$T_DIR/a" --glob seed.md | docpipe-chunk | docpipe-embed | docpipe-store -q >/dev/null
is "$?" 0 "schema made"
sql "CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN IF NEW.path LIKE '%/slow%' THEN PERFORM pg_sleep(2); END IF; RETURN NEW; END \$\$;
CREATE TRIGGER slow_doc BEFORE INSERT OR UPDATE ON docpipe.documents
FOR EACH ROW EXECUTE FUNCTION public.slow()" >/dev/null
docpipe-discover "$T_DIR/a" --glob slow.md | docpipe-chunk | docpipe-embed >"$T_DIR/slow.ndjson"
docpipe-discover "$T_DIR/b" | docpipe-chunk | docpipe-embed >"$T_DIR/other.ndjson"

docpipe-store <"$T_DIR/slow.ndjson" >"$T_DIR/a.out" 2>"$T_DIR/a.err" &
A=$!
# Frozen inside its transaction: the trigger sleeps 2 s, then the session
# idles in it.  (Waited for: a loaded machine may take more than a second
# to start the store and reach the trigger.)
wait_for 30 sql_ge "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-store' AND wait_event = 'PgSleep'" 1
kill -STOP $A
is "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'docpipe-store'
	AND xact_start IS NOT NULL AND pid <> pg_backend_pid()")" 1 "the frozen store has a transaction open"
start=$(date +%s)
# The other store writes the frozen one's path too (its path lock).
cat "$T_DIR/slow.ndjson" "$T_DIR/other.ndjson" | timeout 100 docpipe-store >"$T_DIR/b.out" 2>"$T_DIR/b.err"
rc=$? took=$(($(date +%s) - start))
is "$rc/$(jq -r .status "$T_DIR/b.out" | sort -u)" "0/stored" "another store goes on ($took s) while the first stays frozen"
[ "$rc" = 0 ] || sed 's/^/# /' "$T_DIR/b.err"
ok "$([ "$took" -le 90 ])$?" "within the idle-in-transaction limit and a margin"
like "$(cat "$T_DIR/b.err")" "waiting [0-9]+ s for a lock held by pid [0-9]+ \(docpipe-store, idle in transaction" \
	"meanwhile it names the frozen session"
kill -CONT $A
wait_for 30 exited $A
wait $A
is "$?/$(jq -r .status "$T_DIR/a.out")" "0/unchanged" \
	"the frozen store, woken, writes its batch again (exit 0; unchanged: the other wrote the same version)"
is "$(sql "SELECT string_agg(path || ':' || chunk_count || ':' ||
	(SELECT count(*) FROM docpipe.chunks c WHERE c.document_id = d.id), ' ' ORDER BY path)
	FROM docpipe.documents d" | sed "s|$T_DIR/||g")" "a/seed.md:1:1 a/slow.md:1:1 b/other.md:1:1" \
	"every document stored once, whole"
done_testing
