#!/usr/bin/env python3
"""SVG plot of the calibration suite: per process, the share of runs whose printed bound lies
below the true quantile (bar) with its one-sided 95% Clopper-Pearson upper limit (whisker),
before (grey) and after (blue), one panel per trace length n in AFTER and per probability
(1e-3 and 1e-6, the ones printed by default at n = 10^4), with the nominal 2.5% and the 5%
target; the panel titles give the seeds per process.
usage: wcet_calibration_plot.py BEFORE.json AFTER.json OUT.svg  (JSON from wcet_calibration
--json or --merge ... --json; BEFORE may hold fewer trace lengths or processes than AFTER)"""
import json
import sys

PROBS = [(0, "1e-3"), (1, "1e-6")]
W, ROW, LEFT, PANEL_W, GAP, XMAX = 1240, 24, 300, 440, 40, 0.45


def cases(path):
    return {(c["process"], c["n"]): c for c in json.load(open(path))}


def bars(svg, c, j, x0, y, col, k, x):
    if not c:
        return
    q = c["probs"][j]
    yy = y + 2 + 10 * k
    if q["truth"] and q["below_share"] is None:
        # every run refused (or the bound not printed): say so rather than draw a 0% bar
        why = ", ".join(f"{v} {r}" for r, v in c.get("refusals", [])) or "not printed"
        svg.append(f'<text x="{x0 + 2}" y="{yy + 8}" font-size="9" fill="{col}">no bound printed ({why})</text>')
        return
    if q["below_share"] is None or not q["truth"]:
        return
    svg.append(f'<rect x="{x0}" y="{yy}" width="{x(q["below_share"]) - x0:.1f}" height="8" fill="{col}"/>')
    svg.append(f'<line x1="{x(q["below_share"]):.1f}" y1="{yy + 4}" x2="{x(q["below_cp95"]):.1f}" y2="{yy + 4}" stroke="{col}"/>')


def main():
    before, after = cases(sys.argv[1]), cases(sys.argv[2])
    ns = sorted({n for (_, n) in after})
    names = []
    for (p, _) in after:
        if p not in names and any(q["printed"] and q["truth"] for (pp, _), c in after.items() if pp == p for q in c["probs"][:2]):
            names.append(p)
    ph = 40 + ROW * len(names) + 30
    H = 30 + ph * len(ns)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           '<text x="10" y="18" font-size="14">printed upper bound below the true quantile: share of runs (bar) and '
           'CP95 upper limit (whisker); before (grey), after (blue)</text>']
    for i, n in enumerate(ns):
        top = 30 + i * ph
        for m, (j, label) in enumerate(PROBS):
            x0 = LEFT + m * (PANEL_W + GAP)
            x = lambda v, x0=x0: x0 + (PANEL_W - 10) * min(v, XMAX) / XMAX
            runs = sorted({after[(p, n)]["runs"] for p in names if (p, n) in after})
            svg.append(f'<text x="{x0}" y="{top + 16}" font-size="12">n = {n}, p = {label} '
                       f'({"/".join(map(str, runs))} runs per process)</text>')
            for v, txt, dash in [(0.025, "2.5% nominal", "2,2"), (0.05, "5% target (CP95)", "6,3")]:
                svg.append(f'<line x1="{x(v):.1f}" y1="{top + 24}" x2="{x(v):.1f}" y2="{top + ph - 28}" stroke="red" stroke-dasharray="{dash}"/>')
                svg.append(f'<text x="{x(v) + 3:.1f}" y="{top + ph - 16 - 10 * (v > 0.03)}" fill="red">{txt}</text>')
            for t in [0, 0.1, 0.2, 0.3, 0.4]:
                svg.append(f'<text x="{x(t):.1f}" y="{top + ph - 2}" text-anchor="middle">{int(t * 100)}%</text>')
            for r, p in enumerate(names):
                y = top + 28 + r * ROW
                if m == 0:
                    svg.append(f'<text x="{LEFT - 6}" y="{y + 14}" text-anchor="end">{p}</text>')
                bars(svg, before.get((p, n)), j, x0, y, "#999", 0, x)
                bars(svg, after.get((p, n)), j, x0, y, "#2266cc", 1, x)
    svg.append("</svg>")
    open(sys.argv[3], "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
