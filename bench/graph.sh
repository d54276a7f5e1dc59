#!/bin/bash
# The graph beside the pipeline.  With the API latency profile (tests/fakeapi.py,
# summarize through its OpenAI-style chat endpoint: the slowest stage), the
# throughput of the stdin/stdout pipeline and of the graph with 1, 2 and 4
# summarize replicas; then, with the local backends, the peak RSS of every
# process of a graph run at two corpus sizes (it must stay flat).
#
#   bench/graph.sh [FILES] [BIG_FILES] [CHAT_MS]   (default 200, 10000, 50)
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
files=${1:-200} big=${2:-10000} chat_ms=${3:-50}
out=$(mktemp -d /tmp/docpipe-bench.XXXXXX)
chmod 755 "$out"
cleanup() { [ -n "${API:-}" ] && kill "$API" 2>/dev/null; tests/lib/pg.sh stop "$out/pg"; rm -rf "$out"; }
trap cleanup EXIT

eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
/usr/bin/python3 tests/fakeapi.py --port 0 --slots 64 --no-log --latency "chat=$chat_ms+0" \
	>"$out/api.port" 2>/dev/null &
API=$!
for _ in $(seq 1 50); do grep -q PORT "$out/api.port" 2>/dev/null && break; sleep 0.1; done
export OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$(awk '{print $2}' "$out/api.port")/v1"

n=0
freshdb() {
	n=$((n + 1))
	createdb "b$n"
	export PGDATABASE="b$n" DATABASE_URL="postgresql:///b$n?host=$PGHOST&port=$PGPORT&user=$PGUSER"
}
now() { date +%s.%N; }
rate() { awk "BEGIN { printf \"%.1f\", $1 / ($3 - $2) }"; }

bench/gen-corpus --seed 1 --files "$files" --out "$out/corpus" >/dev/null
echo "corpus: $files files; summarize via the API profile (chat $chat_ms ms per request)"

freshdb
t0=$(now)
bin/docpipe-discover "$out/corpus" | bin/docpipe-chunk | bin/docpipe-summarize --backend openai |
	bin/docpipe-embed | bin/docpipe-store -q >/dev/null
echo "pipeline (1 summarize process):      $(rate "$files" "$t0" "$(now)") docs/s"

for r in 1 2 4; do
	freshdb
	t0=$(now)
	bin/docpipe run "$out/corpus" --replicas "summarize=$r" --opt summarize=--backend=openai \
		--quiet >/dev/null
	echo "graph, $r summarize replica(s):       $(rate "$files" "$t0" "$(now)") docs/s"
done

# Peak RSS (VmHWM) of every process of a local-backend graph run: the
# run's own, not every docpipe process of this tree on the machine.
. tests/lib/procs.sh
sample_rss() { # sample_rss LOG PID: until killed, keeps the peak per program
	set +e # a process that ends between pgrep and /proc is not an error
	declare -A peak=()
	trap 'for k in "${!peak[@]}"; do echo "$k ${peak[$k]}"; done >"$1"; exit 0' TERM
	while :; do
		for p in $(descendants "$2"); do
			name=$(awk '{print $1}' "/proc/$p/cmdline" 2>/dev/null | tr '\0' ' ' | awk '{print $1}')
			[[ $name == "$TOP/bin/docpipe-"* ]] || continue # not the supervisor's shells
			kb=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
			[ -n "$kb" ] && [ "$kb" -gt "${peak[${name##*/}]:-0}" ] && peak[${name##*/}]=$kb
		done
		sleep 0.1
	done
}
for size in 1000 "$big"; do
	bench/gen-corpus --seed 2 --files "$size" --out "$out/c$size" >/dev/null
	freshdb
	t0=$(now)
	bin/docpipe run "$out/c$size" --replicas embed=2 --quiet >/dev/null &
	R=$!
	sample_rss "$out/rss$size" "$R" &
	S=$!
	wait "$R"
	t1=$(now)
	kill -TERM $S 2>/dev/null || true
	wait $S || true
	echo "local graph, $size files: $(rate "$size" "$t0" "$t1") docs/s; peak RSS (MB):" \
		"$(sort "$out/rss$size" | awk '{printf "%s %.1f  ", $1, $2 / 1024}')"
done
