#!/bin/bash
# The full-text index over lexeme hashes (issue 11, session 7) against the
# one over the tsvector it replaces, on a real corpus (the Rust book): a
# database as the store left it before (GIN index over tsv, no lexhash, no
# text_index) answers in every mode, through tsv; the next docpipe-store
# migrates it in place (lexhash filled, the GIN index over lexhash instead,
# text_index recorded), after which every mode and both text rankings
# return the same chunks with the same scores.
. "$(dirname "$0")/../lib/tap.sh"
cd "$T_DIR"
set -o pipefail

shared=
for d in "$TOP/../shared" "$TOP/../../shared"; do
	[ -d "$d/corpora/rust-book" ] && { shared=$d; break; }
done
if [ -z "$shared" ]; then
	skip "no ../shared/corpora: the index over lexeme hashes not compared on real text"
	done_testing
fi
newdb || exit 1
docpipe-discover "$shared/corpora/rust-book" 2>/dev/null | docpipe-chunk 2>/dev/null |
	docpipe-embed 2>/dev/null | docpipe-store -q >/dev/null; is "$?" 0 "the Rust book stored"

# The questions of the benchmark about this corpus, and rare and missing
# terms.
{
	jq -r 'select(.corpus == "rust-book") | .question' "$TOP/bench/search/questions-corpora.jsonl"
	printf '%s\n' "Box<dyn Error>" "unwrap_or_else closure" "zzyzx quuxfrob"
} >questions
# Every answer: mode, ranking, question, then path, seq, score per hit.
answers() {
	while IFS= read -r q; do
		for m in "text --text-rank bm25" "text --text-rank cd" hybrid vector; do
			# shellcheck disable=SC2086
			printf '%s | %s | %s\n' "$m" "$q" "$(docpipe-query --mode $m -k 10 --json "$q" 2>/dev/null |
				jq -r '[.path, .seq, .score] | map(tostring) | join(" ")' | tr '\n' ';')"
		done
	done <questions
}

# As the store left a database before the index over lexeme hashes.
sql "DROP INDEX docpipe.chunks_lexhash; ALTER TABLE docpipe.chunks DROP COLUMN lexhash;
	CREATE INDEX chunks_tsv ON docpipe.chunks USING gin (tsv);
	DELETE FROM docpipe.settings WHERE key = 'text_index'; ANALYZE docpipe.chunks" >/dev/null
answers >before
is "$(grep -c '| $' before)" 2 "before migration: every question answered (text: all but the one without known terms)"
like "$(grep '^text --text-rank bm25 | How do I write a unit test' before)" "ch11-0[0-3]-[a-z-]*.md" \
	"before migration: found through the index over tsv"

docpipe-store -q </dev/null; is "$?" 0 "the next docpipe-store migrates in place"
is "$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_index'")" lexhash "migrated: text_index lexhash"
is "$(sql "SELECT string_agg(indexdef, '') FROM pg_indexes WHERE schemaname = 'docpipe' AND indexdef LIKE '%USING gin%'")" \
	"CREATE INDEX chunks_lexhash ON docpipe.chunks USING gin (lexhash)" "migrated: the one GIN index is over lexhash"
is "$(sql "SELECT count(*) FILTER (WHERE lexhash IS NULL OR cardinality(lexhash) <> length(tsv)) || '/' ||
	count(*) FROM docpipe.chunks")" "0/$(sql "SELECT count(*) FROM docpipe.chunks")" "migrated: a hash per lexeme, every chunk"
answers >after
is "$(diff before after | grep -c '^>')" 0 "migrated: every mode gives the same chunks, same scores"
diff before after | head -6 | cut -c1-240 | while IFS= read -r l; do diag "$l"; done
done_testing
