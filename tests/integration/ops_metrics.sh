#!/bin/bash
# Prometheus metrics from the hub (issue 13 item 3): `docpipe run --metrics`
# serves /metrics during a run.  The run is held mid-way (no store replica:
# the window fills and stays full) so that the scrape sees a graph at work;
# promtool (Prometheus's own checker) must accept the text; then a store
# worker lets the run finish.
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail

N=100
mkdir -p "$T_DIR/docs"
for i in $(seq 1 $N); do printf '# Doc %d\n\nText %d.\n\n## More\n\nMore text %d.\n' "$i" "$i" "$i" \
	>"$T_DIR/docs/d$i.md"; done
newdb || exit 1

start_run() {
	docpipe run "$T_DIR/docs" --listen "127.0.0.1:$PORT" --replicas store=0 --window 32 \
		--metrics "127.0.0.1:$((PORT + 9))" --progress none >"$T_DIR/report" 2>"$T_DIR/err" &
	SUP=$!
}
listen_run 11 start_run
ok $? "the hub listens on its ports" || done_testing
URL=http://127.0.0.1:$((PORT + 9))/metrics
scrape() { curl -sf --max-time 2 "$URL" >"$T_DIR/metrics"; }
# metric NAME_AND_LABELS: its value in the last scrape (first match).
metric() { awk -v k="$1" 'index($0, k) == 1 { print $NF; exit }' "$T_DIR/metrics"; }
# metric_sum NAME_AND_LABELS: the sum over every replica's line (a replica
# may have had no record of the 32 yet: the first line alone can be 0).
metric_sum() { awk -v k="$1" 'index($0, k) == 1 { s += $NF } END { print s + 0 }' "$T_DIR/metrics"; }
held() { scrape && [ "$(metric 'docpipe_window_documents ')" = 32 ] &&
	[ "$(metric 'docpipe_replica_up{stage="embed"')" = 1 ]; }
wait_for 30 held
ok $? "the window fills while no store replica runs (window_documents 32)"

promtool check metrics <"$T_DIR/metrics" >"$T_DIR/promtool" 2>&1
is "$?" 0 "promtool check metrics accepts the text"
[ -s "$T_DIR/promtool" ] && sed 's/^/# promtool: /' "$T_DIR/promtool"
is "$(metric 'docpipe_window_size ')" 32 "the window size (--window)"
# A replica's counters reach the hub with its next stats report (every
# second), which may come after the window filled: scrape until it has.
counted() { scrape && [ "$(metric_sum 'docpipe_record_duration_seconds_count{stage="chunk"')" -gt 0 ]; }
wait_for 30 counted
ok $([ "$(metric_sum 'docpipe_records_out_total{stage="chunk"')" -gt 0 ] && echo 0 || echo 1) \
	"chunk's records out, per replica"
# The window full is not yet the store's queue: documents may still be in
# embed when it fills (1 check failed so in a loaded make check).
queued() { scrape && [ "$(metric 'docpipe_stage_queue{stage="store"}')" -gt 0 ]; }
wait_for 30 queued
ok $? "records wait for the store ($(metric 'docpipe_stage_queue{stage="store"}'))"
ok $([ "$(metric_sum 'docpipe_record_duration_seconds_count{stage="chunk"')" -gt 0 ] && echo 0 || echo 1) \
	"chunk's latency histogram counts records"
is "$(grep '^docpipe_record_duration_seconds_bucket{stage="chunk".*le="+Inf"' "$T_DIR/metrics" | awk '{print $NF}' | head -1)" \
	"$(metric 'docpipe_record_duration_seconds_count{stage="chunk"')" "the +Inf bucket holds every record counted"
like "$(grep '^docpipe_run_info' "$T_DIR/metrics")" 'run="' "the run id is a label"
is "$(curl -s -o /dev/null -w '%{http_code}' "${URL%/metrics}/other")" 404 "other paths: 404"
like "$(curl -sI "$URL" | tr -d '\r' | grep -i '^content-type')" "text/plain; version=0.0.4" \
	"Prometheus content type"

worker_finishes $SUP "the run completes once a store worker joins" store --connect "127.0.0.1:$PORT"
is "$(sql 'SELECT count(*) FROM docpipe.documents')" $N "$N documents stored"

# A port in use is a usage error before anything runs.
nc_port=$((PORT + 10))
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print(1, flush=True); time.sleep(20)' \
	"$nc_port" >"$T_DIR/busy" &
BUSY=$!
wait_for 30 test -s "$T_DIR/busy"
docpipe run "$T_DIR/docs" --metrics "127.0.0.1:$nc_port" --progress none >/dev/null 2>"$T_DIR/busy.err"
ok $([ $? -ne 0 ] && echo 0 || echo 1) "a metrics port in use stops the run"
like "$(cat "$T_DIR/busy.err")" "--metrics 127.0.0.1:$nc_port: cannot listen" "and says why"
kill $BUSY 2>/dev/null
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_DIR/err"
done_testing
