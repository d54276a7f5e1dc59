#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe-store's memory with wide vectors behind a database that does not
# take its writes: 60 documents of 62 chunks with vectors of 3,072 numbers
# (OpenAI's text-embedding-3-large; ~1.9 MB a record as text), the
# documents table locked by another session.  The store's queue was
# bounded in records only (512): it read the whole input meanwhile, every
# record parsed with its vectors decoded (212 MB over 200 such records,
# session 52's h52c).  Now the queue holds 16 MiB at most
# (STORE_QUEUE_BYTES, store_item_held_bytes), and a batch is taken from it.
# Judged by peak RSS (memory, not time): release only.
. "$(dirname "$0")/../lib/tap.sh"
unsanitized_only "a sanitizer's shadow memory and allocator are no measure of the stage's memory"
newdb || exit 1
python3 - "$T_DIR" <<'PY'
import base64, json, struct, sys
t = sys.argv[1]
def doc(d, n, root="/wide"):
    chunks = []
    for c in range(n):
        vec = struct.pack("<3072f", *[((d * 62 + c + k) % 97 - 48) / 64.0 for k in range(3072)])
        chunks.append({"seq": c, "text": " ".join("w%d.%d.%d" % (d, c, k) for k in range(160)),
                       "heading": ["H"], "vec": base64.b64encode(vec).decode()})
    return json.dumps({"v": 1, "kind": "document", "path": root + "/%03d.md" % d, "root": root,
                       "hash": "h%d" % d, "chunker": "t", "embedder": "test/wide", "dim": 3072,
                       "chunks": chunks})
with open(t + "/first.ndjson", "w") as f:
    print(doc(999, 1, "/first"), file=f)
with open(t + "/docs.ndjson", "w") as f:
    for d in range(60):
        print(doc(d, 62), file=f)
PY
docpipe-store -q <"$T_DIR/first.ndjson" >/dev/null 2>"$T_DIR/first.err"
is "$?" 0 "a first document makes the corpus (3,072 dimensions)" || diag "$(cat "$T_DIR/first.err")"
hold_lock locker "LOCK TABLE docpipe.documents IN ACCESS EXCLUSIVE MODE" || diag "the lock was not taken in 30 s"
# Reads the store's stdin offset until it stops moving for a second (its
# queue full, or the input read), then its peak RSS; the lock goes then.
docpipe-store -q <"$T_DIR/docs.ndjson" >"$T_DIR/receipts" 2>"$T_DIR/err" &
store=$!
last=-1 still=0
while [ $still -lt 10 ] && kill -0 $store 2>/dev/null; do
	sleep 0.1
	off=$(awk '/^pos:/ {print $2}' "/proc/$store/fdinfo/0" 2>/dev/null)
	if [ "$off" = "$last" ]; then still=$((still + 1)); else still=0 last=$off; fi
done
peak=$(awk '/VmHWM/ {print $2}' "/proc/$store/status")
size=$(stat -c %s "$T_DIR/docs.ndjson")
release_lock locker
wait $store
is "$?/$(sql "SELECT count(*) FROM docpipe.documents WHERE root = '/wide'")" 0/60 "the lock gone: exit 0, every document stored"
ok $((last < size / 2 ? 0 : 1)) "behind the lock it read $((last >> 20)) MB of the input's $((size >> 20)) MB (all before)"
ok $((peak < 64 * 1024 ? 0 : 1)) "peak $((peak >> 10)) MB behind the lock, under 64 MB"
done_testing
