#!/bin/bash
# The hub's /metrics answer time under a running graph (issue 13 target:
# <= 10 ms): a `docpipe run --metrics` over generated files with 2 replicas
# of every stage, scraped with curl back to back while it runs; prints the
# number of scrapes, the answer size and p50/p95/max of curl's time_total.
#
#   bench/metrics.sh [FILES]      (default 3000 files of ~2,000 bytes)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-3000}
out=$(mktemp -d /tmp/docpipe-metrics-bench.XXXXXX)
chmod 755 "$out"
cleanup() { tests/lib/pg.sh stop "$out/pg" >/dev/null 2>&1 || true; rm -rf "$out"; }
trap cleanup EXIT

bench/gen-corpus --seed 5 --files "$files" --size 2000 --out "$out/corpus" >/dev/null
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
createdb metrics && export PGDATABASE=metrics
port=$((20000 + RANDOM % 30000))
PATH=$PWD/bin:$PATH docpipe run "$out/corpus" --replicas chunk=2 --replicas summarize=2 \
	--replicas embed=2 --replicas store=2 --metrics "127.0.0.1:$port" --progress none \
	>"$out/report" 2>"$out/err" &
run=$!
until curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"; do sleep 0.05; done
while kill -0 $run 2>/dev/null; do
	curl -sf -o "$out/last" -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" >>"$out/times" || break
done
wait $run || true
echo "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), $files files, $(jq -r .seconds "$out/report") s run"
echo "answer: $(wc -c <"$out/last") bytes, $(grep -c '^docpipe_replica_up' "$out/last") replicas"
sort -n "$out/times" | awk '{ t[NR] = $1 * 1000 } END {
	printf "%d scrapes: p50 %.2f ms, p95 %.2f ms, max %.2f ms\n", NR, t[int(NR * 0.5) + 1],
		t[int(NR * 0.95) + 1], t[NR] }'
