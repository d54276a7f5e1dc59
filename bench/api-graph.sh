#!/bin/bash
# Issue 8's cases (b) and (c) through the graph (`docpipe run`: discover,
# chunk, summarize --chunk-summaries, embed, store into a throwaway
# PostgreSQL), with the hub's overlap of summarize and embed on and off
# (--opt hub=--no-overlap), against the local test server
# (tests/fakeapi.py) with 16 slots per endpoint and bench/api.sh's latency
# profile (chat 20 ms + 0.015 ms per prompt token, embeddings 20 ms + 4 ms
# per input), `--threads 16` for summarize and embed.  Reported as the
# ratio of the wall time (the store's time included) to the service-time
# bound as bench/api-throughput.sh computes it: the busiest endpoint's busy
# seconds / slots.  The corpora are bench/api-throughput.sh's (same
# bench/gen-corpus seeds and sizes).
#
#   bench/api-graph.sh [CASE...] [-n RUNS]   (default: fixed b c, 1 run each)
#     RUN_OPTS="..." adds options to every `docpipe run` (e.g. --window 64)
#     BREAKDOWN=1 prints where each run's wall went beyond the bound
#       (bench/wall-breakdown.py: the first chat request, the lone first
#       request, the slots' idle time, the tail)
#     AB_BIN=DIR runs every case twice in a row, DIR's build first ("[A]",
#     e.g. a copy of main's bin/ with its docpipe script) then this one's
#     ("[B]"): builds compared minutes apart on a shared machine differ by
#     its load more than by their change (session 50)
#     fixed  one file of one chunk: what any `docpipe run` costs (starting the
#            processes, the hub's wait for the replicas' last counters, the
#            sweep, stopping), to set against the other cases' walls
#     a      200 generated files (bench/api.sh's corpus; not in the default)
#     b      40 files, one of them ~300 KB
#     c      one ~5 MB document
#     window the hub's window (`docpipe run`'s default, 4 x the largest
#            stage's level and at least 256, against the fixed 64 of before
#            and, with WINDOW_MORE=N, a window of N) on the 1,106 files of
#            $CORPORA (default /work/shared/corpora: rust-book, hugo-docs;
#            1,000 generated files if absent), a document summary each (no
#            chunk summaries), against a server of 64 slots, summarize
#            --threads 64, embed --threads 16
#     window-storm  the same files and windows in a storm (30% of requests
#            answered 429 with Retry-After 0.2 s, 5% of the others 503, at
#            random; 16 slots), summarize --threads 8, embed --threads 4 (as
#            tests/faults/run's storm case; the bound for 8 in flight), then the
#            default window clean
#     bigdocs  the hub's memory: 40 files of ~5 MB, a document summary
#            each (summarize --threads 16), the local embedder (faster than
#            the summaries: its outputs wait in the hub for their twins),
#            with the default --window-bytes and without a bound
#            (--window-bytes 0)
# Output: one line per run: wall, bound, ratio, CPU seconds of the whole run
# (user+sys of every process), peak RSS of the hub.  Run it under the shared
# lock: flock /work/wt/_notes/bench.lock bench/api-graph.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
BIN=${DOCPIPE_BIN:-$TOP/bin}
runs=1 cases=()
while [ $# -gt 0 ]; do
	case $1 in -n) runs=$2; shift ;; *) cases+=("$1") ;; esac
	shift
done
[ ${#cases[@]} -gt 0 ] || cases=(fixed b c)
slots=16
out=$(mktemp -d /tmp/docpipe-api-graph.XXXXXX)
chmod 755 "$out"
server= sampler=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	[ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true # a failed run's: it would hold the lock
	tests/lib/pg.sh stop "$out/pg" >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT
unset OPENAI_API_KEY DATABASE_URL PGDATABASE

. bench/api-common.sh
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
serve $slots

# hub_peak RUN: until killed, the peak VmHWM (kB) of that run's hub, into $out/hub.kb.
hub_peak() {
	set +e
	local peak=0 kb p
	trap 'echo $peak >"$out/hub.kb"; exit 0' TERM
	while :; do
		for p in $(pgrep -f "docpipe-hub --run $1 "); do
			kb=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)
			[ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
		done
		sleep 0.1
	done
}

n=0
# The stages' arguments of every run (the window cases set their own) and
# the slots of the server the bound is computed for.
default_stage_args=(--threads summarize=16 --threads embed=16 --opt summarize=--chunk-summaries)
stage_args=("${default_stage_args[@]}")
bound_slots=$slots
embed_backend=openai
# run LABEL CORPUS [HUB-OPTION [RUN-OPTION...]]: one timed `docpipe run` into a
# fresh database (with AB_BIN, one of each build).
run() {
	if [ -z "${AB_BIN:-}" ]; then
		run_one "$@"
		return
	fi
	local b=$BIN
	BIN=$AB_BIN run_one "$1 [A]" "${@:2}"
	BIN=$b run_one "$1 [B]" "${@:2}"
}
# run_one LABEL CORPUS [HUB-OPTION [RUN-OPTION...]]: run's, with $BIN's build.
run_one() {
	local label=$1 dir=$out/$2 hubopt=(${3:+--opt hub=$3}) start end wall
	n=$((n + 1))
	createdb "b$n"
	reset
	hub_peak "bench$n" &
	sampler=$!
	start=$(date +%s.%N)
	PGDATABASE=b$n DOCPIPE_BIN=$BIN /usr/bin/time -f '%U %S' -o "$out/cpu" "$BIN/docpipe" run "$dir" --run "bench$n" \
		"${stage_args[@]}" "${@:4}" ${RUN_OPTS:-} --opt summarize=--backend=openai --opt summarize=--no-reuse \
		--opt embed=--backend="$embed_backend" --opt embed=--no-reuse "${hubopt[@]}" --quiet \
		>"$out/report" 2>"$out/err" || { echo "run failed:"; tail "$out/err"; exit 1; }
	end=$(date +%s.%N)
	kill -TERM $sampler
	wait $sampler || true
	curl -sf "$base/_stats" >"$out/stats"
	wall=$(calc "$end - $start")
	local bound
	bound=$(service_bound "$bound_slots")
	printf '%-30s wall %6.2f s  bound %5.2f s  ratio %5s  chat %5s emb %4s  docs %3s failed %s  cpu %6s s  hub rss %s MB\n' \
		"$label" "$wall" "$bound" "$(calc "$wall / $bound")" "$(jq -r .requests.chat "$out/stats")" \
		"$(jq -r .requests.embed "$out/stats")" "$(jq -r .added "$out/report")" \
		"$(jq -r .failed "$out/report")" "$(awk '{printf "%.1f", $1 + $2}' "$out/cpu")" \
		"$(($(cat "$out/hub.kb") / 1024))"
	[ -z "${BREAKDOWN:-}" ] || bench/wall-breakdown.py "$out/stats" "$start" "$end" "$bound_slots"
	dropdb "b$n"
}

echo "nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); latency $latency; $slots slots; -j16"
for c in "${cases[@]}"; do
	case $c in
	fixed) mkdir -p "$out/fixed"; printf '# One\n\nOne small file.\n' >"$out/fixed/one.md" ;;
	a) gen_corpus a 1 200 6000 ;;
	b) gen_corpus b 1 39 6000 1 300000 ;;
	c) gen_corpus c 4 1 5000000 ;;
	window | window-storm)
		corpora=${CORPORA:-/work/shared/corpora}
		[ -d "$out/window" ] || if [ -d "$corpora" ]; then cp -r "$corpora" "$out/window"; else gen_corpus window 1 1000 6000; fi
		if [ $c = window ]; then
			bound_slots=64 stage_args=(--threads summarize=64 --threads embed=16)
			serve 64
		else
			bound_slots=8 stage_args=(--threads summarize=8 --threads embed=4)
			serve $slots --rate-429 0.3 --rate-5xx 0.05
		fi
		for ((i = 1; i <= runs; i++)); do
			run "($c) default window" window ""
			run "($c) --window 64" window "" --window 64
			[ -z "${WINDOW_MORE:-}" ] || run "($c) --window $WINDOW_MORE" window "" --window "$WINDOW_MORE"
		done
		if [ $c = window-storm ]; then
			serve $slots
			run "($c) default window, clean" window ""
		fi
		serve $slots
		bound_slots=$slots stage_args=("${default_stage_args[@]}")
		continue ;;
	bigdocs)
		gen_corpus bigdocs 3 40 5000000
		stage_args=(--threads summarize=16) embed_backend=local
		for ((i = 1; i <= runs; i++)); do
			run "($c) default --window-bytes" bigdocs ""
			run "($c) --window-bytes 0" bigdocs "" --window-bytes 0
		done
		stage_args=("${default_stage_args[@]}") embed_backend=openai
		continue ;;
	*) echo "unknown case $c" >&2; exit 2 ;;
	esac
	for ((i = 1; i <= runs; i++)); do
		run "($c) graph, overlap" "$c"
		run "($c) graph, --no-overlap" "$c" --no-overlap
	done
done
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
