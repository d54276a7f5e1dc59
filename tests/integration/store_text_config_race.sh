#!/bin/bash
# Two stores on one corpus with different --text-config (a long-lived
# docpipe run --watch, and a docpipe run --opt store=--text-config=X
# switching the corpus): the second rebuilds the full-text column; the
# first kept its start's lexer and COPY columns, and wrote the old
# configuration's lexemes under the new index, no tsvector at all (NULL:
# unfindable by text), or failed every later document (COPY into a
# generated column), saying nothing (sweep 8).  Now the rebuild waits for
# the running stores' write transactions and they for it (an advisory lock,
# src/store/fulltext.c); a store that then sees another configuration
# stops, exit 2, saying so, before writing anything more.
. "$(dirname "$0")/../lib/tap.sh"
A=$T_DIR/a
B=$T_DIR/b
mkdir -p "$A" "$B"
for i in $(seq 1 12); do
	printf '# Running notes %d\n\nThe runners were running quickly through connected libraries %d.\n' "$i" "$i" >"$A/a$i.md"
done
printf '# Other\n\nSomething else entirely, running.\n' >"$B/b.md"
docpipe-discover "$A" | docpipe-chunk >"$T_DIR/recs" || exit 1
head -3 "$T_DIR/recs" >"$T_DIR/first"
tail -n +4 "$T_DIR/recs" >"$T_DIR/rest"
# Last in the rest, so in a batch with documents that meet the change (or
# never reached): the delete of a document stored before it.
gone=$(jq -r 'select(.kind == "document") | .path' "$T_DIR/first" | head -1)
jq -cn --arg p "$gone" '{v: 1, kind: "delete", path: $p}' >>"$T_DIR/rest"

for pair in english:simple german:english english:german; do
	a=${pair%:*} b=${pair#*:}
	newdb || exit 1
	{
		cat "$T_DIR/first"
		wait_for 30 sql_ge "SELECT count(*) FROM docpipe.documents" 2
		docpipe-discover "$B" | docpipe-chunk | docpipe-store -q --text-config "$b" >/dev/null 2>"$T_DIR/eb"
		echo $? >"$T_DIR/rb"
		cat "$T_DIR/rest"
	} | docpipe-store -q --text-config "$a" >"$T_DIR/oa" 2>"$T_DIR/ea"
	ra=${PIPESTATUS[1]}
	is "$(cat "$T_DIR/rb")/$(sql "SELECT value FROM docpipe.settings WHERE key = 'text_config'")" "0/$b" \
		"$a then $b: the second store rebuilds for $b"
	is "$ra" 2 "$a then $b: the store already running stops, exit 2"
	like "$(cat "$T_DIR/ea")" "text search configuration changed under this store to $b .*this store lexes for $a.*restart the store" \
		"$a then $b: saying why and what to do"
	is "$(grep -c '"failed"' "$T_DIR/oa")" 0 "$a then $b: no document failed for it"
	# Nothing more written: the batch is not tried again record by record
	# (a delete, which has no chunk to check, went through alone).
	is "$(sql "SELECT count(*) FROM docpipe.documents WHERE path = '$gone'")" 1 \
		"$a then $b: a delete in the batch that met the change is not written either"
	is "$(sql "SELECT count(*) FILTER (WHERE tsv IS NULL) FROM docpipe.chunks")" 0 "$a then $b: no chunk without its tsvector"
	# Every chunk's tsvector is the rebuilt configuration's: the backfill
	# (or the server) lexed all that was stored, nothing written after.
	if [ "$b" = simple ]; then
		is "$(sql "SELECT count(*) FROM docpipe.chunks WHERE tsv @@ 'run'::tsquery")" 0 \
			"$a then $b: no chunk holds the English stem 'run'"
	fi
done
done_testing
