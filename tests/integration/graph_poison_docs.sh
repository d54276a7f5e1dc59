#!/bin/bash
# lane: beside (tests/run: it waits more than it computes)
# A few poison documents do not stop a run (docpipe(1), the restart rule):
# a replica's death that the document in its crash journal explains (a
# crash signal, or SIGKILL, while chunk processed it) is restarted at once
# and not counted toward the restart limit (5 deaths in 60 s).  Before, the
# limit counted them: 3 documents that crash chunk and 2 that get it
# killed twice (the OOM killer) made 7 deaths and stopped the run (exit 3),
# every other document left unprocessed.  Three runs side by side (each
# mostly waits: the hub takes 3 s of silence to call a replica dead):
#   (a) 5 poison documents among 24: the run ends, each fails by name;
#   (b) a chunk replica that dies of a crash signal with no document in
#       progress still stops the run after 5 restarts in 60 s;
#   (c) a stage that dies on every document (a broken converter) stops
#       the run after 9 such deaths in a row with none finished between;
#   (d) but one that finished 12 documents is no broken stage: 10 poison
#       documents in a row after them (a folder of corrupt scans) fail by
#       name and the run goes on (before, it stopped at the 9th).
# The crashes are played as in graph_oom_doc.sh: a watcher sends SIGILL
# (or SIGKILL for "-oom" files) to each chunk replica whose crash journal
# names a matching document once the hub's metrics say that replica holds
# it; a --convert command keeps those documents busy meanwhile.
. "$(dirname "$0")/../lib/tap.sh"

# hang EXT: chunk's --convert for *.EXT files: a command that prints
# nothing and ends when chunk does (its parent: tail --pid), so the
# replica holds the document until it is killed, at no CPU (a --jq that
# counted to 20 million burnt the cores for seconds).
hang() { echo "--convert=$1=exec tail -s 0.1 --pid=\$PPID -f /dev/null; :"; }

# holds PORT PID: the hub's metrics at PORT say chunk replica PID holds a
# record (killed before, its document would wait for --timeout).
holds() { curl -s "http://127.0.0.1:$1/metrics" | grep -Eq "^docpipe_records_in_flight\{stage=\"chunk\",replica=\"[^\"]*/$2\"\} [1-9]"; }

# killer DIR PORT MATCH: sends every chunk replica of the run under
# TMPDIR=DIR whose journal names a document whose path holds MATCH
# SIGILL (SIGKILL when the path holds "-oom"), once per pid; appends
# "PID SIGNAL" to DIR/kills for each.
killer() {
	local f line pid sig
	local -A seen=()
	while :; do
		for f in "$1"/docpipe-run.*/crash-chunk/doing.*; do
			pid=${f##*.}
			[ -e "$f" ] && [ -z "${seen[$pid]+set}" ] || continue
			IFS= read -r line <"$f" 2>/dev/null || continue
			[[ "$line" == *\"*"$3"*\" ]] || continue
			sig=ILL
			[[ "$line" == *-oom* ]] && sig=KILL
			if holds "$2" "$pid" && kill -$sig "$pid" 2>/dev/null; then
				seen[$pid]=1
				echo "$pid $sig" >>"$1/kills"
			fi
		done
		nap 0.05
	done
}
kills() { wc -l <kills | tr -d ' '; } # in a scenario's directory

# scenario NAME MATCH RUN-ARGS...: `docpipe run` over NAME/docs in a
# database of its own with TMPDIR NAME and a killer for MATCH, in the
# background; NAME/db (its database), NAME/rc, NAME/report, NAME/err,
# NAME/secs when it ended.
KILLERS=()
scenario() {
	local d=$T_DIR/$1 match=$2 port
	shift 2
	port=$(free_ports 1) || return 1
	newdb || return 1
	echo "$PGDATABASE" >"$d/db"
	: >"$d/kills"
	[ -z "$match" ] || { killer "$d" "$port" "$match" & KILLERS+=($!); }
	(
		start=$SECONDS
		TMPDIR=$d timeout 150 docpipe run "$d/docs" --progress none --metrics "127.0.0.1:$port" "$@" \
			>"$d/report" 2>"$d/err"
		echo $? >"$d/rc"
		echo $((SECONDS - start)) >"$d/secs"
	) &
	RUNS+=($!)
}
RUNS=()

# (a) 24 Markdown files and 5 poison ones (.txt: hang) between them
# (discover sorts names): 3 crash chunk, 2 get it killed twice: 7 deaths
# of chunk-1.
mkdir -p "$T_DIR"/{a,b,c,d}
numbered_docs "$T_DIR/a/docs" 24 40 note
want=$(plain_fingerprint "$T_DIR/a/docs")
ok $? "plain pipeline over the 24 Markdown files"
for p in note3-poison-ill note9-poison-ill note14-poison-ill note18-poison-oom note22-poison-oom; do
	printf '# %s\n\nThis one kills the chunker.\n' "$p" >"$T_DIR/a/docs/$p.txt"
done

# (b) chunk replaced by a program that writes an idle journal (2
# documents finished, none in progress) and dies of SIGILL.
numbered_docs "$T_DIR/b/docs" 3 10 note
mkdir "$T_DIR/b/bin"
ln -s "$DOCPIPE_BIN"/docpipe-* "$T_DIR/b/bin/"
rm "$T_DIR/b/bin/docpipe-chunk"
cat >"$T_DIR/b/bin/docpipe-chunk" <<'EOF'
#!/bin/bash
while [ $# -gt 0 ]; do [ "$1" = --crash-dir ] && { mkdir -p "$2" && echo 2 >"$2/doing.$$"; }; shift; done
kill -ILL $$
EOF
chmod +x "$T_DIR/b/bin/docpipe-chunk"

# (c) every document kills the replica holding it; two replicas.
numbered_docs "$T_DIR/c/docs" 30 40 note

# (d) 12 good documents, then 10 that crash chunk (discover sorts names).
numbered_docs "$T_DIR/d/docs" 12 40 good
for i in $(seq -w 1 10); do
	printf '# Scan %s\n\nThis one kills the chunker.\n' "$i" >"$T_DIR/d/docs/zz-poison-ill-$i.txt"
done

scenario a "-poison-" --timeout 60 --opt "chunk=$(hang txt)"
DOCPIPE_BIN=$T_DIR/b/bin scenario b ""
scenario c "/" --timeout 60 --replicas chunk=2 --opt "chunk=$(hang md)"
scenario d "-poison-" --timeout 60 --opt "chunk=$(hang txt)"
wait "${RUNS[@]}"
kill "${KILLERS[@]}" 2>/dev/null
wait "${KILLERS[@]}" 2>/dev/null

# (a)
cd "$T_DIR/a" || exit 1
PGDATABASE=$(cat db)
diag "(a) took $(cat secs) s, kills: $(sort -k2 kills | awk '{print $2}' | uniq -c | tr -s ' \n' ' ')"
is "$(cat rc)" 1 "(a) 5 poison documents, 7 deaths: the run ends with status 1 (documents failed), not stopped"
is "$(kills)" 7 "(a) each crashing document killed its replica once, each -oom one twice"
is "$(jq -r '[.complete, .added, .failed] | @tsv' report)" "$(printf 'true\t24\t5')" \
	"(a) the 24 others stored, the 5 poison ones failed"
is "$(jq -r '.failures[] | .path | sub(".*/"; "")' report | sort | tr '\n' ' ')" \
	"note14-poison-ill.txt note18-poison-oom.txt note22-poison-oom.txt note3-poison-ill.txt note9-poison-ill.txt " \
	"(a) each poison document failed by name"
is "$(jq -r '[.failures[] | select(.path | test("-ill")) | .error | select(test("died of SIGILL processing this document"))] | length' report)" 3 \
	"(a) the crashing ones with the signal as reason"
is "$(jq -r '[.failures[] | select(.path | test("-oom")) | .error | select(test("killed by SIGKILL twice"))] | length' report)" 2 \
	"(a) the killed ones with 'killed by SIGKILL twice'"
like "$(cat err)" "chunk-1 \(pid [0-9]+\) exited with status 132; restarting it now \(a document was in progress: not counted as a crash loop\)" \
	"(a) the supervisor restarts chunk at once and says why"
ok "$(grep -qE 'exited 5 times|stopping the run' err && echo 1 || echo 0)" "(a) no restart limit, no stop"
is "$(sql "SELECT count(*) FROM docpipe.failures WHERE path LIKE '%-poison-%'")" 5 \
	"(a) the failures are recorded for docpipe status"
is "$(fingerprint "d.path NOT LIKE '%-poison-%'")" "$want" \
	"(a) the others are stored as a plain pipeline stores them: each once, whole"
[ "$T_FAILED" = 0 ] || sed 's/^/# a: /' err | tail -30

# (b)
cd "$T_DIR/b" || exit 1
PGDATABASE=$(cat db)
diag "(b) took $(cat secs) s"
is "$(cat rc)" 3 "(b) chunk dying with no document in progress: the run stops with status 3"
like "$(cat err)" "chunk-1 exited 5 times within 60s \(last status 132\); stopping the run" "(b) the restart limit, as before"
ok "$(grep -q 'restarting it now' err && echo 1 || echo 0)" "(b) no death taken for a document's"

# (c)
cd "$T_DIR/c" || exit 1
PGDATABASE=$(cat db)
diag "(c) took $(cat secs) s, $(kills) kills"
is "$(cat rc)" 3 "(c) every document kills chunk: the run stops with status 3"
like "$(cat err)" "chunk: 9 replica deaths in a row on the documents they were processing \(the last: \".*/note[0-9]+.md\"\), no document finished in between: the stage fails on every document" \
	"(c) and says the stage fails on every document"
n=$(kills)
ok "$([ "$n" -ge 9 ] && [ "$n" -le 11 ] && echo 0 || echo 1)" "(c) after 9 deaths (two replicas: at most two more), not 30: $n"
is "$(sql "SELECT count(*) FROM docpipe.documents")" 0 "(c) nothing stored"
[ "$T_FAILED" = 0 ] || sed 's/^/# c: /' err | tail -30

# (d)
cd "$T_DIR/d" || exit 1
PGDATABASE=$(cat db)
failed_before=$T_FAILED
diag "(d) took $(cat secs) s, $(kills) kills"
is "$(cat rc)/$(jq -r '[.complete, .added, .failed] | @tsv' report)" "$(printf '1/true\t12\t10')" \
	"(d) 10 poison documents in a row after 12 good ones: each fails by name, the run ends (status 1), not stopped"
is "$(kills)" 10 "(d) each killed its replica once"
ok "$(grep -q 'stopping the run' err && echo 1 || echo 0)" "(d) no stop"
[ "$T_FAILED" = "$failed_before" ] || sed 's/^/# d: /' err | tail -30
done_testing
