"""A care plan for one finished triage, with every text resolved in the patient's language.

The plan is plain data (no markup), so the chat text, the HTML and the PDF render the same content
and a snapshot of the text checks all three. It holds no name or other identifying detail: the
reference code is the only link to a person.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Optional, Tuple

from babel.dates import format_date

from bot.careplan.options import matching_options
from bot.careplan.resources import Resource, choose_resources
from bot.config import DEFAULT_PUBLIC_URL
from bot.guide.links import plan_links
from bot.i18n.catalog import mark, normalise_language, translate
from bot.prediction.sentences import OutlookTable
from bot.questionnaires.flow import TriageFlow
from bot.triage.replies import DISCLAIMERS, answer_label
from bot.triage.service import TriageOutcome

RISK_NAMES = {"low": mark("careplan.risk.low"), "medium": mark("careplan.risk.medium"),
              "high": mark("careplan.risk.high")}
RISK_MEANINGS = {"low": mark("result.low"), "medium": mark("result.medium"), "high": mark("result.high")}
# Long dates ("25 November 2026", "25. studenoga 2026.") cannot be misread as day/month or month/day.
DATE_FORMAT = "long"


@dataclass(frozen=True)
class Outlook:
    """The prediction part of a plan: the lines before the tables (the intro, or just the reason
    there is no outlook), an optional PNG with its alt text, the graph's text alternative as small
    tables, and the notes after them (the illustrative notice)."""

    lines: Tuple[str, ...]
    png: Optional[bytes] = None
    tables: Tuple[OutlookTable, ...] = ()
    notes: Tuple[str, ...] = ()
    image_alt: str = ""


@dataclass(frozen=True)
class Entry:
    """A titled line: an option (name, explanation) or a resource (title, publisher, URL)."""

    title: str
    text: str
    url: Optional[str] = None


@dataclass(frozen=True)
class CarePlan:
    language: str
    reference_code: str
    title: str
    reference_line: str
    date_line: str
    pain_heading: str
    pain_lines: Tuple[str, ...]
    risk_heading: str
    risk_name: str
    risk_lines: Tuple[str, ...]
    red_flags_heading: str
    red_flags_intro: str
    red_flags: Tuple[str, ...]
    options_heading: str
    options: Tuple[Entry, ...]
    resources_heading: str
    resources_note: Optional[str]
    resources: Tuple[Entry, ...]
    outlook_heading: str
    outlook: Optional[Outlook]
    clinician_heading: str
    clinician_score: str
    clinician_answers_heading: str
    clinician_answers: Tuple[Entry, ...]
    clinician_options_heading: str
    clinician_options: Tuple[Entry, ...]
    footer: str
    option_ids: Tuple[str, ...] = field(default=())
    resource_ids: Tuple[str, ...] = field(default=())
    # BackTalk's own guide pages (title, absolute URL), site-matched first; external resources follow.
    guide_intro: str = ""
    guide_links: Tuple[Entry, ...] = field(default=())
    resources_more: str = ""


def _score_line(outcome: TriageOutcome, language: str, risk_name: str) -> str:
    if outcome.risk_tool == "start_msk":
        return translate(language, "careplan.clinician.score_start_msk", total=outcome.risk_score, group=risk_name)
    return translate(language, "careplan.clinician.score_start_back", total=outcome.risk_score,
                     subscale=outcome.risk_subscore, group=risk_name)


def _resource_entry(resource: Resource) -> Entry:
    return Entry(resource.title, resource.publisher, resource.url)


def compose(outcome: TriageOutcome, answers: Mapping[str, Any], language: str, *, created: date,
            flow: Optional[TriageFlow] = None, outlook: Optional[Outlook] = None,
            public_url: str = DEFAULT_PUBLIC_URL) -> CarePlan:
    """The plan for a triage that ended with a risk group (a red flag gets urgent advice instead)."""
    if outcome.kind != "risk" or outcome.risk_group is None or outcome.reference_code is None:
        raise ValueError("a care plan needs a completed triage with a risk group")
    language = normalise_language(language)
    flow = flow or TriageFlow()
    answers = flow.with_derived(answers)
    site, duration, group = str(answers["pain_site"]), str(answers["episode_duration"]), outcome.risk_group

    def t(msgid: str, **values: Any) -> str:
        return translate(language, msgid, **values)

    path = flow.required_items(answers)
    # Every answer on the patient's path (a stale answer left by "go back" is not), derived ones too.
    on_path = {i.id for i in path}
    asked = [i for i in flow.items if i.id != "consent" and answers.get(i.id) is not None
             and (i.id in on_path or (i.derived_from in on_path and i.applies_to(site)))]
    red_flags = [i for i in path if i.questionnaire == "red_flags"]
    patient_options = matching_options(site, duration, group, "patient")
    clinician_options = matching_options(site, duration, group, "clinician")
    resources = choose_resources(language, site)
    risk_name = t(RISK_NAMES[group])
    return CarePlan(
        language=language,
        reference_code=outcome.reference_code,
        title=t(mark("careplan.title")),
        reference_line=t(mark("careplan.reference"), reference_code=outcome.reference_code),
        date_line=t(mark("careplan.date"), date=format_date(created, DATE_FORMAT, locale=language)),
        pain_heading=t(mark("careplan.heading.pain")),
        pain_lines=(
            t(mark("careplan.pain_site"), site=answer_label(flow.item("pain_site"), site, language)),
            t(mark("careplan.duration"), duration=answer_label(flow.item("episode_duration"), duration, language)),
        ),
        risk_heading=t(mark("careplan.heading.risk")),
        risk_name=risk_name,
        risk_lines=(t(RISK_MEANINGS[group]), t(DISCLAIMERS.get(str(outcome.risk_tool), DISCLAIMERS["start_back"]))),
        red_flags_heading=t(mark("careplan.heading.red_flags")),
        red_flags_intro=t(mark("careplan.red_flags_none")),
        red_flags=tuple(t(i.short or i.text) for i in red_flags),
        options_heading=t(mark("careplan.heading.options")),
        options=tuple(Entry(t(o.name), t(o.about)) for o in patient_options),
        resources_heading=t(mark("careplan.heading.resources")),
        resources_note=t(mark("careplan.resources_in_english")) if resources.includes_english_fallback else None,
        resources=tuple(_resource_entry(r) for r in resources.resources),
        outlook_heading=t(mark("careplan.heading.outlook")),
        outlook=outlook,
        clinician_heading=t(mark("careplan.heading.clinician")),
        clinician_score=_score_line(outcome, language, risk_name),
        clinician_answers_heading=t(mark("careplan.clinician.answers")),
        clinician_answers=tuple(Entry(t(i.text), answer_label(i, answers[i.id], language)) for i in asked),
        clinician_options_heading=t(mark("careplan.clinician.options")),
        clinician_options=tuple(Entry(t(o.name), t(o.about)) for o in clinician_options),
        footer=t(mark("careplan.footer")),
        option_ids=tuple(o.id for o in patient_options + clinician_options),
        resource_ids=tuple(r.id for r in resources.resources),
        guide_intro=t(mark("careplan.guide")),
        guide_links=tuple(Entry(title, "", url) for title, url in plan_links(language, site, group, public_url)),
        resources_more=t(mark("careplan.guide_more")),
    )


