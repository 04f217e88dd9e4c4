"""Everything a patient receives when the triage is complete, after the risk result: the outlook
(prediction graph and its words) when they asked for it, and the care plan (chat text and PDF).

Files are stored with the triage and linked through bot.web (``/files/<token>``, signed links that
expire: bot/web/files.py), so every channel
can deliver them: the widget shows the link and the image, Telegram uploads them. A failure here is
logged and told to the patient kindly; the risk result they already have stands.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.careplan.compose import CarePlan, Outlook, compose
from bot.careplan.render import to_html, to_text
from bot.careplan.stored import plan_to_json
from bot.config import Settings
from bot.i18n.catalog import mark, translate
from bot.prediction.forecast import forecast
from bot.prediction.graph import labels_from
from bot.prediction.predict import PredictionUnavailable
from bot.prediction.sentences import IMAGE_ALT, INTRO, outlook_lines, outlook_notes, outlook_tables
from bot.questionnaires.flow import TriageFlow
from bot.store.db import session_scope
from bot.store.repository import TriageRepository
from bot.triage.service import TriageOutcome
from bot.web.files import FileLinks

logger = logging.getLogger(__name__)
Message = Dict[str, Any]
# The outlook model is built on the STarT Back items of low back pain; for the neck path (STarT MSK)
# the published facts give no basis for one yet (docs/prediction.md, "Neck pain"), and the patient is
# told so instead of meeting silence.
NO_NECK_OUTLOOK = mark("prediction.neck_not_available")


def file_links(config: Settings) -> FileLinks:
    return FileLinks(config.pseudonym_key, config.public_url, config.file_link_days)


class ResultDelivery:
    def __init__(self, config: Settings, flow: TriageFlow) -> None:
        self.config = config
        self.flow = flow

    def _store(self, reference_code: str, kind: str, media_type: str, filename: str, content: Optional[bytes],
               plan: Optional[Tuple[CarePlan, str]] = None) -> str:
        """Keep a file with the triage; returns the file's link. With ``plan`` (the care plan and its
        chat text) the plan is kept too, and a file without content is the PDF, rendered from the
        stored plan when first opened (bot/triage/documents.py), not inside the patient's turn."""
        with session_scope(self.config.database_url) as db:
            repo = TriageRepository(db)
            triage = repo.by_reference_code(reference_code)
            if triage is None:
                raise LookupError(f"no triage with reference code {reference_code}")
            plan_json = None
            if plan is not None:
                care_plan, text = plan
                repo.save_care_plan(triage, care_plan.language, care_plan.option_ids, care_plan.resource_ids, text)
                plan_json = None if content is not None else plan_to_json(care_plan)
            token = repo.add_document(triage, kind, media_type, filename, content, plan_json)
        return file_links(self.config).url(token)

    def outlook(self, outcome: TriageOutcome, answers: Mapping[str, Any], language: str,
                today: date) -> Tuple[List[Message], Optional[Outlook]]:
        """The prediction when the patient asked for it; a reason instead of a guess otherwise; and
        for neck pain, where a back patient would have been offered it, why there is none."""
        if outcome.reference_code is None:
            return [], None

        def t(msgid: str, **values: Any) -> str:
            return translate(language, msgid, **values)

        if outcome.risk_tool == "start_msk":
            statement = t(NO_NECK_OUTLOOK)
            return [{"text": statement}], Outlook((statement,))
        if answers.get("outlook_offer") is not True:
            return [], None

        try:
            result = forecast(answers, language=language, labels=labels_from(t), today=today)
        except PredictionUnavailable as error:
            logger.info("no prediction (%s): %s %s", error.reason, error.detail, ",".join(error.items))
            reason = t(error.msgid)
            return [{"text": reason}], Outlook((reason,))
        url = self._store(outcome.reference_code, "outlook_png", "image/png",
                          f"outlook-{outcome.reference_code}.png", result.png)
        # The words are the image's text alternative (the widget's alt text; on Telegram, the message beside the photo).
        message = {"text": "\n".join(outlook_lines(result.text, t)), "image": url}
        return [message], Outlook((t(INTRO),), result.png, outlook_tables(result.text, t),
                                  outlook_notes(result.text, t), t(IMAGE_ALT))

    def care_plan(self, outcome: TriageOutcome, answers: Mapping[str, Any], language: str, today: date,
                  outlook: Optional[Outlook]) -> List[Message]:
        assert outcome.reference_code is not None
        plan = compose(outcome, answers, language, created=today, flow=self.flow, outlook=outlook,
                       public_url=self.config.public_url)
        text = to_text(plan)
        filename = f"care-plan-{outcome.reference_code}.pdf"
        url = self._store(outcome.reference_code, "care_plan_pdf", "application/pdf", filename, None,
                          plan=(plan, text))
        page = f"care-plan-{outcome.reference_code}.html"
        page_url = self._store(outcome.reference_code, "care_plan_html", "text/html", page,
                               to_html(plan).encode("utf-8"))
        # One chat message per section (as Rasa's REST channel would split them anyway), then the PDF
        # and the web page for phones.
        sections = [{"text": section} for section in text.split("\n\n")]
        return [*sections, {"text": translate(language, "careplan.pdf"), "custom": {"document": url, "title": filename}},
                {"text": translate(language, "careplan.html"), "custom": {"document": page_url, "title": page}}]

    def deliver(self, outcome: TriageOutcome, answers: Mapping[str, Any], language: str,
                today: Optional[date] = None) -> List[Message]:
        """Messages after the risk result (none for a red flag or a declined consent)."""
        if outcome.kind != "risk":
            return []
        today = today or date.today()
        messages: List[Message] = []
        outlook: Optional[Outlook] = None
        try:
            messages, outlook = self.outlook(outcome, answers, language, today)
        except Exception:  # a broken model file or graph must not cost the patient their care plan
            logger.exception("outlook failed")
            messages = [{"text": translate(language, "prediction.unavailable.no_model")}]
        try:
            messages += self.care_plan(outcome, answers, language, today, outlook)
        except Exception:
            logger.exception("care plan failed")
            messages.append({"text": translate(language, "careplan.unavailable")})
        return messages
