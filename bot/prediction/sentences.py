"""The graph's text alternative as sentences from the catalogs, for screen readers, Telegram
previews and the care plan: the same numbers the graph draws, in the conversation's language."""
from __future__ import annotations

from typing import Callable, List, Optional

from babel.numbers import format_decimal, format_percent

from bot.i18n.catalog import mark
from bot.prediction.graph import TextAlternative

OUTCOME_NAMES = {"pain": mark("prediction.graph.pain"), "function": mark("prediction.graph.function"),
                 "off_work": mark("prediction.graph.off_work")}  # off_work: used by the graph only
Translate = Callable[..., str]


def _number(value: Optional[float], language: str) -> str:
    return "" if value is None else format_decimal(int(value), locale=language)


def _percent(value: Optional[float], language: str) -> str:
    return "" if value is None else format_percent(value / 100, locale=language)


def outlook_lines(alternative: TextAlternative, t: Translate) -> List[str]:
    """One line per outcome, then the illustrative notice while the model is synthetic.
    ``t(msgid, **values)`` is the conversation's translate."""
    language = alternative.language
    lines = [t(mark("prediction.text.intro"))]
    for outcome in alternative.outcomes:
        if outcome.outcome == "off_work":  # each sentence names the outcome itself
            parts = []
            for p in outcome.points:
                if p.typical is None:
                    parts.append(t(mark("prediction.text.work_point_no_typical"), date=p.date_text,
                                   chance=_percent(p.median, language)))
                else:
                    parts.append(t(mark("prediction.text.work_point"), date=p.date_text,
                                   chance=_percent(p.median, language), typical=_percent(p.typical, language)))
        else:
            now, *later = outcome.points
            parts = [t(mark("prediction.text.now"), outcome=t(OUTCOME_NAMES[outcome.outcome]), value=_number(now.median, language))]
            for p in later:
                values = dict(date=p.date_text, median=_number(p.median, language), low=_number(p.low, language),
                              high=_number(p.high, language))
                if p.typical is None:
                    parts.append(t(mark("prediction.text.point_no_typical"), **values))
                else:
                    parts.append(t(mark("prediction.text.point"), typical=_number(p.typical, language), **values))
        lines.append(" ".join(parts))
    if alternative.illustrative:
        lines.append(t(mark("prediction.illustrative")))
    return lines
