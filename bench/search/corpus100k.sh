#!/bin/bash
# Builds the 100k-chunk corpora that bench/search/latency.py times: the
# chunks of ../shared/eval/chunking, rust-book and hugo-docs (3,296) copied
# 31 times (102,176 chunks), copy i dropping every (i+2)-th word ("near-copies": every copy's
# text and vector differ), local embedder, stored twice into a server with
# pgvector (tests/lib/pgvector.sh): database big_vector (vector, HNSW) and
# big_real (real[]).  The server is left running in DIR; run it again to
# reuse it (existing databases are kept), `bench/search/corpus100k.sh DIR stop`
# stops it.  It takes the bench lock (/work/wt/_notes/bench.lock, or
# $BENCH_LOCK) itself for the loads only: do not run it under flock, the
# server it leaves running would inherit the lock and hold it.
#   bench/search/corpus100k.sh DIR [SHARED_DIR] [COPIES]   -> prints the DATABASE_URLs
set -eu
cd "$(dirname "$0")/../.."
dir=$(realpath -m "$1") shared=${2:-/work/shared} copies=${3:-31}
B=${DOCPIPE_BIN:-$PWD/bin}
if [ "${2:-}" = stop ]; then tests/lib/pgvector.sh stop "$dir/pg"; exit 0; fi
mkdir -p "$dir"
chmod 755 "$dir"
if [ -f "$dir/env" ] && (. "$dir/env"; pg_isready -q -h "$PGHOST" -p "$PGPORT"); then
	. "$dir/env"
else
	# The server outlives this script: it must not inherit an open lock file.
	eval "$(for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-"; done
		tests/lib/pgvector.sh start "$dir/pg")"
	[ -n "$PGVECTOR_PGPORT" ] || { echo "no pgvector: $PGVECTOR_SKIP" >&2; exit 1; }
	echo "export PGHOST=$PGVECTOR_PGHOST PGPORT=$PGVECTOR_PGPORT PGUSER=postgres" >"$dir/env"
	. "$dir/env"
fi
export PGHOST PGPORT PGUSER
exec 9>"${BENCH_LOCK:-/work/wt/_notes/bench.lock}"
flock 9
url() { echo "postgresql:///$1?host=$PGHOST&port=$PGPORT&user=$PGUSER"; }
if [ ! -s "$dir/records.ndjson" ]; then
	"$B/docpipe-discover" "$shared/eval/chunking/corpora" "$shared/corpora/rust-book/src" \
		"$shared/corpora/hugo-docs/content/en" | "$B/docpipe-chunk" | python3 -c '
import json, sys
copies = int(sys.argv[1])
docs = [json.loads(l) for l in sys.stdin]
for i in range(copies):
    for d in docs:
        if d.get("kind") != "document":
            continue
        c = dict(d, path="/copy%02d%s" % (i, d["path"]), root="/copy%02d%s" % (i, d["root"]),
                 hash="%s-%d" % (d["hash"], i))
        chunks = []
        for ch in d.get("chunks", []):
            words = ch["text"].split(" ")
            if i > 0:
                words = [w for j, w in enumerate(words) if (j + 1) % (i + 2) != 0]
            chunks.append(dict(ch, text=" ".join(words)))
        c["chunks"] = chunks
        print(json.dumps(c))
' "$copies" | "$B/docpipe-embed" >"$dir/records.ndjson.tmp"
	mv "$dir/records.ndjson.tmp" "$dir/records.ndjson"
fi
for t in vector real; do
	db=big_$t
	if ! psql -X -q -A -t -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
		createdb "$db"
		/usr/bin/time -f "store $t: %e s wall, %U+%S s CPU" \
			env DATABASE_URL="$(url $db)" "$B/docpipe-store" -q --vector-type $t \
			<"$dir/records.ndjson" >/dev/null
		psql -X -q -d "$(url $db)" -c "ANALYZE docpipe.chunks"
	fi
	echo "export DATABASE_URL='$(url $db)'  # $(psql -X -A -t -d "$(url $db)" -c "SELECT count(*) FROM docpipe.chunks") chunks"
done
