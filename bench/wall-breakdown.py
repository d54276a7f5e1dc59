#!/usr/bin/python3
"""Where a run's wall goes beyond the service-time bound, from the test
server's request times (tests/fakeapi.py --times).

    bench/wall-breakdown.py STATS.json START END SLOTS

START and END: the run's start and end (seconds since the epoch, as
`date +%s.%N`).  Prints, in ms on the run's clock, for the chat endpoint:
  first  its first request's arrival (the run's start: processes, claim,
         the first document through discover and chunk)
  lone   the first request alone in flight (a refused key costs one
         request), until the second arrives
  idle   the slots' idle time between the first arrival and the last
         answer, beyond the lone request's, over SLOTS (wall it costs:
         turnarounds, dependencies, the drain)
  tail   from the last answer to the run's end (the last record stored,
         the hub's and the replicas' ends, the report)
Run-to-run noise in these parts is lower than in the wall: an A/B of a
change to one part reads that part.
"""
import json
import sys


def main():
    stats, start, end, slots = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    st = json.load(open(stats))
    off = st["t0_wall"] - start
    chat = sorted((a + off, b + off) for kind, a, b, _ in st["times"] if kind == "chat")
    if len(chat) < 2:
        print("  breakdown: fewer than 2 chat requests")
        return
    edges = sorted([(a, 1) for a, _ in chat] + [(b, -1) for _, b in chat])
    idle, level, last = 0.0, 0, edges[0][0]
    for t, step in edges:
        if level < slots:
            idle += (slots - level) * (t - last)
        level, last = level + step, t
    lone = chat[1][0] - chat[0][0]
    idle_beyond = idle / slots - lone * (slots - 1) / slots
    print("  breakdown (ms): first %.0f  lone %.0f  idle %.0f  tail %.0f" % (
        chat[0][0] * 1e3, lone * 1e3, idle_beyond * 1e3, (end - start - max(b for _, b in chat)) * 1e3))


main()
