#!/bin/bash
# Model-API pipeline against the local test server (tests/fakeapi.py):
#   discover | chunk | summarize --chunk-summaries | embed | store
# with the seed's per-call latencies divided by 100 and 16 server slots per
# endpoint.  Reports wall time, the lower bound from the server's busy time,
# requests per file, the same with --threads 1, and the seed's design (a pool
# of 4 threads, one file each, requests one after another) replayed against
# the same server (bench/api-baseline.py).
#
#   bench/api.sh [FILES] [THREADS]        (default 200 files, 16 threads)
#
# Latency profile (seed / 100): a chat call costs 20 ms + 0.015 ms per
# prompt token (chars / 4), an embedding call 20 ms + 4 ms per input.  For
# the seed's design that is ~0.2 s of summary calls and ~0.16 s of embedding
# calls per file (seed: ~20 s and ~16 s).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
files=${1:-200}
threads=${2:-16}
slots=16
# The test server and its latencies (serve, reset, calc, $latency).
. bench/api-common.sh
bench_workdir api-bench

bench/gen-corpus --seed 1 --files "$files" --out "$out/corpus" >/dev/null
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
serve "$slots"
unset OPENAI_API_KEY
stats() { curl -sf "$base/_stats"; }

# run NAME THREADS: the whole pipeline on a fresh database (so the result
# cache is empty and every result is a real request); sets the figures.
run() {
	local db=$1 t=$2 start end
	createdb "$db"
	export PGDATABASE=$db
	reset
	start=$(date +%s.%N)
	bin/docpipe-discover "$out/corpus" | bin/docpipe-chunk |
		bin/docpipe-summarize --backend openai --chunk-summaries --threads "$t" 2>"$out/$db.sum.err" |
		bin/docpipe-embed --backend openai --threads "$t" 2>"$out/$db.emb.err" |
		bin/docpipe-store >"$out/$db.receipts" 2>"$out/$db.store.err"
	end=$(date +%s.%N)
	stats >"$out/$db.stats"
	wall=$(calc "$end - $start")
	stored=$(grep -c '"stored"' "$out/$db.receipts" || true)
	[ "$stored" = "$files" ] || { echo "api.sh: $db stored $stored of $files files" >&2; exit 1; }
}

# figures FILE: busy seconds and requests per endpoint.
busy() { jq -r ".busy_s.$2" "$1"; }
reqs() { jq -r ".requests.$2" "$1"; }

row() { # label wall stats
	local chat emb lb_max lb_sum
	chat=$(busy "$3" chat) emb=$(busy "$3" embed)
	lb_max=$(calc "($chat > $emb ? $chat : $emb) / $slots")
	lb_sum=$(calc "($chat + $emb) / $slots")
	printf '%-28s %8s %9s %9s %7s %7s %6s %6s %6s\n' "$1" "$2" "$lb_max" "$lb_sum" \
		"$(calc "$2 / $lb_max")" "$(calc "$2 / $lb_sum")" \
		"$(calc "$(reqs "$3" chat) / $files")" "$(calc "$(reqs "$3" embed) / $files")" \
		"$(calc "($chat + $emb) / $files")"
}

run bench_t "$threads"
wall_t=$wall
run bench_1 1
wall_1=$wall
reset
bin/docpipe-discover "$out/corpus" | bin/docpipe-chunk >"$out/docs.ndjson"
wall_b=$(calc "$(/usr/bin/python3 bench/api-baseline.py "$base" 4 <"$out/docs.ndjson")")
stats >"$out/base.stats"

echo "files $files, $(jq -s '[.[]|select(.kind=="document")|.chunks|length]|add' "$out/docs.ndjson") chunks; server: $slots slots per endpoint, latency $latency"
printf '%-28s %8s %9s %9s %7s %7s %6s %6s %6s\n' run wall_s lb_max_s lb_sum_s /max /sum chat/f emb/f busy/f
row "pipeline --threads $threads" "$wall_t" "$out/bench_t.stats"
row "pipeline --threads 1" "$wall_1" "$out/bench_1.stats"
row "seed design (4 x 1 file)" "$wall_b" "$out/base.stats"
echo "lb_max: max over endpoints of busy_s/$slots (both endpoints serve at once: the true bound);"
echo "lb_sum: sum over endpoints of busy_s/$slots (as if they could not overlap); busy/f: server seconds per file"
