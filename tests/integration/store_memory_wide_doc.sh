#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# docpipe-store's memory on one big document with wide vectors (issue 8
# (c) at OpenAI's 1,536 dimensions): 3,000 chunks of 1.2 KB, a 28 MB
# record, its vectors 25 MB of base64 text.  The store parsed the record
# whole, the vectors as jv strings (a second copy of most of the text),
# then decoded them into floats while the strings' freed memory stayed in
# the heap: its peak was the store's start plus twice the record (68 MB
# here; 97 MB for session 53's 41.6 MB record).  Now the vectors are
# decoded from the record's text, never made jv strings, and the text's
# pages are given back as the pass reads them (store_doc_parse_text): the
# start plus about the record.  Judged on stdin and on a ZeroMQ socket (as
# under docpipe run), against the store's peak on a one-chunk record, and
# the vectors stored checked value by value.  Peak RSS (memory, not time):
# release only.
. "$(dirname "$0")/../lib/tap.sh"
unsanitized_only "a sanitizer's shadow memory and allocator are no measure of the stage's memory"
newdb || exit 1

# Values (k mod 200 - 99.5) / 4: exact in float32, and written alike by
# PostgreSQL's real and Python's %g (the expected text of each vector).
python3 - "$T_DIR" <<'PY'
import base64, hashlib, json, struct, sys
t = sys.argv[1]
def doc(path, n):
    chunks, want = [], []
    for c in range(n):
        v = [((c * 7 + k) % 200 - 99.5) / 4 for k in range(1536)]
        chunks.append({"seq": c, "text": " ".join("w%d.%d" % (c, k) for k in range(150)),
                       "vec": base64.b64encode(struct.pack("<1536f", *v)).decode()})
        want.append("{" + ",".join("%g" % x for x in v) + "}")
    rec = {"v": 1, "kind": "document", "path": path, "root": "/d", "hash": path, "chunker": "t",
           "chunks": chunks, "embedder": "test/wide", "dim": 1536}
    return json.dumps(rec, separators=(",", ":")), hashlib.md5("\n".join(want).encode()).hexdigest()
small, _ = doc("/d/small.md", 1)
big, md5 = doc("/d/big.md", 3000)
open(t + "/small.ndjson", "w").write(small + "\n")
open(t + "/big.ndjson", "w").write(big + "\n")
open(t + "/want.md5", "w").write(md5 + "\n")
PY
size=$(stat -c %s "$T_DIR/big.ndjson")

# peak IN: the store on IN (stdin); prints its peak RSS (KiB) and exit status.
peak() {
	python3 - "$1" "$T_DIR/receipts" "$T_DIR/err" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1]) as i, open(sys.argv[2], "w") as o, open(sys.argv[3], "w") as e:
    rc = subprocess.call(["docpipe-store"], stdin=i, stdout=o, stderr=e)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
PY
}

# stored: the big document's receipt and its vectors as the record has them.
stored() {
	local got
	got=$(sql "SELECT md5(string_agg(c.embedding::real[]::text, E'\n' ORDER BY c.seq)) FROM docpipe.chunks c
		   JOIN docpipe.documents d ON d.id = c.document_id WHERE d.path = '/d/big.md'")
	is "$(grep -c '"path":"/d/big.md","status":"stored","chunks":3000' "$T_DIR/receipts")/$got" \
		"1/$(cat "$T_DIR/want.md5")" "$1: stored, its 3,000 vectors the record's, value by value"
}

read -r base rc < <(peak "$T_DIR/small.ndjson")
is "$rc" 0 "a one-chunk record stored (peak $((base >> 10)) MB)" || diag "$(cat "$T_DIR/err")"
read -r kb rc < <(peak "$T_DIR/big.ndjson")
is "$rc" 0 "stdin: the 3,000-chunk record, exit 0" || diag "$(cat "$T_DIR/err")"
stored stdin
ok $(((kb - base) * 1024 < size * 14 / 10 ? 0 : 1)) \
	"stdin: peak $((kb >> 10)) MB, $(((kb - base) >> 10)) MB over the one-chunk record's, under 1.4 times the record's $((size >> 20)) MB (twice before)"

# ZeroMQ: the store binds, docpipe-chunk sends it the record (a document
# passes chunk unchanged); the store's peak once the receipt came.
newdb || exit 1
docpipe-store --in "@ipc://$T_DIR/in" >"$T_DIR/receipts" 2>"$T_DIR/err" &
store=$!
wait_for 30 test -S "$T_DIR/in"
docpipe-chunk --out "ipc://$T_DIR/in" <"$T_DIR/big.ndjson" 2>"$T_DIR/chunk.err" &
sender=$!
wait_for 120 grep -q '"status":"stored"' "$T_DIR/receipts"
kb=$(awk '/VmHWM/ {print $2}' "/proc/$store/status")
kill -TERM $store $sender 2>/dev/null
wait $store 2>/dev/null
wait $sender 2>/dev/null
stored ZeroMQ
ok $(((kb - base) * 1024 < size * 14 / 10 ? 0 : 1)) \
	"ZeroMQ: peak $((kb >> 10)) MB, $(((kb - base) >> 10)) MB over the one-chunk record's, under 1.4 times the record's"
done_testing
