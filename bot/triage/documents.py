"""A stored file's bytes, rendering a care-plan PDF on its first request.

The patient's last turn stores the composed plan instead of the PDF (bot/careplan/stored.py says
why); whoever first asks for the file (the patient's link, Telegram's upload of it, a clinician)
pays the rendering once, in bot.web's worker threads, and the bytes are kept from then on. Two
first requests at once both render the same bytes; the later write changes nothing.
"""
from __future__ import annotations

import logging

from bot.careplan.render import to_pdf
from bot.careplan.stored import plan_from_json
from bot.store.models import Document

logger = logging.getLogger(__name__)


class DocumentUnavailable(RuntimeError):
    """The file could not be made (a broken font, an unreadable stored plan): the caller answers 503."""


def content_of(document: Document) -> bytes:
    """The document's bytes; in a session that commits, a freshly rendered PDF is kept."""
    if document.content is not None:
        return document.content
    if document.plan_json is None:
        raise DocumentUnavailable(f"document {document.kind} has neither content nor a plan")
    try:
        content = to_pdf(plan_from_json(document.plan_json))
    except Exception as error:
        logger.exception("rendering the care-plan PDF failed")
        raise DocumentUnavailable("the care-plan PDF could not be rendered") from error
    document.content = content
    document.plan_json = None
    return content
