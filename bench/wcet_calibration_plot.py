#!/usr/bin/env python3
"""SVG plot of the calibration suite: share of runs whose printed bound lies below the truth
at 1e-6 (bar) with its one-sided 95% Clopper-Pearson upper limit (whisker), before and after.
usage: wcet_calibration_plot.py BEFORE.json AFTER.json OUT.svg  (JSON from wcet_calibration --json)"""
import json
import sys

before = {c["process"]: c for c in json.load(open(sys.argv[1])) if c["n"] == 10000}
after = {c["process"]: c for c in json.load(open(sys.argv[2])) if c["n"] == 10000}
names = [p for p in after if any(q["printed"] and q["truth"] for q in after[p]["probs"][1:2])]
W, row, left, top = 760, 30, 300, 40
H = top + row * len(names) + 50
xmax = 0.45
x = lambda v: left + (W - left - 20) * min(v, xmax) / xmax
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<text x="{left}" y="18" font-size="14">bound below the true quantile at 1e-6 (n = 10^4): before (grey) / after (blue)</text>']
for v, label, dash in [(0.025, "2.5% nominal", "2,2"), (0.05, "5% target (CP95)", "6,3")]:
    out.append(f'<line x1="{x(v):.1f}" y1="{top-8}" x2="{x(v):.1f}" y2="{H-40}" stroke="red" stroke-dasharray="{dash}"/>')
    out.append(f'<text x="{x(v)+3:.1f}" y="{H-28}" fill="red">{label}</text>')
for i, p in enumerate(names):
    y = top + i * row
    out.append(f'<text x="{left-6}" y="{y+16}" text-anchor="end">{p}</text>')
    for k, (src, col) in enumerate([(before, "#999"), (after, "#2266cc")]):
        c = src.get(p)
        if not c:
            continue
        q = c["probs"][1]
        if q["below_share"] is None:
            continue
        yy = y + 3 + 11 * k
        out.append(f'<rect x="{left}" y="{yy}" width="{x(q["below_share"])-left:.1f}" height="9" fill="{col}"/>')
        out.append(f'<line x1="{x(q["below_share"]):.1f}" y1="{yy+4.5}" x2="{x(q["below_cp95"]):.1f}" y2="{yy+4.5}" stroke="{col}"/>')
for t in [0, 0.1, 0.2, 0.3, 0.4]:
    out.append(f'<text x="{x(t):.1f}" y="{H-8}" text-anchor="middle">{int(t*100)}%</text>')
out.append("</svg>")
open(sys.argv[3], "w").write("\n".join(out) + "\n")
