#!/bin/bash
# docpipe-query's file ranking (--file-weight, hybrid, on by default): the
# documents of the fused list ranked again with a document-level BM25 (a
# document's chunks as one text, scored in the database), each document's
# best chunk first; a document's other chunk ahead of others' best chunks
# only when it scores far above them.  Runs with real[]; tests/run runs it
# again with pgvector's vector type.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

v() { python3 -c 'import base64,struct,sys; print(base64.b64encode(struct.pack("<4f",*map(float,sys.argv[1:]))).decode())' "$@"; }
E0=$(v 1 0 0 0)
python3 - >docs.ndjson <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
f = "Other words fill this part of the page so that it reads like real documentation."
docs = [  # x.md: the vector side's; y.md and z.md: the text side's
    ("/f/x.md", [("A gizmo may frobnicate. " + f + " " + f, (1, 0, 0, 0))]),
    ("/f/y.md", [("Gizmo: how to frobnicate. " + f, (0, 1, 0, 0)),
                 ("Gizmo frobnicate options. " + f, (0, 1, 0, 0)),
                 ("When a gizmo fails to frobnicate. " + f, (0, 1, 0, 0))]),
    ("/f/z.md", [("A gizmo, a gizmo, frobnicate, frobnicate. " + f, (0, 1, 0, 0))]),
    ("/f/w.md", [("Nothing to see here. " + f, (0, 1, 0, 0))]),
]
for path, chunks in docs:
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/f", "hash": path,
        "mtime": 1700000000, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": i, "text": t, "heading": [], "vec": v(*x)} for i, (t, x) in enumerate(chunks)]}))
PY
q() { docpipe-query --json --prf 0 --vector "$E0" "$@" | jq -r '.path + "#" + (.seq|tostring)' | paste -sd ' ' -; }

newdb || exit 1
docpipe-store -q <docs.ndjson >/dev/null
is "$?" 0 "stored"
# Fused chunk order: x (the vector side's), z (one chunk, the terms twice),
# y's three chunks.  By document-level BM25 y (the terms in every chunk)
# comes first, then z, then x: fused with the places, x 1/11 + 1/13, y
# 1/13 + 1/11 (a tie: x's better place wins), z 1/12 + 1/12.
is "$(q -k 6 --file-weight 0 'gizmo frobnicate')" "/f/x.md#0 /f/z.md#0 /f/y.md#0 /f/y.md#1 /f/y.md#2 /f/w.md#0" \
	"--file-weight 0: the fused chunk order"
is "$(q -k 6 'gizmo frobnicate')" "/f/x.md#0 /f/y.md#0 /f/z.md#0 /f/y.md#1 /f/y.md#2 /f/w.md#0" \
	"default: y.md (the terms in all its chunks) above z.md, each document's best chunk first"
is "$(q -k 6 --per-document 2 'gizmo frobnicate')" "/f/x.md#0 /f/y.md#0 /f/y.md#1 /f/z.md#0 /f/y.md#2 /f/w.md#0" \
	"--per-document 2: two chunks of a document within the limit"
# Without x.md: z 1/11 + 1/12, y 1/12 + 1/11, a tie that z's place wins.
is "$(q -k 3 --path /f/y.md --path /f/z.md 'gizmo frobnicate')" "/f/z.md#0 /f/y.md#0 /f/y.md#1" \
	"--path: the documents it selects; a tie goes to the better place"
# Weight 0.5: x 1/11 + .5/13, z 1/12 + .5/12, y 1/13 + .5/11.
is "$(q -k 3 --file-weight 0.5 'gizmo frobnicate')" "/f/x.md#0 /f/z.md#0 /f/y.md#0" \
	"--file-weight 0.5: the places weigh more"
is "$(q -k 3 --mode text --file-weight 1 'gizmo frobnicate' 2>err)" "/f/z.md#0 /f/y.md#0 /f/y.md#1" \
	"text mode: no file ranking"
like "$(cat err)" "notice: --mode text does not use --file-weight" "text mode: --file-weight named as unused"
is "$(q -k 6 '?' 2>/dev/null)" "$(q -k 6 --file-weight 0 '?' 2>/dev/null)" \
	"a question without terms: the vector side alone, no file ranking"
docpipe-query --file-weight -1 x >/dev/null 2>err
is "$?" 2 "--file-weight below 0: exit 2"
like "$(cat err)" "--file-weight: '-1' is not a number from 0 to 1000" "--file-weight: named"
done_testing
