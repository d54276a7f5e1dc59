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

# Writes docs.ndjson; prints the question's vector (E0).
E0=$(python3 - <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
out = open("docs.ndjson", "w")
f = "Other words fill this part of the page so that it reads like real documentation."
docs = [  # x.md: the vector side's; y.md and z.md: the text side's
    ("/f/x.md", [("A gizmo may frobnicate. " + f + " " + f, (1, 0, 0, 0))]),
    ("/f/y.md", [("How to start. " + f + " " + f, (0, 1, 0, 0)),
                 ("The options. " + f + " " + f, (0, 1, 0, 0)),
                 ("When it fails. " + f + " " + f, (0, 1, 0, 0))]),
    ("/f/z.md", [("Gizmo gizmo frobnicate frobnicate. " + f, (0, 1, 0, 0))]),
    ("/f/w.md", [("Nothing to see here. " + f, (0, 1, 0, 0))]),
]
for path, chunks in docs:
    out.write(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/f", "hash": path,
        "mtime": 1700000000, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": i, "text": t, "heading": ["Gizmo frobnicate"] if path == "/f/y.md" else [],
                    "vec": v(*x)} for i, (t, x) in enumerate(chunks)]}) + "\n")
print(v(1, 0, 0, 0))
PY
)
q() { docpipe-query --json --prf 0 --vector "$E0" "$@" | jq -r '.path + "#" + (.seq|tostring)' | paste -sd ' ' -; }

newdb || exit 1
docpipe-store -q <docs.ndjson >/dev/null
is "$?" 0 "stored"
# Fused chunk order: x (the vector side's), y's three chunks (the terms
# in their heading path), z (the terms twice in its text).  By
# document-level BM25 y comes first (the heading's terms count 3 in each of
# its chunks), then z, then x: fused with the places, y 1/12 + 1/11, x 1/11
# + 1/13, z 1/15 + 1/12.
is "$(q -k 6 --file-weight 0 'gizmo frobnicate')" "/f/x.md#0 /f/y.md#1 /f/y.md#0 /f/y.md#2 /f/z.md#0 /f/w.md#0" \
	"--file-weight 0: the fused chunk order"
is "$(q -k 6 'gizmo frobnicate')" "/f/y.md#1 /f/x.md#0 /f/z.md#0 /f/y.md#0 /f/y.md#2 /f/w.md#0" \
	"default: y.md (about the terms) above x.md, each document's best chunk first"
is "$(q -k 6 --per-document 2 'gizmo frobnicate')" "/f/y.md#1 /f/y.md#0 /f/x.md#0 /f/z.md#0 /f/y.md#2 /f/w.md#0" \
	"--per-document 2: two chunks of a document within the limit; y's third above w (margin)"
# Without x.md and w.md, y's other chunks score 4.6 above z's (standard
# scores): more than the margin, they keep their place.
is "$(q -k 4 --path /f/y.md --path /f/z.md 'gizmo frobnicate')" "/f/y.md#1 /f/y.md#0 /f/y.md#2 /f/z.md#0" \
	"--path: the documents it selects; a document's chunks far above the next keep their place"
# Weight 0.5: x 1/11 + .5/13, y 1/12 + .5/11, z 1/15 + .5/12.
is "$(q -k 3 --file-weight 0.5 'gizmo frobnicate')" "/f/x.md#0 /f/y.md#1 /f/z.md#0" \
	"--file-weight 0.5: the places weigh more"
is "$(q -k 3 --mode text --file-weight 1 'gizmo frobnicate' 2>err)" "/f/y.md#1 /f/y.md#0 /f/y.md#2" \
	"text mode: no file ranking"
like "$(cat err)" "notice: --mode text does not use --file-weight" "text mode: --file-weight named as unused"
is "$(q -k 6 '?' 2>/dev/null)" "$(q -k 6 --file-weight 0 '?' 2>/dev/null)" \
	"a question without terms: the vector side alone, no file ranking"
docpipe-query --file-weight -1 x >/dev/null 2>err
is "$?" 2 "--file-weight below 0: exit 2"
like "$(cat err)" "--file-weight: '-1' is not a number from 0 to 1000" "--file-weight: named"
done_testing
