#!/bin/bash
# docpipe-query's hybrid defaults of issue 11's third pass, over chunks with
# known vectors: pseudo-relevance feedback (--prf: the text side's first
# hit's vector joins the question's, so a chunk like the text's best hit
# but without its words rises on the vector side) and, when asked for, at
# most one chunk per document first (--per-document 1; off by default); the
# feedback only when the text side's first hit leads (--prf-lead).  Runs with real[]; tests/run runs it
# again with pgvector's vector type (the feedback reads vector::real[]).
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

E0=$(f32_base64 1 0 0 0)
python3 - >docs.ndjson <<'PY'
import base64, json, struct
def v(*x): return base64.b64encode(struct.pack("<4f", *x)).decode()
docs = [  # path, [(text, vector)]: cosines to E0 1, 0.6, 0, 0
    ("/p/hit.md", [("The zorblat setting turns the cache off.", (0, 1, 0, 0))]),
    ("/p/near.md", [("Switching off caching makes every request slower.", (0, 0.9, 0.44, 0))]),
    ("/p/q.md", [("An unrelated page the question vector points at.", (1, 0, 0, 0))]),
    ("/p/far.md", [("Another page, halfway to the question vector.", (0.6, 0, 0.8, 0))]),
    ("/p/two.md", [("Quux appears here first.", (0, 0, 0, 1)), ("Quux appears here again.", (0, 0, 0.1, 1))]),
]
for path, chunks in docs:
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/p", "hash": path,
        "mtime": 1700000000, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": i, "text": t, "heading": [], "vec": v(*x)} for i, (t, x) in enumerate(chunks)]}))
PY
q() { docpipe-query --json --vector "$E0" "$@" | jq -r '.path + "#" + (.seq|tostring)' | paste -sd ' ' -; }

newdb || exit 1
docpipe-store -q <docs.ndjson >/dev/null
is "$?" 0 "stored"
# Feedback: q' = E0 + hit's vector: near.md (0.635) passes far.md (0.424).
is "$(q -k 4 zorblat)" "/p/hit.md#0 /p/q.md#0 /p/near.md#0 /p/far.md#0" "hybrid (default --prf 1): the chunk like the text's best hit ranks above far.md"
is "$(q -k 4 --prf 0 zorblat)" "/p/hit.md#0 /p/q.md#0 /p/far.md#0 /p/near.md#0" "--prf 0: the question vector alone puts far.md above it"
is "$(docpipe-query --json -k 1 --vector "$E0" zorblat | jq -r '.vector_score * 1000 | round')" 707 \
	"--json: vector_score is the cosine to the question with feedback"
is "$(q -k 4 --prf 1 --prf-weight 0 zorblat)" "/p/hit.md#0 /p/q.md#0 /p/far.md#0 /p/near.md#0" "--prf-weight 0: no feedback"
is "$(q -k 2 --mode vector --prf 1 zorblat)" "/p/q.md#0 /p/far.md#0" "vector mode: no feedback (no text side)"
is "$(q -k 2 --prf 1 '?')" "/p/q.md#0 /p/far.md#0" "hybrid, a question without terms: the vector side alone"
# At most one chunk per document first only when asked for (or with the
# file ranking, on by default: query_filerank.sh).
is "$(q -k 2 --per-document 1 quux)" "/p/two.md#0 /p/q.md#0" "--per-document 1: one chunk of two.md, then another document"
is "$(q -k 2 --file-weight 0 quux)" "/p/two.md#0 /p/two.md#1" "hybrid without file ranking (default: no limit): both chunks of two.md"
is "$(q -k 2 --mode text quux)" "/p/two.md#0 /p/two.md#1" "text mode: no per-document limit by default"
# Feedback only when the text side's first hit leads its second by
# --prf-lead (default 1.25): here two chunks match "gizmo" alike (same
# length, one occurrence each), so the default gives none and far.md stays
# above near.md; --prf-lead 1 gives it whatever the lead.
python3 - >lead.ndjson <<'PY'
import base64, json
docs = [("/l/a.md", "The gizmo dial sets the cache size.", (0, 1, 0, 0)),
        ("/l/b.md", "The gizmo dial sets the log levels.", (0, 0, 1, 0)),
        ("/l/near.md", "Switching off caching makes every request slower.", (0, 0.9, 0, 0.44)),
        ("/l/far.md", "Another page, halfway to the question vector.", (0.6, 0, 0, 0.8))]
for path, text, x in docs:
    vec = base64.b64encode(__import__("struct").pack("<4f", *x)).decode()
    print(json.dumps({"v": 1, "kind": "document", "path": path, "root": "/l", "hash": path,
        "mtime": 1700000000, "chunker": "t", "embedder": "local/fh-v1", "dim": 4,
        "chunks": [{"seq": 0, "text": text, "heading": [], "vec": vec}]}))
PY
newdb || exit 1
docpipe-store -q <lead.ndjson >/dev/null
is "$?" 0 "stored the close text hits"
is "$(docpipe-query --json --vector "$E0" -k 2 --mode text gizmo 2>/dev/null | jq -r '.text_score' | uniq | wc -l)" 1 \
	"the two gizmo chunks score alike on the text side"
is "$(q -k 4 gizmo | tr ' ' '\n' | grep -E 'near|far' | paste -sd ' ' -)" "/l/far.md#0 /l/near.md#0" \
	"hybrid (default --prf-lead 1.25), first text hit not ahead: no feedback, far.md above near.md"
is "$(q -k 4 --prf-lead 1 gizmo | tr ' ' '\n' | grep -E 'near|far' | paste -sd ' ' -)" "/l/near.md#0 /l/far.md#0" \
	"--prf-lead 1: feedback from the first hit, near.md above far.md"
is "$(docpipe-query --vector "$E0" --prf 0 --prf-lead 2 gizmo 2>&1 >/dev/null)" \
	"docpipe-query: notice: --prf-lead is not used: --prf 0 turns the feedback off" "--prf-lead with --prf 0: named as unused"
out=$(docpipe-query --prf-lead -1 x 2>&1); is "$?/$out" "2/docpipe-query: --prf-lead: '-1' is not a number from 0 to 1000" "--prf-lead below 0: exit 2, named"
docpipe-query --prf 51 x 2>/dev/null; is "$?" 2 "--prf above 50: exit 2"
docpipe-query --prf-weight -1 x 2>/dev/null; is "$?" 2 "--prf-weight below 0: exit 2"
done_testing
