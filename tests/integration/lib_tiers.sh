#!/bin/bash
# src/lib keeps the tiers docs/HACKING.md ("The library's tiers") states:
# a file includes only headers of its own tier or a lower one, there is no
# include cycle at all, and only the stage runtime tier prints (err.c's
# dp_diag is the mechanism; db.c's libpq notice callback, the ZAP handler in
# zap.c, the socket monitor in zmqmon.c, the document watchdog in
# crash.c and the result cache's writer in reuse.c, threads with no caller
# to return to, are the documented
# exceptions).  Reads the sources.
. "$(dirname "$0")/../lib/tap.sh"
SRC=${DOCPIPE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)/src/lib}
out=$(python3 - "$SRC" <<'PY'
import glob, os, re, sys
tiers = {
    0: "utf8 err text record jscan json buf hash clock stop path vec jqfilter endrec docrec lexer versions glob",
    1: "lines output zmqsock zmqmon curve zap transport stats crash",
    2: "http limiter db reuse embedder embed_local",
    3: "cli cli_io apicli stage",
}
tier = {m: t for t, ms in tiers.items() for m in ms.split()}
prints_ok = {"err", "db", "zap", "zmqmon", "crash", "reuse"}
src = sys.argv[1]
graph, bad = {}, []
for f in sorted(glob.glob(os.path.join(src, "*.[ch]"))):
    m = os.path.basename(f)[:-2]
    if m not in tier:
        bad.append(f"{m}: in no tier (add it to HACKING.md and this test)")
        continue
    text = open(f).read()
    for inc in re.findall(r'#include "([a-z_]+)\.h"', text):
        if inc == m or inc not in tier:
            continue
        graph.setdefault(m, set()).add(inc)
        if tier[inc] > tier[m]:
            bad.append(f"{m} (tier {tier[m]}) includes {inc} (tier {tier[inc]})")
    if tier[m] < 3 and m not in prints_ok and f.endswith(".c"):
        for line in text.splitlines():
            if re.search(r'\b(dp_diag|printf|puts|perror)\s*\(|fprintf\s*\(\s*std(err|out)', line):
                bad.append(f"{m}.c prints: {line.strip()}")
for a in graph:
    for b in graph[a]:
        if a < b and a in graph.get(b, ()):
            bad.append(f"include cycle {a} <-> {b}")
seen = set()
def reach(n, path):
    for k in graph.get(n, ()):
        if k == path[0] and len(path) > 2:
            cyc = tuple(sorted(path))
            if cyc not in seen:
                seen.add(cyc); bad.append("include cycle " + " -> ".join(path + [k]))
        elif k not in path and tier[k] == tier[path[0]]:
            reach(k, path + [k])
for n in graph:
    reach(n, [n])
print("\n".join(bad))
PY
)
is "$?" 0 "the tier check ran over $SRC"
is "$out" "" "every src/lib file is in a tier, includes none above it, no include cycle, only the runtime prints"
done_testing
