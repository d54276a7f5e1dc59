#!/usr/bin/env python3
"""Where one docpipe-store load's wall goes, per thread and off-CPU: reads
what bench/search/store-fulltext.sh records with SCHED=DIR for each timed
load of one store (DIR/VARIANT-ROUND/: perf sched record -a, the store's
backends' pg_stat_activity every 10 ms, the load's start and end; with
SCHED_LOG=1 their statements' log) and prints, per load:

- each entity's time (ms): on a core, runnable (woken, or preempted, and
  waiting for a core), asleep, and who woke it from its sleeps: the
  store's writer (main thread) W, its reader thread R (parse, vectors,
  lexing), the writer's backend B, the merge connection's backend G
  (docpipe-store-gin);
- the chain W <-> B (the writer waits on its backend, the backend on the
  writer): the wall's share with either on a core, with either waiting for
  a core (and which threads held the two cores meanwhile), with both
  asleep (neither can go on: a wait);
- with the statements' log: the load's start (to the first statement) and
  end (last COPY to exit), the merges;
- the backends' wait events in the samples.

  storewall.py DIR/VARIANT-ROUND...

perf sched timehist --state gives each switch-out's task state: the time
before a switch-in that followed a preemption (state R) is runnable time,
not sleep (perf's "wait time" column counts both).
"""
import collections
import os
import re
import subprocess
import sys
from datetime import datetime

STEP = 0.0002  # the timeline's resolution, s

EVENT = re.compile(r"^\s*(\d+\.\d+)\s+\[(\d+)\]\s+(.+?)\[(\d+)(?:/(\d+))?\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)")
WAKEUP = re.compile(r"^\s*\d+\.\d+\s+\[\d+\]\s+(.+?)\[(\d+)(?:/(\d+))?\]\s+awakened: .+?\[(\d+)")


def load(d):
    info = open(d + "/info").read()
    off = float(re.search(r"offset (\S+)", info).group(1))
    m = re.search(r"start (\S+) end (\S+)", info)
    return float(m.group(1)), float(m.group(2)), off


def backends(d):
    """application_name -> pids, and the samples' rows."""
    apps, rows = collections.defaultdict(set), []
    for line in open(d + "/samples.txt"):
        f = line.rstrip("\n").split("|")
        if len(f) >= 7:
            apps[f[2]].add(int(f[1]))
            rows.append(f)
    return apps, rows


def analyse(d):
    start, end, off = load(d)
    t0, t1 = start - off, end - off
    apps, rows = backends(d)
    txt = subprocess.run(["perf", "sched", "timehist", "-w", "--state", "-i", d + "/sched.data"],
                         capture_output=True, text=True).stdout
    pidof, comm, was = {}, {}, {}
    spans = collections.defaultdict(list)  # tid -> (from, to, "run" | "runq")
    busy = []  # (from, to, tid): every task's time on a core
    run, runq, sleep = collections.Counter(), collections.Counter(), collections.Counter()
    waker, woken_by = {}, collections.defaultdict(collections.Counter)
    wakes = collections.Counter()  # (waker tid, wakee tid) -> count
    for line in txt.splitlines():
        m = WAKEUP.match(line)
        if m:
            waker[int(m.group(4))] = (int(m.group(2)), int(m.group(3) or m.group(2)))
            if m.group(1).startswith("docpipe-store"):
                wakes[int(m.group(2)), int(m.group(4))] += 1
            continue
        m = EVENT.match(line)
        if not m:
            continue
        t, tid = float(m.group(1)), int(m.group(4))
        pidof[tid], comm[tid] = int(m.group(5) or m.group(4)), m.group(3)
        w, s, r = (float(m.group(i)) / 1000 for i in (6, 7, 8))  # s
        preempted = was.get(tid, "S").startswith("R")
        was[tid] = m.group(9)
        spans[tid] += [(t - r, t, "run"), (t - r - s, t - r, "runq")]
        if preempted:
            spans[tid].append((t - r - s - w, t - r - s, "runq"))
        if not comm[tid].startswith(("swapper", "<idle>")):
            busy.append((t - r, t, tid))
        if t < t0 or t - r - s - w > t1:
            continue
        run[tid] += r
        runq[tid] += s + (w if preempted else 0)
        if not preempted and w > 0:
            sleep[tid] += w
            woken_by[tid][waker.get(tid, (0, 0))] += w
    # The writer: the store thread that wakes the writer's backend most
    # (other stores may run on the machine meanwhile).
    b = apps.get("docpipe-store", set())
    store = max((t for t, wakee in wakes if wakee in b), key=lambda t: sum(v for (a, e), v in wakes.items()
                                                                         if a == t and e in b))
    threads = [t for t in pidof if pidof[t] == store]
    reader = max((t for t in threads if t != store), key=lambda t: run[t])
    ent = {"W": [store], "R": [reader], "B": sorted(apps.get("docpipe-store", [])),
           "G": sorted(apps.get("docpipe-store-gin", []))}

    def name(tid_pid):
        tid, pid = tid_pid
        for k, tids in ent.items():
            if tid in tids:
                return k
        return "store (other thread)" if pid == store else "other"

    n = int((t1 - t0) / STEP)
    state = {k: bytearray(n) for k in ent}  # 0 asleep, 1 runnable, 2 on a core
    for k, tids in ent.items():
        for tid in tids:
            for a, b, kind in spans[tid]:
                for i in range(max(0, int((a - t0) / STEP)), min(n, int((b - t0) / STEP))):
                    state[k][i] = 2 if kind == "run" else max(state[k][i], 1)
    ours = set(sum(ent.values(), [])) | set(threads)
    others = bytearray(n)
    for a, b, tid in busy:
        if tid not in ours:
            for i in range(max(0, int((a - t0) / STEP)), min(n, int((b - t0) / STEP))):
                others[i] += 1
    ms = lambda x: x * STEP * 1000
    W, B = state["W"], state["B"]
    on = sum(1 for i in range(n) if W[i] == 2 or B[i] == 2)
    w_alone = sum(1 for i in range(n) if W[i] == 2 and B[i] != 2)
    b_alone = sum(1 for i in range(n) if B[i] == 2 and W[i] != 2)
    waiting = [i for i in range(n) if W[i] != 2 and B[i] != 2 and (W[i] or B[i])]
    asleep = n - on - len(waiting)
    held = collections.Counter()
    for i in waiting:
        held["R"] += state["R"][i] == 2
        held["G"] += state["G"][i] == 2
        held["others"] += others[i]

    print("%s: wall %.0f ms" % (d, (end - start) * 1000))
    print("  %-8s %8s %9s %8s  asleep, woken by" % ("", "on core", "runnable", "asleep"))
    for k in "WRBG":
        for tid in ent[k]:
            by = collections.Counter()
            for who, v in woken_by[tid].items():
                by[name(who)] += v
            print("  %-8s %8.0f %9.0f %8.0f  %s" % (k, run[tid] * 1000, runq[tid] * 1000, sleep[tid] * 1000,
                  ", ".join("%s %.0f" % (a, v * 1000) for a, v in by.most_common(3) if v >= 0.005)))
    print("  chain W<->B: on a core %.0f (W alone %.0f, B alone %.0f), waiting for a core %.0f"
          " (cores held by R %.0f, G %.0f, other processes %.0f core-ms), both asleep %.0f"
          % (ms(on), ms(w_alone), ms(b_alone), ms(len(waiting)), ms(held["R"]), ms(held["G"]),
             ms(held["others"]), ms(asleep)))
    statements(d, start, end)
    for app in ("docpipe-store", "docpipe-store-gin"):
        # state idle: between transactions (ClientRead: waiting for the store)
        c = collections.Counter(("idle " if r[3] == "idle" else "") + (r[4] + ":" + r[5] if r[4] != "-" else "on CPU")
                                for r in rows if r[2] == app)
        total = sum(c.values())
        if total:
            print("  %s samples %d: %s" % (app, total, ", ".join("%s %.1f%%" % (k, 100.0 * v / total)
                                                              for k, v in c.most_common(6))))


def statements(d, start, end):
    """The load's start and end, from the writer's statements' log times."""
    if not os.path.exists(d + "/pg.log"):
        return
    first = last_copy = None
    merges = []
    for line in open(d + "/pg.log"):
        m = re.match(r"(\S+ \S+) UTC \[\d+\] (docpipe-store\S*) LOG:  duration: ([\d.]+) ms  (.*)", line)
        if not m:
            continue
        t = datetime.strptime(m.group(1) + "+0000", "%Y-%m-%d %H:%M:%S.%f%z").timestamp()
        dur = float(m.group(3)) / 1000
        if m.group(2) == "docpipe-store" and first is None:
            first = t - dur
        if "COPY docpipe.chunks" in m.group(4):
            last_copy = t
        if "gin_clean_pending_list" in m.group(4):
            merges.append((m.group(2), dur))
    if first is None or last_copy is None:
        return
    print("  start to the first statement %.0f ms, the last COPY's end to the exit %.0f ms; merges: %s"
          % ((first - start) * 1000, (end - last_copy) * 1000,
             ", ".join("%d on %s (%.0f ms)" % (len(v), k, sum(v) * 1000) for k, v in
                       collections.OrderedDict((a, [x for b, x in merges if b == a]) for a, _ in merges).items())
             or "none"))


for d in sys.argv[1:]:
    analyse(d.rstrip("/"))
