#!/usr/bin/env python3
"""Checks that the module graphs of core/ and src/ have no cycles.

A module depends on another when its code (not its comments or its tests) names
`crate::other`. Prints each crate's graph with --print. Exits 1 naming the
modules of any cycle.

Usage: python3 scripts/check-modules.py [--print]
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def modules(src_dir):
    """Module name -> the `crate::…` paths its code names."""
    found = {}
    for dirpath, _, files in os.walk(src_dir):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            parts = os.path.relpath(path, src_dir)[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            text = open(path, encoding="utf-8").read()
            text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", text, flags=re.S)
            text = "\n".join(l for l in text.split("\n") if not l.strip().startswith("//"))
            paths = {tuple(m.group(1).split("::")) for m in re.finditer(r"crate::([a-z_]+(?:::[a-z_]+)*)", text)}
            for group in re.finditer(r"use crate::\{([^}]*)\}", text):
                for item in group.group(1).split(","):
                    item = item.strip()
                    if item:
                        paths.add(tuple(item.split("::")))
            found["::".join(parts)] = paths
    return found


def graph(mods):
    edges = {}
    for name, paths in mods.items():
        out = set()
        for p in paths:
            for k in range(len(p), 0, -1):
                target = "::".join(p[:k])
                if target in mods:
                    # A module may use its own children and parents (a directory module).
                    if target != name and not name.startswith(target + "::") and not target.startswith(name + "::"):
                        out.add(target)
                    break
        edges[name] = out
    return edges


def cycles(edges):
    index, low, on, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main():
    failed = False
    for crate in ("core/src", "src"):
        edges = graph(modules(os.path.join(ROOT, crate)))
        if "--print" in sys.argv:
            print(f"{crate}:")
            for name in sorted(edges):
                print(f"  {name or '(crate root)'} -> {', '.join(sorted(edges[name])) or '-'}")
        found = cycles(edges)
        for c in found:
            print(f"check-modules: {crate}: a cycle: {' <-> '.join(c)}", file=sys.stderr)
            failed = True
        if not found:
            print(f"check-modules: {crate}: {len(edges)} modules, no cycle")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
