#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe run when the model API refuses the run (insufficient_quota): the
# summarize replica exits 4, the supervisor does not restart it (that would
# be a retry storm against a paid API) and the run stops with status 4.
# No process of the run is left behind.  A replica that keeps crashing is
# restarted with a growing delay, then the run stops (status 3) instead of
# looping.
source "$(dirname "$0")/../lib/tap.sh"
release_only "the supervisor's restart delays"
newdb || exit 1
python3 "$TOP/tests/fakeapi.py" --port 0 >"$T_DIR/port" 2>"$T_DIR/server.err" &
SERVERS+=($!)
wait_for 30 test -s "$T_DIR/port" || { ok 1 "the test API server starts"; done_testing; }
BASE=http://127.0.0.1:$(awk '{print $2}' "$T_DIR/port")
export OPENAI_BASE_URL=$BASE/v1 OPENAI_API_KEY=sk-test-refused
mkdir -p "$T_DIR/docs"
for i in $(seq 1 20); do printf '# Doc %d\n\nText number %d.\n' "$i" "$i" >"$T_DIR/docs/d$i.md"; done

# First a run that works: the report counts the requests and tokens spent.
timeout 60 docpipe run "$T_DIR/docs" --progress none --opt summarize=--backend=openai \
	--opt embed=--backend=openai --opt embed=--dim=8 >"$T_DIR/report0" 2>"$T_DIR/err0"
is "$?" 0 "an API run through the graph works"
served=$(api_stats '.requests.chat + .requests.embed')
is "$(jq -r .requests "$T_DIR/report0")" "$served" "the report counts every request the server saw ($served)"
ok $([ "$(jq -r .tokens "$T_DIR/report0")" -gt 0 ] && echo 0 || echo 1) "and the tokens spent ($(jq -r .tokens "$T_DIR/report0"))"
rm -f "$T_DIR"/docs/*
for i in $(seq 1 20); do printf '# Other %d\n\nOther text %d.\n' "$i" "$i" >"$T_DIR/docs/o$i.md"; done
# The runs below embed locally: a database of their own (embed's
# --check-corpus stops a run on that API corpus at once, status 2).
newdb || exit 1

fault='{"endpoint":"chat","status":429,"code":"insufficient_quota","message":"You exceeded your current quota"}'
api_control "{\"faults\":[$(printf "$fault,%.0s" $(seq 49))$fault]}"

chat_before=$(api_stats '.requests.chat')
start=$SECONDS
# Every process the run starts inherits the tag, whatever its command line.
env "$(tag_env refused)" timeout 60 docpipe run "$T_DIR/docs" --progress none --opt summarize=--backend=openai \
	>"$T_DIR/report" 2>"$T_DIR/err"
rc=$?
is "$rc" 4 "the run stops with status 4 (refused)"
ok $([ $((SECONDS - start)) -lt 30 ] && echo 0 || echo 1) "and stops fast ($((SECONDS - start)) s)"
like "$(cat "$T_DIR/err")" "exited with status 4 \(the model API refused the run\)" "the supervisor names the refusal"
like "$(cat "$T_DIR/err")" "refused the run" "the stage says why"
n=$(($(api_stats '.requests.chat') - chat_before))
ok $([ "$n" -le 2 ] && echo 0 || echo 1) "no retry storm: $n chat request(s) in all"
left=$(tagged refused)
is "$(echo $left)" "" "no process of the run left behind"
[ -z "$left" ] || { ps -o pid,args -p "$(echo $left | tr ' ' ,)" | sed 's/^/# /'; kill $left 2>/dev/null; }

# A stage that keeps dying (here: the store alone given no server at its
# database's port, and --db-retry 0; the run's claim is made in the
# database that is up) is restarted a few times with a growing delay,
# then the run stops.  (A login refused for good is no crash: exit 2, the
# run stops at once, fault_db_refused_language.sh.)
# Each line of the supervisor's stderr is stamped with the time it came.
closed=$(free_ports 1) || { ok 1 "a free port"; done_testing; }
mkdir "$T_DIR/bin"
ln -s "$DOCPIPE_BIN"/docpipe-* "$T_DIR/bin/"
rm "$T_DIR/bin/docpipe-store"
printf '#!/bin/sh\nDATABASE_URL=postgresql://%s@127.0.0.1:%s/x exec %s "$@"\n' \
	"$PGUSER" "$closed" "$DOCPIPE_BIN/docpipe-store" >"$T_DIR/bin/docpipe-store"
chmod +x "$T_DIR/bin/docpipe-store"
start=$SECONDS
DOCPIPE_BIN=$T_DIR/bin \
	timeout 120 docpipe run "$T_DIR/docs" --progress none --opt store=--db-retry=0 2>&1 >"$T_DIR/report2" |
	while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$T_DIR/err2"
rc=${PIPESTATUS[0]}
is "$rc" 3 "a crash loop stops the run with status 3"
like "$(cat "$T_DIR/err2")" "exited 5 times within 60s" "and says so"
# A loop never stopped would run into timeout's 120 s (the whole test took
# 31-41 s in make check and at load ~12: 60 s was a timed assertion).
ok $([ $((SECONDS - start)) -lt 110 ] && echo 0 || echo 1) "within a bounded time ($((SECONDS - start)) s)"
# The delays between a store replica's deaths and restarts grow: 1, 2, 4,
# 8 s less the supervisor's 1 s clock granularity.  Its "restarting" lines
# are that far apart plus the restarted replica's life until it fails,
# which varies (over a second for ASan under load): only the lower bounds
# hold, 2 and 6 s for the third and fourth gaps (under 1 and 3 s without
# a growing delay).
gaps=$(grep 'store-1 (pid [0-9]*) exited with status [0-9]*; restarting' "$T_DIR/err2" |
	awk 'NR > 1 { printf "%.1f ", $1 - prev } { prev = $1 }')
diag "gaps between store-1 restarts: $gaps s"
is "$(awk '{ print NF }' <<<"$gaps")" 4 "five restarts of the crashing replica, four gaps"
ok $(awk '{ exit !($3 >= 1.9 && $4 >= 5.9) }' <<<"$gaps"; echo $?) \
	"the restart delay grows (the third and fourth gaps at least 2 and 6 s)"
done_testing
