#!/bin/bash
# docpipe-embed's memory on one big document with wide vectors (issue 8
# (c) at OpenAI's 1,536 dimensions): 4,000 chunks of 1.2 KB (a 5 MB
# record), its output line 38 MB.  It held the vectors as base64 jv strings
# (33 MB) and then serialized the record whole beside them: 104 MB on
# stdout, 133 MB on a ZeroMQ socket (zmq_send's copy of the text too).  Now
# the vectors are float32 (25 MB), read where they are kept, and the
# record is written in pieces: to stdout a chunk at a time, to ZeroMQ into
# one buffer of its exact size handed over without a copy, the vectors and
# chunks freed as they are written: 55 / 58 MB (session 53).  The output
# is the record built whole's, byte for byte (tests/unit/test_embed.c).
# lane: beside
. "$(dirname "$0")/../lib/tap.sh"
set -o pipefail
unsanitized_only "a sanitizer's shadow memory and allocator are no measure of the stage's memory"
unset DATABASE_URL OPENAI_API_KEY PGDATABASE

python3 - >"$T_DIR/doc.ndjson" <<'PY'
import json
chunks = [{"seq": c, "text": " ".join("w%d.%d" % (c, k) for k in range(150))} for c in range(4000)]
print(json.dumps({"v": 1, "kind": "document", "path": "/d/big.md", "chunks": chunks,
                  "meta": {"m": 1}}, separators=(",", ":")))
PY

fakeapi --slots 16
EMBED=(docpipe-embed --backend openai --no-reuse --dim 1536 --threads 16)

# check FILE WHAT: the one record in FILE is the document, every chunk with
# its text and a vector of 1,536 dimensions, the keys in the record's order.
check() {
	python3 - "$T_DIR/doc.ndjson" "$1" >"$T_DIR/check" <<'PY'
import json, sys
src = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
out = json.loads(lines[0])
print(len(lines), out["kind"], list(out)[-3:] == ["chunks", "embedder", "dim"],
      sum(c["text"] != s["text"] or len(c.get("vec", "")) != 8192
          for c, s in zip(out["chunks"], src["chunks"])) + abs(len(out["chunks"]) - 4000))
PY
	read -r n kind order bad <"$T_DIR/check"
	is "$n $kind $order $bad" "1 document True 0" "$2: the document, each chunk with its text and a vector of 1,536 dimensions"
}

# peak OUT COMMAND...: runs COMMAND, its input the document, its output
# to OUT, its stderr to $T_DIR/doc.ndjson.err; prints its peak RSS (KiB)
# and its exit status.
peak() {
	python3 - "$T_DIR/doc.ndjson" "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1]) as i, open(sys.argv[2], "w") as o, open(sys.argv[1] + ".err", "w") as e:
    rc = subprocess.call(sys.argv[3:], stdin=i, stdout=o, stderr=e)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
PY
}

read -r kb rc < <(peak "$T_DIR/out.ndjson" "${EMBED[@]}")
is "$rc" 0 "stdout: exit 0"
check "$T_DIR/out.ndjson" stdout
ok $((kb < 64 * 1024 ? 0 : 1)) "stdout: peak $((kb / 1024)) MB, under 64 MB (104 MB before)"

# ZeroMQ: docpipe-chunk passes the document through (not a file record),
# from the socket embed binds to its stdout.
sock=ipc://$T_DIR/out.sock
docpipe-chunk --in "$sock" >"$T_DIR/zmq.ndjson" 2>"$T_DIR/chunk.err" &
reader=$!
read -r kb rc < <(peak /dev/null "${EMBED[@]}" --out "@$sock")
is "$rc" 0 "ZeroMQ: exit 0"
wait_for 30 test -s "$T_DIR/zmq.ndjson"
wait_for 30 grep -q '"dim":1536}$' "$T_DIR/zmq.ndjson"
kill "$reader"
wait "$reader" 2>/dev/null
check "$T_DIR/zmq.ndjson" ZeroMQ
cmp -s "$T_DIR/out.ndjson" "$T_DIR/zmq.ndjson"
is "$?" 0 "ZeroMQ: the same text as on stdout"
ok $((kb < 80 * 1024 ? 0 : 1)) "ZeroMQ: peak $((kb / 1024)) MB, under 80 MB (133 MB before)"
done_testing
