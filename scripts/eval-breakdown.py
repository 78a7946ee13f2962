#!/usr/bin/env python3
"""Groups the answers of `deco eval --answers FILE` (issue 23 point 4's error analysis).

Usage: scripts/eval-breakdown.py ANSWERS.jsonl [--type motion]

Prints the accuracy of one question type (default: motion) by the named shape's motion, by its
displacement over the window (speed x (frames - 1), reference px, in bands of 40), by window length,
by frame size and by shape count, then the most frequent (expected -> given) confusions.
Standard library only.
"""
import argparse
import collections
import json


def table(title, rows, key):
    groups = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        g = groups[key(r)]
        g[0] += 1 if r["correct"] else 0
        g[1] += 1
    print(f"\n{title}")
    print("| group | correct | asked | accuracy |\n|---|---:|---:|---:|")
    for k in sorted(groups, key=str):
        ok, n = groups[k]
        print(f"| {k} | {ok} | {n} | {100.0 * ok / n:.1f}% |")


def band(r):
    if "speed" not in r or r.get("motion") == "STILL":
        return "still" if r.get("motion") == "STILL" else "no single shape"
    d = r["speed"] * (r["windowFrames"] - 1)
    lo = int(d // 40) * 40
    return f"{lo:03d}-{lo + 40:03d} px"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("answers")
    ap.add_argument("--type", default="motion")
    a = ap.parse_args()
    with open(a.answers) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r["type"] == a.type]
    print(f"{len(rows)} {a.type} questions in {a.answers}")
    table("by the named shape's motion", rows, lambda r: r.get("motion", "no single shape"))
    table("by displacement over the window", rows, band)
    table("by window length (frames)", rows, lambda r: f"{r['windowFrames']:02d}")
    table("by frame size", rows, lambda r: f"{r['width']}x{r['height']}")
    table("by shapes in the scene", rows, lambda r: r["shapes"])
    wrong = collections.Counter(
        (r["expected"], r["got"]) for r in rows if not r["correct"])
    print("\nconfusions (expected -> given):")
    for (e, g), n in wrong.most_common(12):
        print(f"  {e} -> {g}: {n}")


if __name__ == "__main__":
    main()
