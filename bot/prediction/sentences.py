"""The graph's text alternative as small tables from the catalogs, for screen readers, Telegram
previews and the care plan: the same numbers the graph draws, in the conversation's language.

One table per outcome (pain, function, and work when the patient is in paid work), one row per time
point: when / most likely / 8 in 10 people like you / typical for your risk group (work: when /
chance / typical). The rows are plain strings; each renderer lays them out its own way (a line per
row in the chat, an HTML table, a PDF table), so all three say exactly the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from babel.numbers import format_decimal, format_percent

from bot.i18n.catalog import mark
from bot.prediction.graph import TextAlternative, TextOutcome

OUTCOME_NAMES = {"pain": mark("prediction.graph.pain"), "function": mark("prediction.graph.function"),
                 "off_work": mark("prediction.graph.off_work")}
INTRO = mark("prediction.text.intro")
IMAGE_ALT = mark("prediction.graph.alt")
NOTHING = "–"  # an empty cell (today has no range: it is the patient's own answer)
Translate = Callable[..., str]


@dataclass(frozen=True)
class OutlookTable:
    """One outcome: a title, column headings and rows of cells (all strings, already translated)."""

    title: str
    columns: Tuple[str, ...]
    rows: Tuple[Tuple[str, ...], ...]

    cell_format: str = "{heading}: {value}"  # the catalog's prediction.table.cell

    def lines(self) -> List[str]:
        """Plain text, one line per time point, reading well in proportional fonts (Telegram, the
        widget): ``• 6 Jan 2027 — Most likely: 6 · 8 in 10 people like you: 3 to 7 · Typical ...: 6``."""
        out = [self.title]
        for when, *cells in self.rows:
            parts = [self.cell_format.format(heading=heading, value=cell)
                     for heading, cell in zip(self.columns[1:], cells) if cell != NOTHING]
            out.append(f"• {when} — " + " · ".join(parts))
        return out


def _number(value: Optional[float], language: str) -> str:
    return NOTHING if value is None else format_decimal(int(value), locale=language)


def _percent(value: Optional[float], language: str) -> str:
    return NOTHING if value is None else format_percent(value / 100, locale=language)


def _table(outcome: TextOutcome, language: str, t: Translate) -> OutlookTable:
    when, typical = t(mark("prediction.table.when")), t(mark("prediction.graph.typical"))
    if outcome.outcome == "off_work":
        columns: Tuple[str, ...] = (when, t(mark("prediction.table.chance")), typical)
        rows = tuple((p.date_text, _percent(p.median, language), _percent(p.typical, language)) for p in outcome.points)
    else:
        columns = (when, t(mark("prediction.table.likely")), t(mark("prediction.table.range")), typical)
        today = t(mark("prediction.graph.today"))
        rows = tuple(
            (today if p.when == "now" else p.date_text, _number(p.median, language),
             NOTHING if p.low is None or p.high is None else t(
                 mark("prediction.table.between"), low=_number(p.low, language), high=_number(p.high, language)),
             _number(p.typical, language))
            for p in outcome.points)
    return OutlookTable(t(OUTCOME_NAMES[outcome.outcome]), columns, rows, t(mark("prediction.table.cell")))


def outlook_tables(alternative: TextAlternative, t: Translate) -> Tuple[OutlookTable, ...]:
    """One table per outcome. ``t(msgid, **values)`` is the conversation's translate."""
    return tuple(_table(outcome, alternative.language, t) for outcome in alternative.outcomes)


def outlook_notes(alternative: TextAlternative, t: Translate) -> Tuple[str, ...]:
    """What follows the tables: the illustrative notice while the model is synthetic."""
    return (t(mark("prediction.illustrative")),) if alternative.illustrative else ()


def outlook_lines(alternative: TextAlternative, t: Translate) -> List[str]:
    """The whole text alternative as chat lines: the intro, each table (its title, then a line per
    time point), then the illustrative notice. No blank lines: Rasa's REST channel would split the
    message there and part the words from their image."""
    lines = [t(INTRO)]
    for table in outlook_tables(alternative, t):
        lines += table.lines()
    return lines + list(outlook_notes(alternative, t))
