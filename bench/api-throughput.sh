#!/bin/bash
# Issue 8's benchmarks: summarize --chunk-summaries | embed against the
# local test server (tests/fakeapi.py, bench/api.sh's latency profile:
# chat 20 ms + 0.015 ms per prompt token, embeddings 20 ms + 4 ms per
# input), reported as the ratio of the wall time to the service-time bound
# max(busy seconds of an endpoint) / slots.
#
#   bench/api-throughput.sh [CASE...]     (default: a b c d e storm)
#     a      200 generated files (bench/api.sh's corpus), --threads 16, 16 slots
#     b      40 files, one of them ~300 KB
#     c      one ~5 MB document (also peak RSS of summarize and embed)
#     d      --threads auto against 4, 16, 64 slots (against the best of
#            --threads 4/16/64) and against 64 slots limited to --rpm 3000
#            without x-ratelimit-* headers
#     e      the seed design (bench/api-baseline.py) on b, 4 and 16 workers
#     storm  a with 30% of requests answered 429 (Retry-After 0.2 s) and 5% 503
#     storm-auto  storm with --threads auto (against the same clean run),
#            summarize alone; RUNS=N repeats it (default 3: runs vary)
#     light  a with light weather: 1%, 3%, 5% of 429s and 3% of 503s at
#            random, -j16 and auto (against the clean runs), summarize alone
#     d64    d's 64-slot server alone: -j64 and auto, RUNS times (default 3);
#            SLOTS=N: N slots and -jN instead
#     drpm   d's rate-limited server, with and without x-ratelimit-* headers
#     dburst d's 64 slots behind a token bucket of BURST seconds (default 8)
#            at RPM (default 6000) without x-ratelimit-* headers (a
#            provider's bigger burst): auto, summarize alone, RUNS times
#            (default 3); its 429s (with LATENCY_SPREAD=0.5: the answer
#            times test_limiter's big_bucket_tests spread)
#     dreal  d on real documentation (../shared/corpora: the Rust book and
#            Hugo's docs, 1,107 files): -j16 / -j64 and auto against 16 and
#            64 slots, RUNS times (default 2), alternated
#     order  a, b, c in both orders: summarize | embed and embed | summarize
#     local  d on a server of one slot (a local model: Ollama, llama.cpp) whose
#            answers take a third (700 ms) and a tenth (200 ms) of --timeout 2:
#            auto against -j1, summarize alone, RUNS times (default 1); the
#            requests beyond the documents' are those given up and sent again
# LATENCY and LATENCY_SPREAD (bench/api-common.sh) change the test server's
# answer times, e.g. LATENCY_SPREAD=0.5 for +-50% at random.
# Output: one line per run.  Needs no database (--no-reuse).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${DOCPIPE_BIN:-bin}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(a b c d e storm)
out=$(mktemp -d /tmp/docpipe-api-tp.XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT
unset OPENAI_API_KEY DATABASE_URL PGHOST PGDATABASE

. bench/api-common.sh

# corpus NAME SEED FILES SIZE [FILES2 SIZE2]: chunked documents in $out/NAME.ndjson.
corpus() {
	gen_corpus "$@"
	"$BIN/docpipe-discover" "$out/$1" | "$BIN/docpipe-chunk" >"$out/$1.ndjson"
}

# run LABEL CORPUS SLOTS THREADS [summarize-only|embed-first]: one timed run;
# prints its line.  SUM_OPTS: more options for summarize.
run() {
	local label=$1 docs=$out/$2.ndjson slots=$3 t=$4 only=${5:-} start end wall
	reset
	start=$(date +%s.%N)
	if [ "$only" = embed-first ]; then
		/usr/bin/time -f %M -o "$out/rss.emb" "$BIN/docpipe-embed" --backend openai \
			--no-reuse --threads "$t" <"$docs" 2>"$out/emb.err" |
			/usr/bin/time -f %M -o "$out/rss.sum" "$BIN/docpipe-summarize" --backend openai \
				--chunk-summaries --no-reuse --threads "$t" >"$out/res.ndjson" 2>"$out/sum.err"
	elif [ -n "$only" ]; then
		/usr/bin/time -f %M -o "$out/rss.sum" "$BIN/docpipe-summarize" --backend openai \
			--chunk-summaries --no-reuse --threads "$t" ${SUM_OPTS:-} <"$docs" \
			>"$out/res.ndjson" 2>"$out/sum.err"
		: >"$out/emb.err"; echo 0 >"$out/rss.emb"
	else
		/usr/bin/time -f %M -o "$out/rss.sum" "$BIN/docpipe-summarize" --backend openai \
			--chunk-summaries --no-reuse --threads "$t" <"$docs" 2>"$out/sum.err" |
			/usr/bin/time -f %M -o "$out/rss.emb" "$BIN/docpipe-embed" --backend openai \
				--no-reuse --threads "$t" >"$out/res.ndjson" 2>"$out/emb.err"
	fi
	end=$(date +%s.%N)
	curl -sf "$base/_stats" >"$out/stats"
	wall=$(calc "$end - $start")
	local bound failed docs_n level r429
	bound=$(service_bound "$slots")
	failed=$(jq -r 'select(.kind=="error") | .path' "$out/res.ndjson" | wc -l)
	docs_n=$(jq -r 'select(.kind=="document") | .path' "$out/res.ndjson" | wc -l)
	level=$(grep -o 'in flight: [0-9]* at the end, [0-9]* at most' "$out/sum.err" |
		awk '{print $3 "/" $7}' | tr '\n' ' ' || true)
	r429=$(jq -r '[.status[]["429"] // 0] | add' "$out/stats")
	printf '%-34s wall %6.2f s  bound %5.2f s  ratio %5s  chat %5s emb %4s  429 %4s  docs %3s failed %s  level(end/max) %-7s rss %s/%s MB\n' \
		"$label" "$wall" "$bound" "$(calc "$wall / $bound")" "$(jq -r .requests.chat "$out/stats")" \
		"$(jq -r .requests.embed "$out/stats")" "$r429" "$docs_n" "$failed" "${level:-?}" \
		"$(($(cat "$out/rss.sum") / 1024))" "$(($(cat "$out/rss.emb") / 1024))"
	LAST_WALL=$wall
}

# baseline LABEL CORPUS WORKERS: the seed design; prints wall and per chunk.
baseline() {
	local chunks wall
	reset
	chunks=$(jq -s '[.[] | select(.kind=="document") | .chunks | length] | add' "$out/$2.ndjson")
	wall=$(/usr/bin/python3 bench/api-baseline.py "$base" "$3" <"$out/$2.ndjson")
	printf '%-34s wall %6.2f s  chunks %s  ms/chunk %s\n' "$1" "$wall" "$chunks" "$(calc "$wall * 1000 / $chunks")"
	LAST_WALL=$wall
}

echo "nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); latency $latency"
for c in "${cases[@]}"; do
	case $c in
	a)
		corpus a 1 200 6000
		serve 16
		run "(a) 200 files, -j16, 16 slots" a 16 16
		;;
	b)
		corpus b 1 39 6000 1 300000
		serve 16
		run "(b) 40 files + 300 KB, -j16" b 16 16
		run "(b) summarize only" b 16 16 summarize-only
		b_wall=$LAST_WALL
		b_chunks=$(jq -s '[.[] | select(.kind=="document") | .chunks | length] | add' "$out/b.ndjson")
		echo "    ms/chunk $(calc "$b_wall * 1000 / $b_chunks") ($b_chunks chunks)"
		;;
	c)
		corpus c 4 1 5000000
		serve 16
		run "(c) one 5 MB document, -j16" c 16 16
		run "(c) summarize only" c 16 16 summarize-only
		;;
	d)
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		for slots in 4 16 64; do
			serve "$slots"
			for t in 4 16 64; do
				run "(d) $slots slots, -j$t" a "$slots" "$t" summarize-only
			done
			run "(d) $slots slots, auto" a "$slots" auto summarize-only
		done
		serve 64 --rpm 3000 --no-ratelimit-headers
		for t in 4 16; do
			run "(d) 64 slots, 3000 rpm, -j$t" a 64 "$t" summarize-only
		done
		run "(d) 64 slots, 3000 rpm, auto" a 64 auto summarize-only
		;;
	d64)
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		slots=${SLOTS:-64}
		serve "$slots"
		for _ in $(seq "${RUNS:-3}"); do
			run "(d) $slots slots, -j$slots" a "$slots" "$slots" summarize-only
			run "(d) $slots slots, auto" a "$slots" auto summarize-only
		done
		;;
	dreal)
		real=../shared/corpora
		[ -d "$real/rust-book" ] && [ -d "$real/hugo-docs" ] || { echo "dreal: no $real" >&2; exit 2; }
		[ -s "$out/real.ndjson" ] ||
			"$BIN/docpipe-discover" "$real/rust-book" "$real/hugo-docs" | "$BIN/docpipe-chunk" >"$out/real.ndjson"
		for slots in 16 64; do
			serve "$slots"
			for _ in $(seq "${RUNS:-2}"); do
				run "(dreal) $slots slots, -j$slots" real "$slots" "$slots" summarize-only
				run "(dreal) $slots slots, auto" real "$slots" auto summarize-only
			done
		done
		;;
	local)
		[ -s "$out/local.ndjson" ] || corpus local 2 10 1500
		for ms in 700 200; do
			latency=chat=$ms
			serve 1
			for _ in $(seq "${RUNS:-1}"); do
				SUM_OPTS="--timeout 2" run "(local) 1 slot of $ms ms, -j1" local 1 1 summarize-only
				SUM_OPTS="--timeout 2" run "(local) 1 slot of $ms ms, auto" local 1 auto summarize-only
			done
		done
		;;
	drpm)
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		for h in "" --no-ratelimit-headers; do
			serve 64 --rpm 3000 $h
			run "(d) 3000 rpm ${h:-headers}, -j16" a 64 16 summarize-only
			run "(d) 3000 rpm ${h:-headers}, auto" a 64 auto summarize-only
		done
		;;
	dburst)
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		serve 64 --rpm "${RPM:-6000}" --burst "${BURST:-8}" --no-ratelimit-headers
		for _ in $(seq "${RUNS:-3}"); do
			run "(d) ${BURST:-8} s at ${RPM:-6000} rpm, no headers, auto" a 64 auto summarize-only
			echo "    $(grep -o 'lowered .*' "$out/sum.err" | tr -s ' \n' ' ')"
		done
		;;
	e)
		[ -s "$out/b.ndjson" ] || corpus b 1 39 6000 1 300000
		serve 16
		baseline "(e) seed design on b, 4 workers" b 4
		baseline "(e) seed design on b, 16 workers" b 16
		;;
	storm)
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		serve 16
		run "(storm) clean, -j16" a 16 16
		clean=$LAST_WALL
		serve 16 --rate-429 0.3 --rate-5xx 0.05 --retry-after 0.2
		run "(storm) 30% 429 + 5% 503, -j16" a 16 16
		echo "    storm / clean: $(calc "$LAST_WALL / $clean")"
		;;
	storm-auto)
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		serve 16
		run "(storm) clean, auto, summarize" a 16 auto summarize-only
		clean=$LAST_WALL
		serve 16 --rate-429 0.3 --rate-5xx 0.05 --retry-after 0.2
		for _ in $(seq "${RUNS:-3}"); do
			run "(storm) 30% 429 + 5% 503, auto" a 16 auto summarize-only
			echo "    storm / clean: $(calc "$LAST_WALL / $clean"); $(grep -o 'lowered .*' "$out/sum.err" | tr -s ' \n' ' ')"
		done
		;;
	light)
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		serve 16
		run "(light) clean, -j16" a 16 16 summarize-only
		clean_fixed=$LAST_WALL
		run "(light) clean, auto" a 16 auto summarize-only
		clean_auto=$LAST_WALL
		for w in "--rate-429 0.01" "--rate-429 0.03" "--rate-429 0.05" "--rate-5xx 0.03"; do
			# shellcheck disable=SC2086
			serve 16 $w --retry-after 0.2
			run "(light) ${w#--rate-} , -j16" a 16 16 summarize-only
			echo "    / clean: $(calc "$LAST_WALL / $clean_fixed")"
			run "(light) ${w#--rate-} , auto" a 16 auto summarize-only
			echo "    / clean: $(calc "$LAST_WALL / $clean_auto"); $(grep -o 'lowered .*' "$out/sum.err" | tr -s ' \n' ' ')"
		done
		;;
	order)
		# The other order: embed first (it needs only the chunks' text).
		[ -s "$out/a.ndjson" ] || corpus a 1 200 6000
		[ -s "$out/b.ndjson" ] || corpus b 1 39 6000 1 300000
		[ -s "$out/c.ndjson" ] || corpus c 4 1 5000000
		serve 16
		for k in a b c; do
			run "($k) summarize | embed" "$k" 16 16
			run "($k) embed | summarize" "$k" 16 16 embed-first
		done
		;;
	*) echo "unknown case $c" >&2; exit 2 ;;
	esac
done
