"""The prediction as a picture (PNG) and as words (a text alternative with the same content).

The picture shows, per outcome, the patient's median and 80 % band over the next 26 weeks beside the
typical course of their risk group. It is drawn for people who may not see colour the way we do:
Okabe-Ito colours (blue and vermillion stay distinct in every common colour-vision deficiency) and,
in addition, solid versus dashed lines and round versus square markers, so it also survives a
grey-scale print. Text comes in as parameters (the conversation takes it from the catalogs) and dates
are formatted with Babel for the conversation's locale; matplotlib's bundled DejaVu Sans has the
letters of all twelve languages. Rendering uses the Agg canvas directly, without pyplot's global
state, and each thread keeps its own prepared figures (one per layout: language, labels, date and
panels), so a graph costs one draw and concurrent actions never share a figure.
"""
from __future__ import annotations

import io
import math
import textwrap
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bot.i18n.catalog import mark
from bot.prediction.predict import Interval, Prediction
from bot.prediction.schema import FUNCTION_RANGE, PAIN_RANGE

# Okabe & Ito (2008), "Color Universal Design": safe for the common colour-vision deficiencies.
PATIENT_COLOUR = "#0072B2"  # blue
TYPICAL_COLOUR = "#D55E00"  # vermillion
TEXT_COLOUR = "#000000"
GRID_COLOUR = "#dddddd"
DPI = 100
PAIN_TICKS = tuple(range(PAIN_RANGE[0], PAIN_RANGE[1] + 1, 2))
FUNCTION_TICKS = tuple(range(FUNCTION_RANGE[0], FUNCTION_RANGE[1] + 1, 6))
PROBABILITY_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
# BackTalk's English speakers are in the UK or elsewhere in Europe (urgent advice names 999 or
# 112): dates put the day first, never in the US order that "en" alone would give.
DATE_LOCALES = {"en": "en_GB"}


@dataclass(frozen=True)
class GraphLabels:
    """Every text drawn in the graph, already in the conversation's language."""

    pain: str           # panel title, e.g. "Pain (0-10)"
    function: str       # e.g. "How much the pain limits you (0-24)"
    off_work: str       # e.g. "Chance of being off work"
    you: str            # legend: the patient's median
    your_range: str     # legend: the patient's 80 % band
    typical: str        # legend: the risk group's typical course
    today: str          # x-axis label of the first point
    illustrative: str   # shown under the graph while the model comes from synthetic data


LEGEND_WRAP = 28  # characters per legend line: three entries side by side fit 6.4 inches

# The labels' msgids, one per GraphLabels field (a test keeps the two equal).
LABEL_MSGIDS: Dict[str, str] = {
    "pain": mark("prediction.graph.pain"), "function": mark("prediction.graph.function"),
    "off_work": mark("prediction.graph.off_work"), "you": mark("prediction.graph.you"),
    "your_range": mark("prediction.graph.your_range"), "typical": mark("prediction.graph.typical"),
    "today": mark("prediction.graph.today"), "illustrative": mark("prediction.graph.illustrative"),
}

# English text for tests, benchmarks and the command line only: the conversation passes catalog text.
ENGLISH_LABELS = GraphLabels(
    pain="Pain (0-10)",
    function="How much the pain limits you (0-24)",
    off_work="Chance of being off work because of the pain",
    you="You: most likely",
    your_range="You: 8 in 10 people like you",
    typical="Typical for your risk group",
    today="Today",
    illustrative="Illustration from simulated patients: not yet checked on real patients.",
)


def labels_from(text: Callable[[str], str]) -> GraphLabels:
    """Labels from a message lookup, e.g. ``labels_from(lambda m: translate(language, m))``."""
    return GraphLabels(**{name: text(msgid) for name, msgid in LABEL_MSGIDS.items()})


def follow_up_dates(today: date, weeks: Sequence[int]) -> List[date]:
    return [today] + [today + timedelta(weeks=w) for w in weeks]


def _series(prediction: Prediction, outcome: str) -> Tuple[List[float], List[Tuple[float, float]]]:
    """Medians and bands from today on; today is the patient's own answer (no uncertainty)."""
    now = float(prediction.pain_now if outcome == "pain" else prediction.function_now)
    intervals: Sequence[Interval] = prediction.pain if outcome == "pain" else prediction.function
    return [now] + [i.median for i in intervals], [(now, now)] + [(i.low, i.high) for i in intervals]


def _typical(prediction: Prediction, outcome: str, days: Sequence[int]) -> Tuple[List[int], List[float]]:
    points = [(d, v) for d, v in zip(days, prediction.typical.get(outcome, ())) if v is not None]
    return [d for d, _ in points], [float(v) for _, v in points]


@dataclass
class _Template:
    """A drawn-once figure for one layout; only the data artists change from patient to patient."""

    figure: Figure
    medians: Dict[str, Line2D]
    bands: Dict[str, PolyCollection]
    typical: Dict[str, Line2D]
    days: List[int]


def _build(labels: GraphLabels, language: str, today: date, weeks: Tuple[int, ...], with_work: bool,
           illustrative: bool) -> _Template:
    """Everything that does not depend on the patient: panels, titles, ticks, legend, notice."""
    dates = follow_up_dates(today, weeks)
    days = [(d - today).days for d in dates]
    panels = [("pain", labels.pain, PAIN_TICKS), ("function", labels.function, FUNCTION_TICKS)]
    if with_work:
        panels.append(("off_work", labels.off_work, PROBABILITY_TICKS))
    # Fixed margins and ticks instead of tight_layout and automatic locators: the graph has one
    # layout, and measuring text to lay it out costs more than drawing it.
    # Legend entries wrap (Polish and German names are long); the footer grows by the extra lines.
    legend_texts = [textwrap.fill(t, LEGEND_WRAP) for t in (labels.you, labels.your_range, labels.typical)]
    extra_lines = max(t.count("\n") for t in legend_texts)
    panel_height, footer = 1.9, (0.75 if illustrative else 0.45) + 0.16 * extra_lines
    height = panel_height * len(panels) + footer + 0.2
    figure = Figure(figsize=(6.4, height), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(left=0.09, right=0.97, top=1 - 0.35 / height, bottom=(footer + 0.25) / height, hspace=0.45)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    template = _Template(figure, {}, {}, {}, days)
    for ax, (outcome, title, ticks) in zip(axes, panels):
        ax.set_title(title, loc="left", fontsize=10.5, color=TEXT_COLOUR, pad=4)
        if outcome == "off_work":
            tick_texts = [format_percent(t, locale=language) for t in ticks]
        else:
            template.bands[outcome] = ax.fill_between(days, 0, 0, color=PATIENT_COLOUR, alpha=0.22, linewidth=0)
            tick_texts = [format_decimal(t, locale=language) for t in ticks]
        template.medians[outcome] = ax.plot([], [], color=PATIENT_COLOUR, linestyle="-", marker="o", linewidth=2.2)[0]
        template.typical[outcome] = ax.plot([], [], color=TYPICAL_COLOUR, linestyle="--", marker="s", linewidth=1.8)[0]
        # Grid lines as one line collection: ax.grid() and tick_params() rebuild every tick.
        ax.hlines(ticks, days[0] - 5, days[-1] + 5, colors=GRID_COLOUR, linewidths=0.8, zorder=0)
        ax.set_yticks(ticks)
        ax.set_yticklabels(tick_texts, fontsize=9)
        ax.set_ylim(ticks[0], ticks[-1])
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xticks(days)
    date_locale = DATE_LOCALES.get(language, language)
    axes[-1].set_xticklabels([labels.today] + [format_skeleton("MMMd", d, locale=date_locale) for d in dates[1:]],
                             fontsize=9)
    axes[-1].set_xlim(days[0] - 5, days[-1] + 5)
    handles = [template.medians["pain"], template.bands["pain"], template.typical["pain"]]
    figure.legend(handles, legend_texts, loc="lower center", ncol=3,
                  fontsize=8.5, frameon=False, bbox_to_anchor=(0.5, (footer - 0.4 - 0.16 * extra_lines) / height))
    if illustrative:
        figure.text(0.5, 0.06 / height, textwrap.fill(labels.illustrative, 95), ha="center", va="bottom",
                    fontsize=8, style="italic", color=TEXT_COLOUR)
    return template


_local = threading.local()
TEMPLATES_PER_THREAD = 8


def _template(key: Tuple[Any, ...]) -> _Template:
    """This thread's figure for ``key``: building one costs more than drawing it, and a figure is
    never shared between threads, so concurrent actions cannot draw into each other's graph."""
    cache: "OrderedDict[Tuple[Any, ...], _Template]" = getattr(_local, "templates", None) or OrderedDict()
    _local.templates = cache
    if key in cache:
        cache.move_to_end(key)
    else:
        cache[key] = _build(*key)
        while len(cache) > TEMPLATES_PER_THREAD:
            cache.popitem(last=False)
    return cache[key]


def draw(prediction: Prediction, labels: GraphLabels, language: str, today: date) -> Figure:
    """This thread's figure for the layout, holding ``prediction``: one panel per outcome (work only
    for patients in paid work). Valid until the thread draws the next graph."""
    template = _template((labels, language, today, prediction.weeks, prediction.off_work is not None,
                          prediction.illustrative))
    days = template.days
    for outcome in ("pain", "function"):
        medians, bands = _series(prediction, outcome)
        template.medians[outcome].set_data(days, medians)
        outline = [(d, b[0]) for d, b in zip(days, bands)] + [(d, b[1]) for d, b in reversed(list(zip(days, bands)))]
        template.bands[outcome].set_verts([outline])
    if prediction.off_work is not None:
        template.medians["off_work"].set_data(days[1:], prediction.off_work)
    for outcome, line in template.typical.items():
        line.set_data(*_typical(prediction, outcome, days))
    return template.figure


def render_png(prediction: Prediction, labels: GraphLabels, language: str, today: date) -> bytes:
    """The graph as PNG bytes."""
    buffer = io.BytesIO()
    draw(prediction, labels, language, today).savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


@dataclass(frozen=True)
class TextPoint:
    """One time of one outcome in words: the numbers a sentence needs, rounded for people."""

    when: str  # "now", "6w", "3m" or "6m"
    date: date
    date_text: str
    median: float
    low: Optional[float]
    high: Optional[float]
    typical: Optional[float]


@dataclass(frozen=True)
class TextOutcome:
    outcome: str  # "pain", "function" or "off_work" (values are then percentages)
    points: Tuple[TextPoint, ...]


@dataclass(frozen=True)
class TextAlternative:
    """What the graph shows, as numbers for sentences in the conversation's language."""

    language: str
    risk_group: str
    illustrative: bool
    outcomes: Tuple[TextOutcome, ...]


def _whole(value: float) -> float:
    """Half up, as people round (Python's round() would give 2 for 2.5)."""
    return float(math.floor(value + 0.5))


def _whole_or_none(value: Optional[float], scale: float = 1.0) -> Optional[float]:
    return None if value is None else _whole(scale * value)


def text_alternative(prediction: Prediction, language: str, today: date) -> TextAlternative:
    """The same content as the graph: for each outcome, now and at each follow-up, the median, the
    80 % range and the risk group's typical value (whole numbers; work in whole percent)."""
    dates = follow_up_dates(today, prediction.weeks)
    whens = ["now", "6w", "3m", "6m"]
    texts = [format_skeleton("yMMMd", d, locale=DATE_LOCALES.get(language, language)) for d in dates]
    outcomes = []
    for outcome in ("pain", "function"):
        medians, bands = _series(prediction, outcome)
        typical = prediction.typical.get(outcome, (None,) * len(dates))
        points = tuple(
            TextPoint(whens[i], dates[i], texts[i], _whole(medians[i]),
                      None if i == 0 else _whole(bands[i][0]), None if i == 0 else _whole(bands[i][1]),
                      _whole_or_none(typical[i]))
            for i in range(len(dates)))
        outcomes.append(TextOutcome(outcome, points))
    if prediction.off_work is not None:
        typical = prediction.typical.get("off_work", (None,) * len(dates))
        points = tuple(
            TextPoint(whens[i + 1], dates[i + 1], texts[i + 1], _whole(100 * p), None, None,
                      _whole_or_none(typical[i + 1], 100))
            for i, p in enumerate(prediction.off_work))
        outcomes.append(TextOutcome("off_work", points))
    return TextAlternative(language, prediction.risk_group, prediction.illustrative, tuple(outcomes))


def english_text(alternative: TextAlternative) -> str:
    """The text alternative in English, for tests and the command line (the conversation builds its
    sentences from the catalogs with the same numbers)."""
    names = {"pain": "Pain (0-10)", "function": "How much the pain limits you (0-24)"}
    lines = []
    if alternative.illustrative:
        lines.append("This is an illustration from simulated patients; it has not been checked on real patients.")
    for outcome in alternative.outcomes:
        if outcome.outcome == "off_work":
            parts = [f"{p.date_text}: {p.median:.0f} %" + (f" (typical for your risk group: {p.typical:.0f} %)"
                                                            if p.typical is not None else "") for p in outcome.points]
            lines.append("Chance of being off work because of the pain. " + "; ".join(parts) + ".")
            continue
        now, *later = outcome.points
        parts = [f"now {now.median:.0f}"]
        for p in later:
            part = f"{p.date_text}: most likely {p.median:.0f}, 8 in 10 people like you between {p.low:.0f} and {p.high:.0f}"
            if p.typical is not None:
                part += f" (typical for your risk group: {p.typical:.0f})"
            parts.append(part)
        lines.append(f"{names[outcome.outcome]}: " + "; ".join(parts) + ".")
    return "\n".join(lines)
