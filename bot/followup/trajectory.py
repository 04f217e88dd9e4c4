"""A patient's course for the clinician summary: pain and function at the triage and at each answered
check-in, drawn as an inline SVG over the outlook's 80 % band (the prediction the triage gave, when
the patient asked for one), so the team sees at a glance whether the patient is where the model
expected. Presentation attributes only (no ``style``), so the workspace's strict CSP holds."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Callable, List, Optional, Sequence, Tuple

from bot.followup.conversation import parse_code
from bot.i18n.catalog import mark, translate
from bot.prediction.predict import FUNCTION_ITEMS, PredictionUnavailable, function_score, predict
from bot.questionnaires.flow import TriageFlow
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import FollowUp, FollowUpSeries, TriageSession, as_utc

Point = Tuple[float, float]  # (weeks since the triage, value)


@dataclass(frozen=True)
class Course:
    pain: Tuple[Point, ...]
    function: Tuple[Point, ...]
    pain_band: Tuple[Tuple[float, float, float], ...]  # (weeks, low, high), from the triage's prediction
    function_band: Tuple[Tuple[float, float, float], ...]


def _canonical(codes: dict) -> dict:  # type: ignore[type-arg]
    flow = TriageFlow()
    return {k: parse_code(flow.item(k), v) for k, v in codes.items() if flow.is_item(k)}


def _function(answers: dict) -> Optional[int]:  # type: ignore[type-arg]
    if all(isinstance(answers.get(i), bool) for i in FUNCTION_ITEMS):
        return function_score(answers)
    return None


def course_of(triage: TriageSession, series: Sequence[FollowUpSeries]) -> Optional[Course]:
    """None when there is nothing to draw (no check-in answered yet)."""
    start = as_utc(triage.completed_at)
    answered: List[FollowUp] = sorted(
        (f for s in series for f in s.followups if f.status == "answered" and f.answered_at is not None),
        key=lambda f: f.answered_at)
    if start is None or not answered:
        return None
    baseline = _canonical({a.item_id: a.code for a in triage.answers})
    pain: List[Point] = []
    function: List[Point] = []
    if isinstance(baseline.get("pain_now"), int):
        pain.append((0.0, float(baseline["pain_now"])))
    if _function(baseline) is not None:
        function.append((0.0, float(_function(baseline))))  # type: ignore[arg-type]
    for followup in answered:
        weeks = (as_utc(followup.answered_at) - start).total_seconds() / (7 * 86400)
        answers = _canonical({a.item_id: a.code for a in followup.answers})
        if isinstance(answers.get("pain_now"), int):
            pain.append((weeks, float(answers["pain_now"])))
        if _function(answers) is not None:
            function.append((weeks, float(_function(answers))))  # type: ignore[arg-type]
    pain_band: Tuple[Tuple[float, float, float], ...] = ()
    function_band: Tuple[Tuple[float, float, float], ...] = ()
    try:
        prediction = predict(baseline)
    except PredictionUnavailable:
        pass  # no outlook was asked for (or it could not be made): the observed line alone
    else:
        pain_band = ((0.0, prediction.pain_now, prediction.pain_now),
                     *((float(w), i.low, i.high) for w, i in zip(prediction.weeks, prediction.pain)))
        function_band = ((0.0, prediction.function_now, prediction.function_now),
                         *((float(w), i.low, i.high) for w, i in zip(prediction.weeks, prediction.function)))
    return Course(tuple(pain), tuple(function), pain_band, function_band)


WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 320, 180, 36, 12, 24, 30
TITLE = mark("clinic.trajectory.title")
BAND = mark("clinic.trajectory.band")
OBSERVED = mark("clinic.trajectory.observed")


def _panel(title: str, points: Sequence[Point], band: Sequence[Tuple[float, float, float]], top: float,
           max_weeks: float, weeks_label: str, x0: float) -> List[str]:
    def x(weeks: float) -> float:
        return x0 + LEFT + (WIDTH - LEFT - RIGHT) * weeks / max_weeks

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    parts = [f'<text x="{x0 + LEFT}" y="14" font-size="12" font-weight="bold" fill="#1b1f23">{escape(title)}</text>',
             f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(max_weeks):.1f}" y2="{y(0):.1f}" stroke="#4f5b66"/>',
             f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(0):.1f}" y2="{y(top):.1f}" stroke="#4f5b66"/>']
    for value in (0, top / 2, top):
        parts.append(f'<text x="{x(0) - 4:.1f}" y="{y(value) + 4:.1f}" font-size="10" text-anchor="end" '
                     f'fill="#4f5b66">{value:g}</text>')
    for weeks in sorted({0.0, *(round(w) for w, _ in points), *(w for w, _, _ in band)}):
        if weeks <= max_weeks:
            parts.append(f'<text x="{x(weeks):.1f}" y="{y(0) + 14:.1f}" font-size="10" text-anchor="middle" '
                         f'fill="#4f5b66">{weeks:g}</text>')
    parts.append(f'<text x="{x(max_weeks / 2):.1f}" y="{HEIGHT - 2}" font-size="10" text-anchor="middle" '
                 f'fill="#4f5b66">{escape(weeks_label)}</text>')
    if band:
        outline = [(x(w), y(high)) for w, _, high in band] + [(x(w), y(low)) for w, low, _ in reversed(band)]
        parts.append('<polygon fill="#0b4f6c" fill-opacity="0.18" stroke="none" points="'
                     + " ".join(f"{px:.1f},{py:.1f}" for px, py in outline) + '"/>')
    if points:
        parts.append('<polyline fill="none" stroke="#a04000" stroke-width="2" points="'
                     + " ".join(f"{x(w):.1f},{y(v):.1f}" for w, v in points) + '"/>')
        parts += [f'<circle cx="{x(w):.1f}" cy="{y(v):.1f}" r="3" fill="#a04000"><title>{w:.0f}: {v:g}</title></circle>'
                  for w, v in points]
    return parts


def render_svg(course: Course, text: Callable[[str], str]) -> str:
    """Two panels side by side, pain (0-10) and function (0-24, higher is worse), with a legend."""
    max_weeks = max([26.0, *(w for w, _ in course.pain + course.function),
                     *(w for w, _, _ in course.pain_band + course.function_band)])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {2 * WIDTH} {HEIGHT + 22}" role="img" '
             f'aria-labelledby="trajectory-title"><title id="trajectory-title">{escape(text(TITLE))}</title>']
    parts += _panel(text(mark("clinic.trajectory.pain")), course.pain, course.pain_band, 10, max_weeks,
                    text(mark("clinic.trajectory.weeks")), 0)
    parts += _panel(text(mark("clinic.trajectory.function")), course.function, course.function_band, 24, max_weeks,
                    text(mark("clinic.trajectory.weeks")), WIDTH)
    legend_y = HEIGHT + 14
    parts += [f'<rect x="{LEFT}" y="{legend_y - 9}" width="14" height="10" fill="#0b4f6c" fill-opacity="0.18"/>',
              f'<text x="{LEFT + 18}" y="{legend_y}" font-size="10" fill="#1b1f23">{escape(text(BAND))}</text>',
              f'<line x1="{WIDTH + LEFT}" y1="{legend_y - 4}" x2="{WIDTH + LEFT + 14}" y2="{legend_y - 4}" stroke="#a04000" stroke-width="2"/>',
              f'<text x="{WIDTH + LEFT + 18}" y="{legend_y}" font-size="10" fill="#1b1f23">{escape(text(OBSERVED))}</text>',
              "</svg>"]
    return "".join(parts)


def summary_chart(db: Session, triage: TriageSession, language: str) -> Optional[str]:
    """The SVG for the clinician summary, or None before the first answered check-in."""
    series = list(db.execute(select(FollowUpSeries).where(FollowUpSeries.session_id == triage.id)).scalars())
    course = course_of(triage, series)
    return render_svg(course, lambda msgid: translate(language, msgid)) if course is not None else None
