"""What the bot says, as channel-neutral messages (text plus buttons), always from the catalogs."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml
from babel.numbers import format_decimal

from bot.i18n.catalog import mark, normalise_language, translate
from bot.paths import DATA_DIR
from bot.questionnaires.model import Item
from bot.triage.service import TriageOutcome

Message = Dict[str, Any]
YES, NO = mark("option.yes"), mark("option.no")
# A 0-10 scale gets a button per number; wider ranges are typed.
MAX_NUMBER_BUTTONS = 10
# What each risk group means, and what may help (stratified care, Hill et al. Lancet 2011).
# Which scoring rules the estimate follows (our own wording; never presented as the validated tool).
DISCLAIMERS = {"start_back": mark("result.disclaimer"), "start_msk": mark("result.disclaimer_msk")}
RISK_MESSAGES = {
    "low": (mark("result.low"), mark("next_steps.low")),
    "medium": (mark("result.medium"), mark("next_steps.medium")),
    "high": (mark("result.high"), mark("next_steps.high")),
}


def answer_payload(code: str) -> str:
    """Button payload that bypasses NLU: Rasa parses ``/answer{"code": ...}`` without the model."""
    return "/answer" + json.dumps({"code": code}, separators=(",", ":"))


def tapped_value(item: Item, code: str) -> Any:
    """What a tapped button's code means for ``item`` (the inverse of ``buttons_for``'s payloads).

    Yes/no buttons carry the codes "yes"/"no": they are not words of the conversation's language
    (Polish "no" means "yeah"; Portuguese has neither), so they never go through word parsing."""
    if item.kind == "boolean":
        return {"yes": True, "no": False}.get(code, code)
    return code


def answer_label(item: Item, value: Any, language: str) -> str:
    """A canonical answer in the words its button shows (a button title, a care-plan line)."""
    if item.kind == "boolean":
        return translate(language, YES if value else NO)
    if item.kind == "integer":
        return format_decimal(int(value), locale=language)
    option = item.option(str(value))
    return translate(language, option.label) if option is not None else str(value)


def buttons_for(item: Item, language: str) -> List[Dict[str, str]]:
    if item.kind == "boolean":
        coded: List[Tuple[str, Any]] = [("yes", True), ("no", False)]
    elif item.kind == "integer":
        assert item.minimum is not None and item.maximum is not None
        if item.maximum - item.minimum > MAX_NUMBER_BUTTONS:
            return []  # e.g. days off (0-28): typed, the hint gives the range
        coded = [(str(n), n) for n in range(item.minimum, item.maximum + 1)]
    else:
        coded = [(o.code, o.code) for o in item.options]
    return [{"title": answer_label(item, value, language), "payload": answer_payload(code)} for code, value in coded]


# Opens the twelve-language chooser (action_set_language with no language named).
OTHER_LANGUAGE_PAYLOAD = "/language"


def progress_line(number: int, total: int, language: str) -> str:
    """"Question 3 of 19", numbers formatted for the locale."""
    return translate(language, "progress.question", number=format_decimal(number, locale=language),
                     total=format_decimal(total, locale=language))


def question(
    item: Item,
    language: str,
    intros: Sequence[str] = (),
    language_button: bool = False,
    progress: Optional[Tuple[int, int]] = None,
) -> List[Message]:
    """Intro lines (msgids), then the question with its buttons. ``progress`` (k, n) is the first
    line of the question's own message (no extra message: chat channels show one bubble);
    ``language_button`` adds a button that opens the language chooser (on the first question,
    when the language may have been guessed from a greeting)."""
    messages: List[Message] = [{"text": translate(language, m)} for m in intros]
    buttons = buttons_for(item, language)
    if language_button:
        buttons.append({"title": translate(language, "language.other"), "payload": OTHER_LANGUAGE_PAYLOAD})
    text = translate(language, item.text)
    if progress is not None:
        text = f"{progress_line(*progress, language)}\n{text}"
    messages.append({"text": text, "buttons": buttons})
    return messages


def clarification(item: Item, codes: Sequence[str], language: str) -> Message:
    """A short question with only the options an answer may have meant, instead of the whole
    question again ("3 months": "1 to 3 months" or "3 to 6 months"?)."""
    return {"text": translate(language, "clarify.which"),
            "buttons": [{"title": answer_label(item, code, language), "payload": answer_payload(code)} for code in codes]}


def hint(item: Item, language: str) -> Message:
    if item.kind == "integer":
        minimum, maximum = (format_decimal(n, locale=language) for n in (item.minimum, item.maximum))
        return {"text": translate(language, "hint.integer", minimum=minimum, maximum=maximum)}
    if item.kind == "choice":
        labels = ", ".join(translate(language, o.label) for o in item.options)
        return {"text": translate(language, "hint.choice", options=labels)}
    return {"text": translate(language, "hint.boolean")}


def explanation(item: Item, language: str) -> Message:
    preface = translate(language, "why.preface")
    return {"text": f"{preface} {translate(language, item.why)}"}


@lru_cache(maxsize=None)
def _emergency_numbers() -> Dict[str, str]:
    return yaml.safe_load((DATA_DIR / "emergency_numbers.yml").read_text(encoding="utf-8"))


def emergency_number(language: str) -> str:
    numbers = _emergency_numbers()
    return numbers.get(normalise_language(language), numbers["en"])


def outcome_messages(outcome: TriageOutcome, language: str) -> List[Message]:
    if outcome.kind == "declined":
        return [{"text": translate(language, "consent.declined")}]
    if outcome.kind == "red_flag":
        return [
            {"text": translate(language, "red_flag.urgent", emergency_number=emergency_number(language))},
            {"text": translate(language, "red_flag.flagged", reference_code=outcome.reference_code)},
        ]
    meaning, next_steps = RISK_MESSAGES[str(outcome.risk_group)]
    return [
        {"text": translate(language, meaning)},
        {"text": translate(language, next_steps)},
        {"text": translate(language, DISCLAIMERS.get(str(outcome.risk_tool), DISCLAIMERS["start_back"]))},
        {"text": translate(language, "result.reference_code", reference_code=outcome.reference_code)},
    ]
