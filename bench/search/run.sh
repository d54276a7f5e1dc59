#!/bin/bash
# Retrieval quality of docpipe-query by mode (vector, text, hybrid) with the
# local embedder, into a throwaway PostgreSQL:
#  (a) ../shared/eval/chunking: token-level recall@5 / IoU@5 (its README);
#  (b) ../shared/corpora (rust-book, hugo-docs): expected file in the top 5 /
#      first, for questions-corpora.jsonl (the 24 questions the defaults were
#      first tuned on), questions-heldout.jsonl (40 questions committed before
#      any result of the second pass; tuning data since the third) and
#      questions-heldout2.jsonl (40 questions committed before any result of
#      the third pass; looked at since) and questions-heldout3.jsonl (40
#      questions committed before any run of session 6; looked at since) and
#      questions-heldout4.jsonl (40 questions committed before any run of
#      session 7; measured once on main and once on the final code; looked
#      at since) and questions-heldout5.jsonl (40 questions committed before
#      any run on them in session 8, after the variants were compared on the
#      other sets: the clean figure of the default and of those variants; looked at
#      since) and questions-heldout6.jsonl (40 questions written by a helper
#      from the corpus files alone, committed before any run on them in
#      session 16: the clean figure of the default and of the variants) and
#      questions-heldout7.jsonl (likewise, session 18) and
#      questions-heldout8.jsonl (files chosen at random, committed before any
#      run on them in session 35) and questions-heldout9.jsonl (likewise,
#      written by a helper before any run of session 42).
#   bench/search/run.sh [SHARED_DIR]     (default /work/shared)
#   EMBED_MODEL=fh-v2 bench/search/run.sh   the other local embedder (default: fh-v1)
#   EMBED_OPTS="--backend openai --model M --dim N" bench/search/run.sh
#       any docpipe-embed options instead (an API embedder: OPENAI_BASE_URL
#       and OPENAI_API_KEY exported, as docpipe-query embeds the questions)
#   FUSION=1 bench/search/run.sh            also saves each side's top 50 and
#       compares fusion rules offline (fusion.py), tuning sets and held-out
#       set in separate tables; FUSION_DIR=DIR keeps the saved rankings
#       there (default: the run's temporary directory, removed at the end)
#   MODES=3 bench/search/run.sh     only the three modes vector, text, hybrid
#   VARIANTS='LABEL:OPTIONS|LABEL:OPTIONS' bench/search/run.sh   only these
#       variants (e.g. thesaurus.py's query expansion: see its header)
#   DOCRANK=DIR bench/search/run.sh    also saves every question's pools and
#       each corpus's term statistics in DIR for docrank.py (file-level
#       ranking measured offline: its header), and the chunks' term
#       positions and vectors for proximity.py (its header; needs numpy)
#   SETS="corpora heldout" bench/search/run.sh   only these question sets
#       (default: all nine; the chunking eval always runs)
# Extra variants: hybrid as before the third pass (no feedback, no
# per-document limit), with one chunk per document first (with and without
# feedback), feedback whatever the text side's lead (--prf-lead 1: the
# default before session 35), text with that limit, the second pass's predecessor (RRF k 10,
# text weight 2), at most 2 chunks per document, ts_rank_cd.
set -eu
cd "$(dirname "$0")/../.."
shared=${1:-/work/shared}
export DOCPIPE_BIN=${DOCPIPE_BIN:-$PWD/bin}
tmp=$(mktemp -d /tmp/docpipe-bench-search.XXXXXX)
chmod 755 "$tmp"
eval "$(tests/lib/pg.sh start "$tmp/pg")"
export PGHOST PGPORT PGUSER
trap 'tests/lib/pg.sh stop "$tmp/pg"; rm -rf "$tmp"' EXIT
B=$DOCPIPE_BIN
fdir=${FUSION_DIR:-$tmp}
export EMBED_OPTS=${EMBED_OPTS:-${EMBED_MODEL:+--model $EMBED_MODEL}}
url() { echo "postgresql:///$1?host=$PGHOST&port=$PGPORT&user=$PGUSER"; }
load() { # load DB DIR...: discover, chunk, embed (local), store
	local db=$1; shift
	createdb "$db"
	DATABASE_URL=$(url "$db") bash -c \
		'set -o pipefail; "$0"/docpipe-discover "$@" | "$0"/docpipe-chunk | tee "$TMPCHUNKS" |
		 "$0"/docpipe-embed $EMBED_OPTS | "$0"/docpipe-store -q >/dev/null' "$B" "$@"
}
variants=("vector:--mode vector" "text:--mode text" "hybrid:--mode hybrid"
	"hybrid-before-prf0-doc0:--mode hybrid --prf 0 --per-document 0"
	"hybrid-lead1:--mode hybrid --prf-lead 1"
	"hybrid-doc1:--mode hybrid --per-document 1" "hybrid-prf0-doc1:--mode hybrid --prf 0 --per-document 1"
	"text-doc1:--mode text --per-document 1"
	"hybrid-rrf10-w2-prf0-doc0:--mode hybrid --fusion rrf --prf 0 --per-document 0"
	"hybrid-doc2:--mode hybrid --per-document 2"
	"text-cd:--mode text --text-rank cd")
[ "${MODES:-}" = 3 ] && variants=("${variants[@]:0:3}")
[ -n "${VARIANTS:-}" ] && IFS='|' read -r -a variants <<< "$VARIANTS"
echo "# $(date -u +%FT%TZ) nproc $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg) embedder ${EMBED_OPTS:-default}"
TMPCHUNKS=$tmp/eval-chunks.ndjson load eval "$shared/eval/chunking/corpora"
echo "## (a) chunking eval (docpipe-chunk defaults, local embedder)"
DATABASE_URL=$(url eval) python3 bench/search/eval.py chunking "$tmp/eval-chunks.ndjson" \
	"$shared/eval/chunking/questions.jsonl" "${variants[@]}"
[ -n "${DOCRANK:-}" ] && DATABASE_URL=$(url eval) /usr/bin/python3 bench/search/proximity.py dump-chunking \
	"$DOCRANK/p-chunking" "$tmp/eval-chunks.ndjson" "$shared/eval/chunking/questions.jsonl"
[ -n "${FUSION:-}" ] && DATABASE_URL=$(url eval) python3 bench/search/fusion.py dump \
	"$fdir/f-chunking.json" chunking "$tmp/eval-chunks.ndjson" "$shared/eval/chunking/questions.jsonl"
for c in rust-book:rust-book/src hugo-docs:hugo-docs/content/en; do
	name=${c%%:*} db=${name//-/_}
	TMPCHUNKS=/dev/null load "$db" "$shared/corpora/${c#*:}"
	for set in ${SETS:-corpora heldout heldout2 heldout3 heldout4 heldout5 heldout6 heldout7 heldout8 heldout9}; do
		echo "## (b) $name, questions-$set.jsonl"
		DATABASE_URL=$(url "$db") python3 bench/search/eval.py files "$name" \
			"bench/search/questions-$set.jsonl" "${variants[@]}"
		[ -n "${FUSION:-}" ] && DATABASE_URL=$(url "$db") python3 bench/search/fusion.py dump \
			"$fdir/f-$set-$name.json" files "$name" "bench/search/questions-$set.jsonl"
	done
	[ -n "${DOCRANK:-}" ] && DATABASE_URL=$(url "$db") python3 bench/search/docrank.py dump \
		"$DOCRANK/d-$name.json" "$name" bench/search/questions-*.jsonl
	[ -n "${DOCRANK:-}" ] && DATABASE_URL=$(url "$db") /usr/bin/python3 bench/search/proximity.py dump \
		"$DOCRANK/p-$name" "$name" bench/search/questions-*.jsonl
done
if [ -n "${FUSION:-}" ]; then
	echo "## fusion rules offline: chunking eval, tuning questions, held-out questions"
	python3 bench/search/fusion.py eval "$fdir/f-chunking.json" "$fdir"/f-corpora-*.json "$fdir"/f-heldout-*.json
	python3 bench/search/fusion.py eval "$fdir"/f-heldout2-*.json
	python3 bench/search/fusion.py eval "$fdir"/f-heldout3-*.json
	python3 bench/search/fusion.py eval "$fdir"/f-heldout4-*.json
	python3 bench/search/fusion.py eval "$fdir"/f-heldout5-*.json
fi
echo "# done $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
