"""The summary step before the result, and changing an answer (issue 13).

Before the risk group and care plan, one message lists the patient's answers by their short labels
with "That's right" and "Change something"; the result follows only a "That's right". Any answered
question can be changed (from the summary, or by naming it: "change my answer about sleep"): the
form asks it again and then goes on where it was, since every other answer is kept. When the
change moves the patient onto another path (a new pain site, "no" to the outlook) the answers no
longer on the path are dropped, and the patient is told which.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.i18n.catalog import mark, translate
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.model import Item
from bot.questionnaires.topics import items_named
from bot.triage.replies import Message, answer_label, answer_payload

# The form's last step: a slot (not a questionnaire item) asked after the last item of a path.
SUMMARY_STEP = "summary_confirmed"
# Gates, not answers to revise: withdrawing consent is what "stop" and erasure are for.
NOT_CHANGEABLE = ("consent", "research_consent")
CHANGE_INTENT = "change_answer"
NOTHING_TO_CHANGE, NOT_ASKED_YET = mark("change.nothing"), mark("change.not_yet")
# The agree/disagree statements' two summary lines, in the order shown (option code -> msgid).
STATEMENT_LINES = {"agree": mark("summary.agreed"), "disagree": mark("summary.disagreed")}


def change_payload(item_id: Optional[str] = None) -> str:
    """``/change_answer`` (offer the answers) or ``/change_answer{"code": "<item id>"}`` (that one);
    Rasa reads both without the NLU model."""
    if item_id is None:
        return "/" + CHANGE_INTENT
    return "/" + CHANGE_INTENT + json.dumps({"code": item_id}, separators=(",", ":"))


def is_change_payload(payload: str) -> bool:
    return payload.startswith("/" + CHANGE_INTENT)


def has_summary(flow: TriageFlow, answers: Mapping[str, Any]) -> bool:
    """Whether this path ends with the summary: after consent, and never before urgent advice (a red
    flag's advice must come at once and stand alone)."""
    return answers.get("consent") is True and flow.red_flag(answers) is None


def changeable(flow: TriageFlow, answers: Mapping[str, Any]) -> List[Item]:
    """The answers a patient can change now: those on their path that they gave themselves."""
    return [i for i in flow.answered_on_path(answers)
            if i.id not in NOT_CHANGEABLE and i.derived_from is None and answers.get(i.id) is not None]


def askable(flow: TriageFlow, answers: Mapping[str, Any]) -> List[Item]:
    """Every question on the path a patient could name, answered or not."""
    return [i for i in flow.required_items(answers) if i.id not in NOT_CHANGEABLE]


def label(item: Item, language: str) -> str:
    return translate(language, item.short or item.text)


def _is_statement(item: Item) -> bool:
    """An agree/disagree item (a STarT Back statement): listed by its answer, not a line each."""
    return tuple(option.code for option in item.options) == tuple(STATEMENT_LINES)


def summary(flow: TriageFlow, answers: Mapping[str, Any], language: str) -> Message:
    """One message: the answers with "That's right" and "Change something". The red flags on a path
    that reaches the summary were all answered no: one line says so. The agree/disagree statements
    are two lines ("Agree: a; b" and "Disagree: c; d", where the first statement stood: semicolons,
    since a label may hold a comma), so the patient reads each answer word once rather than eight
    times; every other answer has a line."""
    lines = [translate(language, "summary.intro")]
    flags_listed = False
    statements: Dict[str, List[str]] = {code: [] for code in STATEMENT_LINES}
    statements_at: Optional[int] = None
    for item in changeable(flow, answers):
        if item.questionnaire == "red_flags":
            if not flags_listed:
                lines.append(translate(language, "summary.no_warning_signs"))
                flags_listed = True
            continue
        if _is_statement(item):
            statements_at = len(lines) if statements_at is None else statements_at
            statements[str(answers[item.id])].append(label(item, language))
            continue
        lines.append(translate(language, "summary.line", item=label(item, language),
                               answer=answer_label(item, answers[item.id], language)))
    if statements_at is not None:
        lines[statements_at:statements_at] = [
            translate(language, msgid, items="; ".join(labels))
            for code, msgid in STATEMENT_LINES.items() if (labels := statements[code])]
    return {"text": "\n".join(lines), "buttons": [
        {"title": translate(language, "summary.confirm"), "payload": answer_payload("yes")},
        {"title": translate(language, "summary.change"), "payload": change_payload()},
    ]}


def chooser(items: Sequence[Item], language: str) -> Message:
    """"Which answer would you like to change?" with a button per answer, by its short label."""
    return {"text": translate(language, "change.which"),
            "buttons": [{"title": label(i, language), "payload": change_payload(i.id)} for i in items]}


@dataclass(frozen=True)
class ChangeRequest:
    """What "change an answer" leads to: ``item`` to ask again, else ``offer`` buttons to choose
    from, else ``message`` (a msgid: not answered yet, nothing to change); none of them: the
    question being asked is asked again."""

    item: Optional[Item] = None
    offer: Sequence[Item] = ()
    message: Optional[str] = None


def resolve_change(flow: TriageFlow, answers: Mapping[str, Any], language: str,
                   chosen: Optional[str] = None, text: Optional[str] = None,
                   current: Optional[str] = None) -> ChangeRequest:
    """Which answer the patient wants to change: a tapped item, or the question their words name
    ("the sleep question"); if several answers fit, or none is named, they choose from buttons.
    Naming ``current``, the question being asked, changes nothing: it is simply asked again."""
    answered = changeable(flow, answers)
    if not answered:
        return ChangeRequest(message=NOTHING_TO_CHANGE)
    by_id = {i.id: i for i in answered}
    if chosen is not None:
        return ChangeRequest(item=by_id[chosen]) if chosen in by_id else ChangeRequest(offer=answered)
    named = items_named(text or "", language, [i.id for i in askable(flow, answers)]) if text else []
    named_answered = [by_id[i] for i in named if i in by_id]
    if len(named_answered) == 1:
        return ChangeRequest(item=named_answered[0])
    if named_answered:
        return ChangeRequest(offer=named_answered)
    if current in named:
        return ChangeRequest()
    if named:  # a question still to come: it will be asked
        return ChangeRequest(message=NOT_ASKED_YET)
    return ChangeRequest(offer=answered)


def dropped_message(items: Sequence[Item], language: str) -> Message:
    """Tells the patient which answers a change of path removed (by their short labels)."""
    return {"text": translate(language, "change.dropped", items=", ".join(label(i, language) for i in items))}
