# Shared by bench/api-throughput.sh and bench/api-graph.sh (sourced, from the
# repository's top directory, with $out set): the test server, the corpora
# and the service-time bound, so both benchmarks measure the same thing.

# LATENCY overrides the profile (fakeapi --latency syntax), e.g. a slower
# model: LATENCY=embed=200+40,chat=200+0.15 (ten times the default).
latency=${LATENCY:-embed=20+4,chat=20+0.015}
# LATENCY_SPREAD=F: each answer's latency x (1 +- F) at random (fakeapi
# --latency-spread; default 0), e.g. 0.5 for a model whose answer time
# varies with its output's length.
latency_spread=${LATENCY_SPREAD:-0}

# bench_workdir NAME: $out = a new directory /tmp/docpipe-NAME.XXXXXX (mode
# 755: the throwaway cluster runs as the postgres user), removed at exit
# with the test server and the cluster started in it.
bench_workdir() {
	out=$(mktemp -d "/tmp/docpipe-$1.XXXXXX") && chmod 755 "$out" || exit 1
	server=
	trap bench_cleanup EXIT
}
bench_cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	tests/lib/pg.sh stop "$out/pg" >/dev/null 2>&1 || true
	rm -rf "$out"
}

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

# serve SLOTS [fakeapi options...]: (re)starts the test server (pid in
# $server), sets $base and exports OPENAI_BASE_URL.
serve() {
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
	: >"$out/port"
	/usr/bin/python3 tests/fakeapi.py --port 0 --slots "$@" --latency "$latency" \
		--latency-spread "$latency_spread" --no-log ${BREAKDOWN:+--times} \
		>"$out/port" 2>"$out/server.err" &
	server=$!
	for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.05; done
	base=http://127.0.0.1:$(awk '{print $2}' "$out/port")
	export OPENAI_BASE_URL=$base/v1
}
reset() { curl -sf -X POST -d '{}' "$base/_reset" >/dev/null; }

# gen_corpus NAME SEED FILES SIZE [FILES2 SIZE2]: Markdown files under
# $out/NAME (seeds picked for sizes near the ones asked: gen-corpus varies them).
gen_corpus() {
	local name=$1
	shift
	mkdir -p "$out/$name"
	bench/gen-corpus --seed "$1" --files "$2" --size "$3" --out "$out/$name/a" >/dev/null
	shift
	[ $# -gt 2 ] && bench/gen-corpus --seed 4 --files "$3" --size "$4" --out "$out/$name/b" >/dev/null
	return 0
}

# service_bound SLOTS: the service-time bound of the run whose server
# statistics are in $out/stats: the busiest endpoint's busy seconds / SLOTS.
service_bound() {
	local chat emb
	chat=$(jq -r .busy_s.chat "$out/stats") emb=$(jq -r .busy_s.embed "$out/stats")
	calc "($chat > $emb ? $chat : $emb) / $1"
}
