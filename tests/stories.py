"""Writes tests/test_stories.yml: whole conversations for `rasa test`, built by walking the real
triage flow (bot.questionnaires.flow), so the stories follow the data files when items change.

    python -m tests.stories > tests/test_stories.yml

tests/test_rasa.py fails when the committed file differs from what this module writes.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from bot.i18n.languages import named_language
from bot.questionnaires.flow import TriageFlow
from bot.triage.summary import SUMMARY_STEP, has_summary

FLOW = TriageFlow()
BACK_FLAGS = [i.id for i in FLOW.required_items({"consent": True, "research_consent": True, "pain_site": "low_back"}) if i.id.startswith("rf_")]
NECK_ONLY_FLAGS = [
    i.id for i in FLOW.required_items({"consent": True, "research_consent": True, "pain_site": "neck"})
    if i.id.startswith("rf_") and i.id not in BACK_FLAGS
]


def _scalar(value: Any) -> str:
    return json.dumps(value)


class Story:
    """One test conversation; every answer advances the flow the way the form would."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: List[str] = [f"- story: {_scalar(name)}", "  steps:"]
        self.answers: Dict[str, Any] = {}
        self.requested: Optional[str] = None

    def _user(self, text: Optional[str], intent: str, entities: Optional[Dict[str, str]] = None) -> None:
        if text is not None:
            self.lines.append(f"  - user: {_scalar(text)}")
            self.lines.append(f"    intent: {intent}")
        else:
            self.lines.append(f"  - intent: {intent}")
        if entities:
            self.lines.append("    entities:")
            self.lines += [f"    - {k}: {_scalar(v)}" for k, v in entities.items()]

    def _action(self, name: str) -> None:
        self.lines.append(f"  - action: {name}")

    def _slots(self, **slots: Any) -> None:
        self.lines.append("  - slot_was_set:")
        self.lines += [f"    - {k}: {'null' if v is None else _scalar(v)}" for k, v in slots.items()]

    def _request_next(self) -> None:
        """The next open item; after the last one, the summary step (not after a red flag)."""
        nxt = FLOW.next_item(self.answers)
        self.requested = nxt.id if nxt else (SUMMARY_STEP if has_summary(FLOW, self.answers) else None)
        self._slots(requested_slot=self.requested)

    def start(self, text: str = "hi", intent: str = "answer") -> "Story":
        self._user(text, intent)
        self._action("triage_form")
        self.lines.append("  - active_loop: triage_form")
        self._request_next()
        return self

    def answer(self, text: Optional[str], intent: str, value: Any, button: bool = False) -> "Story":
        """A reply to the item being asked; ``value`` None means the bot could not use it."""
        assert self.requested is not None, "no item is being asked"
        if button:
            self._user(None, "answer", {"code": str(value).lower() if isinstance(value, bool) else str(value)})
        else:
            self._user(text, intent)
        self._action("triage_form")
        dropped: Dict[str, Any] = {}
        if value is not None:
            self.answers[self.requested] = value
            # A changed answer that moves the patient onto another path drops the answers off it.
            dropped = {item.id: None for item in FLOW.off_path(self.answers)}
            self.answers = {k: v for k, v in self.answers.items() if k not in dropped}
        self._slots(**{self.requested: value}, **dropped)
        self._request_next()
        if self.requested is None:
            self.lines.append("  - active_loop: null")
        return self

    def answers_in_turn(self, values: Dict[str, Any], button: bool = False) -> "Story":
        for item_id, value in values.items():
            assert self.requested == item_id, (self.requested, item_id)
            text = {True: "yes", False: "no"}.get(value, str(value).replace("_", " "))
            self.answer(text, "answer", value, button=button)
        return self

    def confirm(self, text: Optional[str] = None) -> "Story":
        """At the summary: "That's right" (tapped, or ``text`` typed) ends the form."""
        assert self.requested == SUMMARY_STEP, self.requested
        if text is None:
            self._user(None, "answer", {"code": "yes"})
        else:
            self._user(text, "answer")
        self._action("triage_form")
        self._slots(**{SUMMARY_STEP: True})
        self.requested = None
        self._slots(requested_slot=None)
        self.lines.append("  - active_loop: null")
        return self

    def change(self, text: Optional[str], item_id: Optional[str] = None, tapped: Optional[str] = None) -> "Story":
        """"Change my answer about …" typed, or the summary's "Change something" (``text`` None),
        or a tapped answer from the buttons it offers (``tapped``): the named item is cleared and
        asked; otherwise the buttons are shown and the same step stays open."""
        if tapped is not None:
            self._user(None, "change_answer", {"code": tapped})
        elif text is None:
            self._user(None, "change_answer")
        else:
            self._user(text, "change_answer")
        self._action("action_change_answer")
        target = tapped or item_id
        if target is not None:
            self._slots(**{target: None}, requested_slot=target)
            self.answers.pop(target, None)
            self.requested = target
        self._action("triage_form")
        self._slots(requested_slot=self.requested)
        return self

    def result(self, **slots: Any) -> "Story":
        """The result; at the summary, "That's right" is tapped first."""
        if self.requested == SUMMARY_STEP:
            self.confirm()
        self._action("action_triage_result")
        self._slots(**slots)
        return self

    def interrupt(self, text: str, intent: str, action: str, **slots: Any) -> "Story":
        self._user(text, intent)
        self._action(action)
        if slots:
            self._slots(**slots)
        self._action("triage_form")
        if slots.get("requested_slot"):
            self.requested = slots["requested_slot"]
            self.answers.pop(self.requested, None)
        self._slots(requested_slot=self.requested)
        return self

    def switch_language(self, text: str) -> "Story":
        """Asking for another language: the same item again, every answer kept."""
        self._user(text, "language")
        self._action("action_set_language")
        self._slots(language=named_language(text))
        self._action("triage_form")
        self._slots(requested_slot=self.requested)
        return self

    def stop(self) -> "Story":
        self._user("stop", "stop")
        self._action("action_pause")
        self.lines.append("  - active_loop: null")
        self._slots(requested_slot=None, stage="paused")
        return self

    def resume(self, text: str = "hello") -> "Story":
        """Any message offers to carry on; tapping "Carry on" resumes at the first open item."""
        self._user(text, "answer")
        self._action("action_resume_or_offer")
        self._slots(stage="paused")
        self._user(None, "resume")
        self._action("action_resume")
        return self._back_into_the_form()

    def resume_with_yes(self, text: str = "yes") -> "Story":
        self._user(text, "answer")
        self._action("action_resume_or_offer")
        return self._back_into_the_form()

    def _back_into_the_form(self) -> "Story":
        """After resuming or starting over: stage new, the form active, the first open item asked."""
        self._slots(stage="new")
        self._action("triage_form")
        self.lines.append("  - active_loop: triage_form")
        self._request_next()
        return self

    def ask_to_start_over(self, text: Optional[str] = "start over", intent: str = "start_over") -> "Story":
        """"Start over" (or Rasa's /restart) only asks, with yes/no buttons: nothing is cleared yet."""
        self._user(text, intent)
        self._action("action_restart" if intent == "restart" else "action_confirm_start_over")
        self.lines.append("  - active_loop: null")
        self._slots(stage="confirming")
        return self

    def start_over(self, text: str = "start over") -> "Story":
        """Asking, then tapping "Yes, start over": the answers go, consent and research consent stay."""
        self.ask_to_start_over(text)
        self._user(None, "answer", {"code": "yes"})
        self._action("action_start_over")
        if self.answers.get("consent") is True:
            self.answers = {k: v for k, v in self.answers.items() if k in ("consent", "research_consent")}
        else:
            self.answers = {}
        return self._back_into_the_form()

    def keep_answers(self, text: str = "no", stage: str = "new") -> "Story":
        """Anything but a yes to "start over?": every answer kept, back where the patient was."""
        self._user(text, "answer")
        self._action("action_start_over")
        if stage == "new":
            return self._back_into_the_form()
        self._slots(stage=stage)
        return self

    def typed_back(self) -> "Story":
        """Rasa's built-in /back typed in the form: no undo, the current item is asked again."""
        assert self.requested is not None
        self._user(None, "back")
        self._action("action_back")
        self._action("triage_form")
        self._slots(**{self.requested: None})
        self._slots(requested_slot=self.requested)
        return self

    def after_end(self, text: str) -> "Story":
        self._user(text, "answer")
        self._action("action_after_end")
        return self

    def text(self) -> str:
        return "\n".join(self.lines)


def no_flags(site: str) -> Dict[str, bool]:
    return {i.id: False for i in FLOW.required_items({"consent": True, "research_consent": True, "pain_site": site}) if i.id.startswith("rf_")}


def sbt(agree: List[int], bother: str) -> Dict[str, str]:
    values: Dict[str, str] = {f"sbt_{n}": ("agree" if n in agree else "disagree") for n in range(1, 9)}
    values["sbt_9"] = bother
    return values


def msk(pain: int, yes: List[int]) -> Dict[str, Any]:
    """STarT MSK-style answers; msk_10 follows from the episode duration and is never asked."""
    values: Dict[str, Any] = {"msk_1": pain}
    values.update({f"msk_{n}": n in yes for n in range(2, 10)})
    return values


OUTLOOK_AT_WORK = {
    "outlook_offer": True, "age_band": "40_to_49", "sex": "female", "previous_episodes": "once_or_twice",
    **{f"fn_{n}": n in (1, 2) for n in range(1, 7)}, "recovery_expectation": "unsure", "work_status": "working",
}


def stories() -> List[Story]:
    result = [
        Story("low risk, typed answers")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back"})
        .answers_in_turn(no_flags("low_back")).answers_in_turn({"episode_duration": "under_1_month"})
        .answers_in_turn(sbt([1, 2], "slightly"))
        .answer("3", "answer", 3).answer("no thanks", "answer", False).result(stage="done"),
        Story("medium risk, every answer by button")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back"}, button=True)
        .answers_in_turn(no_flags("low_back"), button=True)
        .answers_in_turn({"episode_duration": "1_to_3_months"}, button=True)
        .answers_in_turn(sbt([1, 2, 3, 5], "moderately"), button=True)
        .answer(None, "answer", 6, button=True).answer(None, "answer", False, button=True).result(stage="done"),
        Story("high risk, with the outlook questions")
        .start("hello").answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back"})
        .answers_in_turn(no_flags("low_back")).answers_in_turn({"episode_duration": "3_to_6_months"})
        .answers_in_turn(sbt([5, 6, 7, 8], "extremely"))
        .answer("eight", "answer", 8).answers_in_turn(OUTLOOK_AT_WORK, button=True)
        .answer("3 days", "answer", 3).answer("not sure", "answer", "unsure").result(stage="done"),
        Story("outlook questions outside paid work skip the days off")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back"}, button=True)
        .answers_in_turn(no_flags("low_back"), button=True)
        .answers_in_turn({"episode_duration": "6_months_to_3_years"}, button=True)
        .answers_in_turn(sbt([1, 3], "slightly"), button=True).answer(None, "answer", 4, button=True)
        .answers_in_turn({**OUTLOOK_AT_WORK, "work_status": "not_in_paid_work"}, button=True)
        .result(stage="done"),
        Story("neck pain, low risk")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "neck"})
        .answers_in_turn(no_flags("neck")).answers_in_turn({"episode_duration": "under_1_month"})
        .answers_in_turn(msk(3, [])).answer("2", "answer", 2).result(stage="done"),
        Story("neck pain, medium risk, by button")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "neck"}, button=True)
        .answers_in_turn(no_flags("neck"), button=True)
        .answers_in_turn({"episode_duration": "1_to_3_months"}, button=True)
        .answers_in_turn(msk(6, [2, 4, 5, 6]), button=True)
        .answer(None, "answer", 5, button=True).result(stage="done"),
        Story("neck and low back pain, high risk")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "both"})
        .answers_in_turn(no_flags("both")).answers_in_turn({"episode_duration": "over_3_years"})
        .answers_in_turn(msk(9, [2, 3, 4, 5, 6, 7, 8, 9])).answer("9", "answer", 9)
        .result(stage="done"),
        Story("consent declined")
        .start().answer("no thanks", "answer", False).result(stage="declined")
        .after_end("hello"),
        Story("go back replaces the previous answer")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back", "rf_saddle_numbness": False})
        .interrupt("go back", "go_back", "action_go_back", rf_saddle_numbness=None, requested_slot="rf_saddle_numbness")
        .answers_in_turn({"rf_saddle_numbness": False}),
        Story("go back at the first question")
        .start().answers_in_turn({"consent": True, "research_consent": False})
        .interrupt("can i go back", "go_back", "action_go_back"),
        Story("why do you ask, then the same item")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "neck"})
        .interrupt("why do you ask?", "ask_why", "action_explain_item")
        .answers_in_turn({"rf_bladder_bowel": False}),
        Story("stop and resume where they left off")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back"})
        .answers_in_turn(no_flags("low_back")).answers_in_turn({"episode_duration": "3_to_6_months", "sbt_1": "agree"})
        .stop().resume().answers_in_turn({"sbt_2": "disagree"}),
        Story("stop, then a yes resumes at once")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "neck"})
        .stop().resume_with_yes().answers_in_turn({"rf_bladder_bowel": False}),
        Story("start over mid-questionnaire")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "neck"})
        .start_over().answers_in_turn({"pain_site": "low_back"}),
        Story("start over after the result")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back"})
        .answers_in_turn(no_flags("low_back")).answers_in_turn({"episode_duration": "under_1_month"})
        .answers_in_turn(sbt([], "not_at_all"))
        .answer("0", "answer", 0).answer("no", "answer", False).result(stage="done")
        .after_end("thank you").start_over("start again"),
        Story("start over asks first; no keeps every answer")
        .start().answers_in_turn({"consent": True, "research_consent": False, "pain_site": "low_back", "rf_saddle_numbness": False})
        .ask_to_start_over().keep_answers("no").answers_in_turn({"rf_bladder_bowel": False}),
        Story("after the result, start over asks first; no keeps the result")
        .start().answers_in_turn({"consent": True, "research_consent": False, "pain_site": "neck"}).answers_in_turn({"rf_bladder_bowel": True})
        .result(stage="done").ask_to_start_over("start again").keep_answers("no thanks", stage="done")
        .after_end("thanks"),
        Story("Rasa's /restart asks first too, and /back typed in the form changes nothing")
        .start().answers_in_turn({"consent": True, "research_consent": False, "pain_site": "low_back"})
        .ask_to_start_over(None, "restart").keep_answers("no").typed_back()
        .answers_in_turn({"rf_saddle_numbness": False}),
        Story("a duration on a border gets a short question with its bands, then a tap answers it")
        .start().answers_in_turn({"consent": True, "research_consent": False, "pain_site": "low_back"}).answers_in_turn(no_flags("low_back"))
        .answer("3 months", "answer", None).answers_in_turn({"episode_duration": "3_to_6_months"}, button=True),
        Story("text unlike anything in training is asked again")
        .start().answers_in_turn({"consent": True, "research_consent": False, "pain_site": "neck"})
        .answer('Traceback (most recent call last): File "x.py", line 1', "nlu_fallback", None)
        .answer("rm -rf / --no-preserve-root", "nlu_fallback", None)
        .answers_in_turn({"rf_bladder_bowel": False}),
        Story("unusable answers are asked again")
        .start().answers_in_turn({"consent": True, "research_consent": True})
        .answer("banana", "answer", None).answers_in_turn({"pain_site": "low_back"})
        .answers_in_turn(no_flags("low_back"))
        .answer("purple", "answer", None).answers_in_turn({"episode_duration": "over_3_years"}),
    ]
    low_back_to_the_summary = {"consent": True, "research_consent": False, "pain_site": "low_back",
                               **no_flags("low_back"), "episode_duration": "1_to_3_months",
                               **sbt([1, 2], "slightly"), "pain_now": 4, "outlook_offer": False}
    result += [
        Story("the summary, then a typed yes gives the result")
        .start().answers_in_turn(low_back_to_the_summary, button=True).confirm("yes").result(stage="done"),
        Story("change something at the summary: the buttons, one answer, the summary again")
        .start().answers_in_turn(low_back_to_the_summary, button=True)
        .change(None).change(None, tapped="sbt_3").answers_in_turn({"sbt_3": "agree"}, button=True)
        .result(stage="done"),
        Story("go back to the pain question from the summary, then the summary again")
        .start().answers_in_turn(low_back_to_the_summary, button=True)
        .change("go back to the pain question", "pain_now").answer("7", "answer", 7).result(stage="done"),
        Story("change an answer mid-questionnaire, then on to the next open question")
        .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": "low_back"}, button=True)
        .answers_in_turn(no_flags("low_back"), button=True)
        .answers_in_turn({"episode_duration": "3_to_6_months", "sbt_1": "agree", "sbt_2": "agree"}, button=True)
        .change("change my answer about sleep").change("i want to change my answer about my neck", "pain_site")
        .answers_in_turn({"pain_site": "low_back"}, button=True).answers_in_turn({"sbt_3": "disagree"}, button=True),
        Story("a new pain site at the summary drops the low back answers and asks the neck questions")
        .start().answers_in_turn(low_back_to_the_summary, button=True)
        .change(None).change(None, tapped="pain_site").answers_in_turn({"pain_site": "neck"}, button=True)
        .answers_in_turn({"rf_cord_compression": False, "rf_neck_vascular": False}, button=True)
        .answers_in_turn(msk(4, [2]), button=True).result(stage="done"),
    ]
    for flag in BACK_FLAGS + NECK_ONLY_FLAGS:
        site = "low_back" if flag in BACK_FLAGS else "neck"
        before = {}
        for item_id, value in no_flags(site).items():
            if item_id == flag:
                break
            before[item_id] = value
        result.append(
            Story(f"red flag {flag}")
            .start().answers_in_turn({"consent": True, "research_consent": True, "pain_site": site, **before})
            .answers_in_turn({flag: True}).result(stage="done")
        )
    return result


# How a patient in each language greets, says yes and no, and asks for another language.
SAMPLES = {
    "en": ("hello", "yes", "no", "auf Deutsch bitte"),
    "de": ("hallo", "ja", "nein", "in English please"),
    "es": ("hola", "sí", "no", "in English please"),
    "fr": ("bonjour", "oui", "non", "in English please"),
    "it": ("ciao", "sì", "no", "in English please"),
    "da": ("hej", "ja", "nej", "på svenska tack"),
    "sv": ("hej", "ja", "nej", "på norsk takk"),
    "nl": ("hoi", "ja", "nee", "auf Deutsch bitte"),
    "pl": ("cześć", "tak", "nie", "in English please"),
    "pt": ("olá", "sim", "não", "en español por favor"),
    "hr": ("bok", "da", "ne", "auf Deutsch bitte"),
    "nb": ("hei", "ja", "nei", "på dansk tak"),
}


def language_stories() -> List[Story]:
    """Per language: the happy path, a red flag, and a language switch mid-questionnaire."""
    result = []
    for language, (greet, yes, no, switch) in SAMPLES.items():
        happy = Story(f"{language}: happy path").start(greet).answer(yes, "answer", True).answer(yes, "answer", True)
        happy.answers_in_turn({"pain_site": "low_back"}, button=True)
        for item_id in no_flags("low_back"):
            happy.answer(no, "answer", False)
        happy.answers_in_turn({"episode_duration": "1_to_3_months"}, button=True)
        happy.answers_in_turn(sbt([1, 5], "moderately"), button=True).answer(None, "answer", 5, button=True)
        happy.answer(no, "answer", False)
        result.append(happy.result(stage="done"))
        flag = Story(f"{language}: red flag").start(greet).answer(yes, "answer", True).answer(no, "answer", False)
        flag.answers_in_turn({"pain_site": "neck"}, button=True).answer(yes, "answer", True)
        result.append(flag.result(stage="done"))
        switched = Story(f"{language}: language switch mid-questionnaire").start(greet)
        switched.answer(yes, "answer", True).answer(no, "answer", False).answers_in_turn({"pain_site": "low_back"}, button=True)
        switched.answer(no, "answer", False).switch_language(switch).answer(no, "answer", False)
        result.append(switched)
    return result


def followup_stories() -> List[Story]:
    """After the result: yes to check-ins, a check-in opened, answered and paused; "no more
    messages" with its confirmation (bot.followup; the check-in's progress is in the database)."""
    def finished(name: str) -> Story:
        story = Story(name).start("hi").answer("yes", "answer", True)
        story.answers_in_turn({"research_consent": True, "pain_site": "low_back"}, button=True)
        for _item_id in no_flags("low_back"):
            story.answer("no", "answer", False)
        story.answers_in_turn({"episode_duration": "1_to_3_months"}, button=True)
        story.answers_in_turn(sbt([], "slightly"), button=True).answer(None, "answer", 2, button=True)
        story.answer("no", "answer", False)
        return story.result(stage="done")

    checked = finished("follow-ups: yes, then a check-in answered and paused")
    checked._user(None, "followup_consent", {"code": "yes"})
    checked._action("action_followup_consent")
    checked._user(None, "followup")
    checked._action("action_followup_open")
    checked._slots(followup_id=1, stage="followup", language="en")
    checked._user("3", "answer")
    checked._action("action_followup_answer")
    checked._user(None, "answer", {"code": "false"})
    checked._action("action_followup_answer")
    checked._user("stop", "stop")
    checked._action("action_followup_pause")
    checked._slots(followup_id=None, stage="done")
    stopped = finished("follow-ups: no more messages, confirmed")
    stopped._user(None, "followup_consent", {"code": "yes"})
    stopped._action("action_followup_consent")
    stopped._user("no more messages", "stop_followups")
    stopped._action("action_stop_followups")
    stopped._user(None, "stop_followups", {"code": "yes"})
    stopped._action("action_stop_followups")
    finishing = finished("follow-ups: the last answer of a check-in")
    finishing._user(None, "followup")
    finishing._action("action_followup_open")
    finishing._slots(followup_id=1, stage="followup", language="en")
    finishing._user(None, "answer", {"code": "not_at_all"})
    finishing._action("action_followup_answer")
    finishing._slots(followup_id=None, stage="done")
    finishing._user("thanks", "answer")
    finishing._action("action_after_end")
    return [checked, stopped, finishing]


def render() -> str:
    header = [
        "# Generated by `python -m tests.stories` from the triage flow; do not edit by hand.",
        'version: "3.1"',
        "stories:",
    ]
    return "\n".join(header + [s.text() for s in [*stories(), *language_stories(), *followup_stories()]]) + "\n"


if __name__ == "__main__":
    print(render(), end="")
