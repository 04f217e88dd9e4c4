"""Which items a patient still has to answer, given the answers so far (skip and stop logic)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.questionnaires.loader import load_triage
from bot.questionnaires.model import Item


RISK_TOOLS = ("start_back", "start_msk")


class TriageFlow:
    """Skip logic of the triage: consent gates everything, pain site picks the red flags and the
    risk tool, a red flag ends the questionnaire at once (urgent advice follows), ``when``
    conditions skip items (the outlook questions, days off outside paid work), and derived items
    are filled from their source answer instead of being asked."""

    def __init__(self, items: Optional[Sequence[Item]] = None) -> None:
        self.items: Sequence[Item] = tuple(items) if items is not None else load_triage()
        self.by_id = {i.id: i for i in self.items}

    def item(self, item_id: str) -> Item:
        return self.by_id[item_id]

    def is_item(self, name: str) -> bool:
        return name in self.by_id

    def required_items(self, answers: Mapping[str, Any]) -> List[Item]:
        """The items this patient is asked, in order, up to the point where the flow stops."""
        required: List[Item] = []
        for item in self.items:
            if item.derived_from is not None:
                continue
            if not item.applies_to(answers.get("pain_site")) or not item.condition_met(answers):
                continue
            required.append(item)
            value = answers.get(item.id)
            if item.id == "consent" and value is False:
                break
            if item.questionnaire == "red_flags" and value is True:
                break
        return required

    def progress(self, item_id: str, answers: Mapping[str, Any]) -> Optional[Tuple[int, int]]:
        """"Question k of n" for ``item_id``: its place on this patient's path and the path's length.

        n follows the answers: until the pain site is known, the path of the first site option is
        counted; a "yes" to an optional section (the outlook) lengthens it, a red flag ends it."""
        assumed = dict(answers)
        site = self.by_id.get("pain_site")
        if site is not None and site.options and assumed.get("pain_site") is None:
            assumed["pain_site"] = site.options[0].code
        ids = [i.id for i in self.required_items(assumed)]
        return (ids.index(item_id) + 1, len(ids)) if item_id in ids else None

    def derived_values(self, answers: Mapping[str, Any]) -> Dict[str, Any]:
        """Values of the derived items on this patient's path, from their source answers."""
        return {
            item.id: item.derive(answers.get(item.derived_from))
            for item in self.items
            if item.derived_from is not None and item.applies_to(answers.get("pain_site"))
        }

    def derived_by(self, item_id: str, value: Any, answers: Mapping[str, Any]) -> Dict[str, Any]:
        """The derived items that answering ``item_id`` with ``value`` fills, on this patient's path."""
        with_answer = {**answers, item_id: value}
        return {derived: derived_value for derived, derived_value in self.derived_values(with_answer).items()
                if self.by_id[derived].derived_from == item_id and derived_value is not None}

    def with_derived(self, answers: Mapping[str, Any]) -> Dict[str, Any]:
        return {**answers, **self.derived_values(answers)}

    def answered_on_path(self, answers: Mapping[str, Any]) -> List[Item]:
        """The answered items on this patient's path, derived ones too, in questionnaire order; an
        answer left behind by "go back" onto another path (e.g. another pain site) is not."""
        answers = self.with_derived(answers)
        on_path = {i.id for i in self.required_items(answers)}
        site = answers.get("pain_site")
        return [i for i in self.items if answers.get(i.id) is not None
                and (i.id in on_path or (i.derived_from in on_path and i.applies_to(site)))]

    def off_path(self, answers: Mapping[str, Any]) -> List[Item]:
        """Answered items no longer on this patient's path, e.g. the STarT Back answers after the
        pain site changed from low back to neck, or the outlook's answers after its "yes" became
        "no". Changing an answer drops exactly these; every other answer stays."""
        on_path = {i.id for i in self.answered_on_path(answers)}
        return [i for i in self.items if answers.get(i.id) is not None and i.id not in on_path]

    def risk_tool(self, answers: Mapping[str, Any]) -> Optional[str]:
        """Which risk instrument this patient's path uses (the first one it reaches)."""
        return next((i.questionnaire for i in self.items if i.questionnaire in RISK_TOOLS
                     and i.applies_to(answers.get("pain_site"))), None)

    def red_flag(self, answers: Mapping[str, Any]) -> Optional[str]:
        """Id of the first red flag answered yes, if any."""
        for item in self.required_items(answers):
            if item.questionnaire == "red_flags" and answers.get(item.id) is True:
                return item.id
        return None

    def next_item(self, answers: Mapping[str, Any]) -> Optional[Item]:
        return next((i for i in self.required_items(answers) if answers.get(i.id) is None), None)

    def previous_item(self, current: str, answers: Mapping[str, Any]) -> Optional[Item]:
        """The item asked before ``current`` ("go back"), or None at the first question.

        Consent is not part of the chain: it is a gate, not an answer to revise; withdrawing it is
        what "stop" and erasure are for. Research consent neither: "withdraw from research" changes it."""
        ids = [i.id for i in self.required_items(answers) if i.id not in ("consent", "research_consent")]
        if current not in ids:
            return None
        index = ids.index(current)
        return self.by_id[ids[index - 1]] if index > 0 else None

    def intros(self, item_id: str, answers: Mapping[str, Any]) -> List[str]:
        """Lines shown before ``item_id``: its own intro, plus its instrument's intro when it is the
        first item of that instrument on this patient's path (the neck path skips the first red flag)."""
        item = self.by_id[item_id]
        first_of_section = next(
            (i.id for i in self.required_items(answers) if i.questionnaire == item.questionnaire), None
        )
        return [*item.intro, *(item.section_intro if first_of_section == item_id else ())]

    def asked_after(self, before: Optional[str], item_id: str, answers: Mapping[str, Any]) -> bool:
        """Whether asking ``item_id`` now moves forward (a fresh start, a resumption, or the next
        item after ``before``), as opposed to asking again or going back. Section intros are
        shown only when moving forward."""
        if before is None:
            return True
        ids = [i.id for i in self.required_items(answers)]
        return item_id in ids and before in ids and ids.index(item_id) == ids.index(before) + 1
