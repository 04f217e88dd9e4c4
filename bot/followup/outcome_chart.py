"""The outcomes page's chart: change in pain and function per treatment received, a forest plot
(mean change and its 95 % interval per group, a line at no change), as inline SVG drawn on the
server in the clinician's language, one figure per time point.

Every group shows its n; a group under the page's minimum (outcomes.MIN_CELL) is named with its n
and "too few to show" instead of a line, as in the table. Negative change is improvement, so the
axis says which side is better. Presentation attributes and classes only (no ``style``), so the
workspace's strict CSP holds; the tables beside it carry the same numbers for screen readers."""
from __future__ import annotations

from html import escape
from typing import Callable, Dict, List, Sequence, Tuple

from markupsafe import Markup

from bot.followup.outcomes import OUTCOMES, Cell
from bot.i18n.catalog import mark

TITLE = mark("clinic.outcomes.chart_title")
NOTE = mark("clinic.outcomes.chart_note")
BETTER = mark("clinic.outcomes.better")
WORSE = mark("clinic.outcomes.worse")
TOO_FEW = mark("clinic.outcomes.too_few")
OUTCOME_TITLES = {"pain": mark("clinic.trajectory.pain"), "function": mark("clinic.trajectory.function")}

LABEL_WIDTH, MAX_LABEL_WIDTH, PANEL, GAP, ROW, TOP, BOTTOM = 160, 340, 230, 20, 24, 26, 34
INK, MUTED, LINE = "#1b1f23", "#4f5b66", "#0b4f6c"


def _extent(cells: Sequence[Cell]) -> Tuple[float, float]:
    """The axis range: every interval and zero, padded a little, at least one point either side."""
    shown = [c for c in cells if not c.hidden]
    low = min([0.0, *(c.low for c in shown)])  # type: ignore[type-var]
    high = max([0.0, *(c.high for c in shown)])  # type: ignore[type-var]
    low, high = min(low, -1.0), max(high, 1.0)
    pad = 0.05 * (high - low)
    return low - pad, high + pad


def _ticks(low: float, high: float) -> List[float]:
    step = next(s for s in (0.5, 1, 2, 5, 10, 20) if (high - low) / s <= 6)
    first = int(low // step) + 1
    return [round(k * step, 1) for k in range(first, int(high // step) + 1)]


def forest_chart(cells: Sequence[Cell], time: str, names: Dict[str, str], text: Callable[[str], str]) -> Markup:
    """The figure for one time point (``3m`` or ``6m``), by treatment; empty when no cell exists."""
    cells = [c for c in cells if c.time == time and c.dimension == "treatment"]
    groups = sorted({c.group for c in cells}, key=lambda g: names.get(g, g))
    if not groups:
        return Markup("")
    # Room for the longest treatment name (about 6.6 px a character at 12 px), within bounds.
    label_width = min(MAX_LABEL_WIDTH, max(LABEL_WIDTH, 12 + int(6.6 * max(len(names.get(g, g)) for g in groups))))
    height = TOP + ROW * len(groups) + BOTTOM
    width = label_width + len(OUTCOMES) * (PANEL + GAP)
    when = text("clinic.outcomes.time_" + time)
    title = f"{text(TITLE)} · {when}"
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="0" y="14" font-size="12" font-weight="bold" fill="{INK}">{escape(when)}</text>']
    for index, group in enumerate(groups):
        parts.append(f'<text x="0" y="{TOP + ROW * index + ROW / 2 + 4:.1f}" font-size="12" fill="{INK}">'
                     f'{escape(names.get(group, group))}</text>')
    for number, outcome in enumerate(OUTCOMES):
        x0 = label_width + number * (PANEL + GAP)
        mine = {c.group: c for c in cells if c.outcome == outcome}
        low, high = _extent(list(mine.values()))

        def x(value: float, x0: float = x0, low: float = low, high: float = high) -> float:
            return x0 + PANEL * (value - low) / (high - low)

        bottom = TOP + ROW * len(groups)
        parts.append(f'<text x="{x0}" y="14" font-size="12" font-weight="bold" fill="{INK}">'
                     f'{escape(text(OUTCOME_TITLES[outcome]))}</text>')
        parts.append(f'<line x1="{x(0):.1f}" y1="{TOP - 4}" x2="{x(0):.1f}" y2="{bottom}" stroke="{MUTED}" '
                     f'stroke-dasharray="3 3"/>')
        parts.append(f'<line x1="{x0}" y1="{bottom}" x2="{x0 + PANEL}" y2="{bottom}" stroke="{MUTED}"/>')
        for tick in _ticks(low, high):
            parts.append(f'<text x="{x(tick):.1f}" y="{bottom + 12}" font-size="10" text-anchor="middle" '
                         f'fill="{MUTED}">{"0" if tick == 0 else f"{tick:+g}"}</text>')
        parts.append(f'<text x="{x0}" y="{bottom + 26}" font-size="10" fill="{MUTED}">{escape(text(BETTER))}</text>')
        parts.append(f'<text x="{x0 + PANEL}" y="{bottom + 26}" font-size="10" text-anchor="end" '
                     f'fill="{MUTED}">{escape(text(WORSE))}</text>')
        for index, group in enumerate(groups):
            y = TOP + ROW * index + ROW / 2
            cell = mine.get(group)
            if cell is None:
                continue
            if cell.hidden:
                parts.append(f'<text x="{x0 + 4}" y="{y + 4:.1f}" font-size="10" fill="{MUTED}">'
                             f'n={cell.n}: {escape(text(TOO_FEW))}</text>')
                continue
            figures = f"n={cell.n}: {cell.mean:+.1f} ({cell.low:+.1f} … {cell.high:+.1f})"
            parts.append(f'<line x1="{x(cell.low):.1f}" y1="{y:.1f}" x2="{x(cell.high):.1f}" y2="{y:.1f}" '
                         f'stroke="{LINE}" stroke-width="2"><title>{escape(figures)}</title></line>')
            parts.append(f'<circle cx="{x(cell.mean):.1f}" cy="{y:.1f}" r="4" fill="{LINE}">'
                         f'<title>{escape(figures)}</title></circle>')
            parts.append(f'<text x="{x(cell.mean):.1f}" y="{y - 6:.1f}" font-size="9" text-anchor="middle" '
                         f'fill="{MUTED}">n={cell.n}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
