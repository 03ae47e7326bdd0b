#!/usr/bin/python3
"""The server's folders are layers, and calls go down them only:

    cli -> net -> handlers -> write -> sync -> conn -> domain -> db

This reads the compiled objects of kt_server (nm: each object's defined and
undefined symbols), finds which file calls which, and fails on a call from a
lower folder into a higher one, and on any circle of files calling each
other (also inside one folder).

    tests/check_layers.py OBJECT.o ...   (CMake passes $<TARGET_OBJECTS:kt_server>)
"""
import collections
import re
import subprocess
import sys

ORDER = ["cli", "net", "handlers", "write", "sync", "conn", "domain", "db"]


def source_of(obj):
    """server/CMakeFiles/kt_server.dir/db/store.c.o -> db/store.c"""
    m = re.search(r"kt_server\.dir/(.+)\.o$", obj)
    return m.group(1) if m else None


def main(objs):
    defs, undef = {}, collections.defaultdict(set)
    files = []
    for obj in objs:
        src = source_of(obj)
        if not src or src.split("/")[0] not in ORDER:
            continue  # generated data (the password list), not a layer
        files.append(src)
        for line in subprocess.check_output(["nm", obj], text=True).splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBR":
                defs[f[2]] = src
            elif len(f) == 2 and f[0] == "U":
                undef[src].add(f[1])
    if len(files) < 40:
        print(f"only {len(files)} objects in layer folders: nothing to check?")
        return 1
    calls = collections.defaultdict(set)
    for src, syms in undef.items():
        for s in syms:
            if s in defs and defs[s] != src:
                calls[(src, defs[s])].add(s)
    bad = 0
    for (a, b), syms in sorted(calls.items()):
        la, lb = ORDER.index(a.split("/")[0]), ORDER.index(b.split("/")[0])
        if la > lb:
            print(f"upward call: {a} -> {b}: {', '.join(sorted(syms))}")
            bad += 1
    # circles: strongly connected components of more than one file
    graph = collections.defaultdict(set)
    for a, b in calls:
        graph[a].add(b)
    index, low, stack, on, n = {}, {}, [], set(), [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                nonlocal_bad.append(sorted(comp))

    nonlocal_bad = []
    sys.setrecursionlimit(10000)
    for v in sorted(files):
        if v not in index:
            visit(v)
    for comp in nonlocal_bad:
        print("files that call each other: " + ", ".join(comp))
        for a in comp:
            for b in comp:
                if (a, b) in calls:
                    print(f"  {a} -> {b}: {', '.join(sorted(calls[(a, b)]))}")
        bad += 1
    print(f"{len(files)} files, {len(calls)} calls between them, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
