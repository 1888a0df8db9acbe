"""Small SVG charts with the standard library only: a line chart (x/y points per series) and
a grouped bar chart. Used by plot-sweep.py and plot-experiments.py."""

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def nice_max(v):
    """The smallest 1/2/2.5/5 x 10^k at or above `v`."""
    for mag in range(-3, 8):
        for step in (1, 2, 2.5, 5):
            m = step * 10 ** mag
            if m >= v:
                return m
    return v


def _frame(width, height, title):
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="12">',
            f'<rect width="{width}" height="{height}" fill="white"/>',
            f'<text x="70" y="22" font-size="15">{title}</text>']


def _legend(out, x, y, names_colours, marker="line"):
    for n, (name, colour) in enumerate(names_colours):
        ly = y + 22 * n
        if marker == "line":
            out.append(f'<line x1="{x}" y1="{ly}" x2="{x + 25}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        else:
            out.append(f'<rect x="{x + 6}" y="{ly - 6}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 31}" y="{ly + 4}">{name}</text>')


def line_chart(series, title, xlabel, ylabel, point_labels=True, vlines=(), width=760, height=460,
               right=250, legend_note=""):
    """`series`: list of (name, colour, [(x, y, label)]). `vlines`: [(x, text)] markers."""
    left, bottom, top = 70, 60, 40
    pw, ph = width - left - right, height - top - bottom
    xs = [p[0] for _, _, pts in series for p in pts] or [1]
    ys = [p[1] for _, _, pts in series for p in pts] or [1]
    xmax, ymax = nice_max(max(xs) * 1.05), nice_max(max(ys) * 1.1)
    # Negative x (time before an event) gets a whole-number start.
    xmin = min(0, int(min(xs)) - (1 if min(xs) < int(min(xs)) else 0))
    px = lambda x: left + pw * (x - xmin) / (xmax - xmin)
    py = lambda y: top + ph - ph * y / ymax
    out = _frame(width, height, title)
    step = nice_max((xmax - xmin) / 6)
    gx = -(-xmin // step) * step
    while gx <= xmax + 1e-9:
        out.append(f'<line x1="{px(gx):.1f}" y1="{top}" x2="{px(gx):.1f}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{px(gx):.1f}" y="{top + ph + 18}" text-anchor="middle">{gx:g}</text>')
        gx += step
    for i in range(6):
        gy = ymax * i / 5
        out.append(f'<line x1="{left}" y1="{py(gy):.1f}" x2="{left + pw}" y2="{py(gy):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 8}" y="{py(gy) + 4:.1f}" text-anchor="end">{gy:g}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 15}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text transform="translate(18,{top + ph / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>')
    for x, text in vlines:
        out.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + ph}" stroke="#999" '
                   f'stroke-dasharray="4,3"/>')
        out.append(f'<text x="{px(x) + 4:.1f}" y="{top + 14}" font-size="10" fill="#555">{text}</text>')
    for name, colour, pts in series:
        path = " ".join(f"{px(p[0]):.1f},{py(p[1]):.1f}" for p in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for p in pts:
            out.append(f'<circle cx="{px(p[0]):.1f}" cy="{py(p[1]):.1f}" r="3" fill="{colour}"/>')
            if point_labels and len(p) > 2:
                out.append(f'<text x="{px(p[0]) + 5:.1f}" y="{py(p[1]) - 5:.1f}" font-size="10" '
                           f'fill="{colour}">{p[2]}</text>')
    _legend(out, left + pw + 15, top + 20, [(n, c) for n, c, _ in series])
    if legend_note:
        out.append(f'<text x="{left + pw + 15}" y="{top + 30 + 22 * len(series)}" font-size="10" '
                   f'fill="#555">{legend_note}</text>')
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(groups, bars, title, ylabel, width=980, height=460, fmt="{:,.0f}"):
    """`groups`: [(label, [value or None per bar])]; `bars`: [(name, colour)]."""
    left, bottom, top, right = 70, 95, 40, 70
    pw, ph = width - left - right, height - top - bottom
    vals = [v for _, vs in groups for v in vs if v is not None] or [1]
    ymax = nice_max(max(vals) * 1.12)
    py = lambda y: top + ph - ph * y / ymax
    out = _frame(width, height, title)
    for i in range(6):
        gy = ymax * i / 5
        out.append(f'<line x1="{left}" y1="{py(gy):.1f}" x2="{left + pw}" y2="{py(gy):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 8}" y="{py(gy) + 4:.1f}" text-anchor="end">{gy:g}</text>')
    out.append(f'<text transform="translate(18,{top + ph / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>')
    gw = pw / max(1, len(groups))
    bw = gw * 0.8 / max(1, len(bars))
    for g, (label, vs) in enumerate(groups):
        x0 = left + g * gw + gw * 0.1
        for b, v in enumerate(vs):
            if v is None:
                continue
            x = x0 + b * bw
            out.append(f'<rect x="{x:.1f}" y="{py(v):.1f}" width="{bw - 1:.1f}" height="{top + ph - py(v):.1f}" '
                       f'fill="{bars[b][1]}"/>')
            out.append(f'<text transform="translate({x + bw / 2 + 3:.1f},{py(v) - 3:.1f}) rotate(-90)" '
                       f'font-size="9">{fmt.format(v)}</text>')
        cx = left + g * gw + gw / 2
        out.append(f'<text transform="translate({cx:.1f},{top + ph + 12}) rotate(25)" font-size="11">{label}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    # Legend in one row under the title.
    x = left + 260
    for name, colour in bars:
        out.append(f'<rect x="{x}" y="12" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="22" font-size="11">{name}</text>')
        x += 22 + 6.5 * len(name)
    out.append("</svg>")
    return "\n".join(out)
