#!/usr/bin/env python3
"""cmp_analyze_json.py - compare two `leadwatch analyze --format json` outputs (issue 17).

Prints "byte-identical" when the two files are the same bytes; otherwise walks
both JSON documents in parallel (same keys, same list lengths, equal strings
and booleans required) and prints the largest relative difference over all
numbers and where it is.  Exit status 0 when identical or every number agrees
to 1e-9 relative, 1 otherwise.

Usage: bench/cmp_analyze_json.py BASE.json NEW.json
"""
import json
import sys


def main():
    a = open(sys.argv[1], 'rb').read()
    b = open(sys.argv[2], 'rb').read()
    if a == b:
        print(f"{sys.argv[2]}: byte-identical ({len(a)} bytes)")
        return 0
    worst = [0.0, None]

    def walk(x, y, path):
        if isinstance(x, dict):
            assert isinstance(y, dict) and x.keys() == y.keys(), path
            for k in x:
                walk(x[k], y[k], path + '.' + k)
        elif isinstance(x, list):
            assert isinstance(y, list) and len(x) == len(y), path
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{i}]")
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            r = abs(x - y) / max(abs(x), 1e-300) if x != y else 0.0
            if r > worst[0]:
                worst[:] = [r, path]
        else:
            assert x == y, (path, x, y)

    walk(json.loads(a), json.loads(b), '')
    print(f"{sys.argv[2]}: differs; max relative difference {worst[0]:.3g} at {worst[1]}")
    return 0 if worst[0] < 1e-9 else 1


if __name__ == '__main__':
    sys.exit(main())
