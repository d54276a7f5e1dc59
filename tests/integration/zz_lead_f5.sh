#!/bin/bash
. "$(dirname "$0")/../lib/tap.sh"
newdb || exit 1
D=$T_DIR/docs
numbered_docs "$D" 3 5 good
docpipe run "$D" --progress none >/dev/null 2>&1
recorders() { sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	AND application_name = 'docpipe-status'"; }
BURN='--jq=(reduce range(1000000) as $i (0; . + 1)) as $burn | .'
for k in $(seq ${F5_LOOPS:-25}); do
echo "x$k" >> "$D/good-1.md"
docpipe run "$D" --progress none --opt "embed=$BURN" >"$T_DIR/r5" 2>"$T_DIR/e5" &
SUP=$!
for _ in $(seq 200); do [ "$(recorders)" = 1 ] && break; sleep 0.02; done
pkill -KILL -P $SUP -f 'docpipe-status --record-run -'
wait $SUP
rc=$?
n=$(sql "SELECT count(*) FROM docpipe.runs WHERE id = '$(jq -r .run "$T_DIR/r5")' AND ended_at IS NOT NULL")
is "$rc/$n" "0/1" "loop $k" || { sed 's/^/# e: /' "$T_DIR/e5"; sed 's/^/# r: /' "$T_DIR/r5"; cp -r "$T_DIR" /work/lead/f5-fail-$k; }
done
done_testing
