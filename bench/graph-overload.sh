#!/bin/bash
# A run whose API is slower than its window: 200 files through `docpipe run`
# with summaries from the test server (tests/fakeapi.py: 4 slots, 200 ms a
# chat request) at --threads 16, so the hub's 64 documents wait ~3 s in
# summarize's queue, against a short --timeout 2.  Reports the wall time,
# the documents re-sent and the chat requests the server answered (each
# copy of a document in flight is paid again).  Compare builds with
# DOCPIPE_BIN (a build before the hub's adaptive timeout re-sends what the
# queues hold).
#   bench/graph-overload.sh [FILES] [RUNS]   (default 200 files, 2 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-200} runs=${2:-2}
BIN=${DOCPIPE_BIN:-$PWD/bin}
out=$(mktemp -d /tmp/docpipe-bench.XXXXXX)
chmod 755 "$out"
cleanup() { [ -n "${API:-}" ] && kill "$API" 2>/dev/null; tests/lib/pg.sh stop "$out/pg" >/dev/null; rm -rf "$out"; }
trap cleanup EXIT
eval "$(tests/lib/pg.sh start "$out/pg")"
export PGHOST PGPORT PGUSER
unset DATABASE_URL OPENAI_API_KEY
/usr/bin/python3 tests/fakeapi.py --port 0 --slots 4 --no-log --latency "chat=200+0" \
	>"$out/api.port" 2>/dev/null &
API=$!
for _ in $(seq 1 50); do grep -q PORT "$out/api.port" 2>/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$(awk '{print $2}' "$out/api.port")
export OPENAI_BASE_URL=$base/v1
mkdir -p "$out/docs"
for i in $(seq 1 "$files"); do printf '# Doc %d\n\n%s\n' "$i" "$(seq -s ' ' "$i" $((i + 40)))" >"$out/docs/d$i.md"; done
echo "nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); $files files; chat 200 ms, 4 slots; --timeout 2"
for r in $(seq 1 "$runs"); do
	createdb "b$r"
	curl -sf -X POST -d '{}' "$base/_reset" >/dev/null
	start=$(date +%s.%N)
	PGDATABASE=b$r "$BIN/docpipe" run "$out/docs" --run "ov$r" --progress none --timeout 2 --attempts 10 \
		--threads summarize=16 --opt summarize=--backend=openai --opt summarize=--no-reuse \
		>"$out/report" 2>"$out/err" || true
	end=$(date +%s.%N)
	printf 'run %d: wall %6.2f s  added %s failed %s resent %s  chat requests %s (%s per document)\n' "$r" \
		"$(echo "$end - $start" | bc)" "$(jq -r .added "$out/report")" "$(jq -r .failed "$out/report")" \
		"$(jq -r .resent "$out/report")" "$(curl -sf "$base/_stats" | jq -r .requests.chat)" \
		"$(curl -sf "$base/_stats" | jq -r ".requests.chat / $files")"
	grep -m1 "re-sending after" "$out/err" | sed 's/^/  /' || true
	dropdb "b$r"
done
