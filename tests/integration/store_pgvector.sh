#!/bin/bash
# The pgvector path, against PGlite (PostgreSQL in WebAssembly with pgvector;
# Debian 12 has no pgvector package): vector(n) column, HNSW index, stores
# with --write-method insert (PGlite's COPY FROM STDIN is broken), query by <=>.
# Needs the npm packages (cached under ~/.cache/docpipe/pglite): without
# npm, or when their install fails (offline), the test is skipped with the
# reason, and tests/run prints every skip with its reason.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/docpipe/pglite
server=$cache/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js
if [ ! -f "$server" ] || [ ! -d "$cache/node_modules/@electric-sql/pglite-pgvector" ]; then
	mkdir -p "$cache"
	if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
		skip "pgvector via PGlite NOT TESTED: npm/node not installed"
		done_testing
	fi
	(cd "$cache" && timeout 120 npm install --no-audit --no-fund --silent --fetch-retries=1 \
		@electric-sql/pglite @electric-sql/pglite-socket @electric-sql/pglite-pgvector) >npm.log 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		why=$(grep -v '^\s*$' npm.log | tail -1)
		[ $rc = 124 ] && why="no answer within 120 s"
		skip "pgvector via PGlite NOT TESTED: npm install failed (offline?): ${why:-exit status $rc}"
		done_testing
	fi
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
node "$server" -p "$port" -m 4 -e @electric-sql/pglite-pgvector:vector >server.log 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null; rm -rf "$T_DIR"' EXIT
unset PGHOST PGPORT PGUSER PGDATABASE
export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"
pglite_up() { psql -X -q -A -t -c 'SELECT 1' "$DATABASE_URL" >/dev/null 2>&1; }
wait_for 90 pglite_up || { ok 1 "PGlite server answers within 90 s"; sed 's/^/# /' server.log; done_testing; }
psqlv() { psql -X -q -A -t -c "$1" "$DATABASE_URL"; }

python3 - >docs.ndjson <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
docs = [("/p/a.md", [("alpha exact", [1, 0, 0, 0]), ("alpha near", [0.9, 0.1, 0, 0])]),
        ("/p/b.md", [("beta opposite", [-1, 0, 0, 0]), ("beta orthogonal", [0, 1, 0, 0])])]
for path, chunks in docs:
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/p", "hash": path,
        "chunker": "t", "embedder": "local/fh-v1", "dim": 4, "run": "r1",
        "chunks": [{"seq": i, "text": t, "heading": ["H", str(i)], "vec": v(*x)}
                   for i, (t, x) in enumerate(chunks)]}))
PY
docpipe-store -q --write-method insert <docs.ndjson >r1.ndjson 2>err; rc=$?
is "$rc" 0 "store --write-method insert exits 0"
is "$(jq -r .status r1.ndjson | xargs)" "stored stored" "stored receipts"
is "$(psqlv "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'docpipe.chunks'::regclass AND attname = 'embedding'")" "vector(4)" "embedding column is vector(4)"
like "$(psqlv "SELECT indexdef FROM pg_indexes WHERE schemaname = 'docpipe' AND indexname = 'chunks_embedding_hnsw'")" "USING hnsw \(embedding vector_cosine_ops\)" "HNSW index"
is "$(psqlv "SELECT value FROM docpipe.settings WHERE key = 'vector_type'")" vector "settings: vector_type vector"
is "$(psqlv "SELECT array_to_string(heading, '>') FROM docpipe.chunks WHERE seq = 1 ORDER BY document_id LIMIT 1")" "H>1" "heading stored via insert"
docpipe-store -q --write-method insert <docs.ndjson | jq -r .status | xargs >r2
is "$(cat r2)" "unchanged unchanged" "re-run unchanged"
E0=$(python3 -c 'import base64,struct; print(base64.b64encode(struct.pack("<4f",1,0,0,0)).decode())')
out=$(docpipe-query --json -k 2 --vector "$E0" x); rc=$?
is "$rc" 0 "query exits 0"
is "$(jq -r .content <<<"$out" | paste -sd '|')" "alpha exact|alpha near" "query via <=>: nearest first"
is "$(jq -r '.score * 1000 | round' <<<"$out" | head -1)" 1000 "score is 1 - cosine distance"
done_testing
