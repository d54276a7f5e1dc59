#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A connection idle through `pg_ctl restart -m immediate` fails its next
# statement ("server closed the connection unexpectedly") while libpq still
# calls it OK: the programs that hold one while they wait must still find
# it lost and make it again.  On a cluster of this test's own (the restart
# would break every other test's connections to the shared one).
. "$(dirname "$0")/../lib/tap.sh"

private_pg
newdb || exit 1
connected() { sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name LIKE '$1%'"; }
one_connected() { [ "$(connected "$1")" = 1 ]; }
wait_connected() { wait_for 60 one_connected "$1"; }

mkdir -p "$T_DIR/docs"
for i in 1 2 3; do printf '# Doc %d\n\nSome text %d.\n' "$i" "$i" >"$T_DIR/docs/f$i.md"; done
docpipe-discover "$T_DIR/docs" | docpipe-chunk | docpipe-summarize | docpipe-embed >"$T_DIR/docs.ndjson"
ok $? "the documents go through the stages"
docs() { sql "SELECT count(*) FROM docpipe.documents WHERE root = '$T_DIR/docs'"; }

# docpipe-store over a FIFO: one document stored, the server restarted
# while the store waits for the next, which must be stored too.
mkfifo "$T_DIR/in"
docpipe-store -q <"$T_DIR/in" >"$T_DIR/receipts" 2>"$T_DIR/err" &
store=$!
exec {in}>"$T_DIR/in"
head -n 1 "$T_DIR/docs.ndjson" >&$in
wait_for 60 eval '[ "$(docs 2>/dev/null)" = 1 ]'
is "$(docs)" 1 "store: the first document stored"
private_pg_restart {in}>&-
tail -n +2 "$T_DIR/docs.ndjson" >&$in
exec {in}>&-
wait $store
is "$?/$(docs)" "0/3" "store: idle through the restart, it stores the rest and exits 0"
[ "$(docs)" = 3 ] || sed 's/^/# /' "$T_DIR/err"

# The result cache of summarize and embed: one document through, the
# server restarted while they wait for the next.  Their cache connection
# must be made again: otherwise every later lookup misses (requests paid
# again) and nothing more is kept.
unset OPENAI_API_KEY
fakeapi
mkfifo "$T_DIR/api"
docpipe-discover "$T_DIR/docs" | docpipe-chunk >"$T_DIR/chunked.ndjson"
# Both stages append: a writer without O_APPEND overwrote the other's lines.
: >"$T_DIR/err"
docpipe-summarize --backend openai <"$T_DIR/api" 2>>"$T_DIR/err" |
	docpipe-embed --backend openai >"$T_DIR/api.out" 2>>"$T_DIR/err" &
stages=$!
exec {api}>"$T_DIR/api"
head -n 1 "$T_DIR/chunked.ndjson" >&$api
cached() { sql "SELECT (SELECT count(*) FROM docpipe.summary_cache) || '/' || (SELECT count(*) FROM docpipe.embedding_cache)"; }
wait_for 60 eval '[ "$(cached)" = 1/1 ]'
is "$(cached)" 1/1 "cache: the first document's summary and vector kept"
private_pg_restart {api}>&-
tail -n +2 "$T_DIR/chunked.ndjson" >&$api
exec {api}>&-
wait $stages
is "$?/$(cached)/$(grep -c 'cache' "$T_DIR/err")" "0/3/3/0" \
	"cache: idle through the restart, the stages keep the rest's results and say no cache error"
[ "$(cached)" = 3/3 ] || sed 's/^/# /' "$T_DIR/err"
api_reset
docpipe-summarize --backend openai <"$T_DIR/chunked.ndjson" 2>/dev/null |
	docpipe-embed --backend openai >/dev/null 2>&1
is "$(api_stats '[.requests.chat, .requests.embed]')" "[0,0]" \
	"cache: a re-run makes no request"

# The database away while the stages work: each says once that the cache
# fails (not once per lookup and save), asks anew, and says when it works
# again.
mkfifo "$T_DIR/api2"
for i in 4 5 6 7; do printf '# Doc %d\n\nOther text %d.\n' "$i" "$i" >"$T_DIR/docs/g$i.md"; done
docpipe-discover "$T_DIR/docs" | docpipe-chunk | grep '/g[4-7].md' >"$T_DIR/more.ndjson"
: >"$T_DIR/err2"
docpipe-summarize --backend openai <"$T_DIR/api2" 2>>"$T_DIR/err2" |
	docpipe-embed --backend openai >"$T_DIR/api2.out" 2>>"$T_DIR/err2" &
stages=$!
exec {api2}>"$T_DIR/api2"
pgctl() { runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w "$@" >/dev/null; }
# Both connected to their cache before it goes (a stage that starts with
# no database to connect to is another case; a fixed 0.3 s was not always
# enough on a loaded machine under ASan).
wait_connected docpipe-summarize
wait_connected docpipe-embed
pgctl -m immediate stop {api2}>&-
head -n 3 "$T_DIR/more.ndjson" >&$api2
wait_for 60 eval '[ "$(grep -c . "$T_DIR/api2.out" 2>/dev/null)" = 3 ]'
is "$(grep -c . "$T_DIR/api2.out")" 3 "cache away: three documents summarized and embedded anyway"
pgctl restart {api2}>&- 2>/dev/null # not running: started with its options
sleep 1.2 # a lost connection is tried again at most once a second
tail -n 1 "$T_DIR/more.ndjson" >&$api2
exec {api2}>&-
wait $stages
is "$?/$(grep -c 'said once until' "$T_DIR/err2")/$(grep -c 'works again (' "$T_DIR/err2")" "0/2/2" \
	"cache away: each stage said it once and said when it worked again"
[ "$(grep -c 'said once until' "$T_DIR/err2")" = 2 ] || sed 's/^/# /' "$T_DIR/err2"

# docpipe-store --sweep-on-go (the hub starts it at the first receipt):
# connected, waiting for the go through the restart.
mkfifo "$T_DIR/go"
mv "$T_DIR/docs" "$T_DIR/docs.moved" # the files gone: what a sweep deletes
docpipe-store -q --sweep-on-go --sweep another-run "$T_DIR/docs" <"$T_DIR/go" >"$T_DIR/swept" 2>"$T_DIR/err" &
sweeper=$!
exec {go}>"$T_DIR/go"
wait_connected docpipe-store
is "$(connected docpipe-store)" 1 "sweep: connected before the go"
private_pg_restart {go}>&-
echo go >&$go
exec {go}>&-
wait $sweeper
is "$?/$(docs)" "0/0" "sweep: its connection lost to the restart is made again at the go; it sweeps"
[ "$(docs)" = 0 ] || sed 's/^/# /' "$T_DIR/err"

# docpipe-status --record-run - (the supervisor's recorder): connected,
# waiting for the report through the restart.
mkfifo "$T_DIR/report"
docpipe-status --record-run - <"$T_DIR/report" 2>"$T_DIR/err" &
recorder=$!
exec {rep}>"$T_DIR/report"
wait_connected docpipe-status
is "$(connected docpipe-status)" 1 "recorder: connected before the report"
private_pg_restart {rep}>&-
echo '{"v":1,"kind":"report","run":"r-immediate","complete":true,"documents":0,"added":0,"updated":0,"unchanged":0,"deleted":0,"skipped":0,"failed":0,"failures":[],"resent":0,"requests":0,"tokens":0,"retries":0,"sweep":"skipped","seconds":1}' >&$rep
exec {rep}>&-
wait $recorder
is "$?/$(sql "SELECT count(*) FROM docpipe.runs WHERE id = 'r-immediate'")" "0/1" \
	"recorder: its connection lost to the restart is made again; the run recorded"
[ "$(sql "SELECT count(*) FROM docpipe.runs WHERE id = 'r-immediate'")" = 1 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
