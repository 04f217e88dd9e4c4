"""What the conversation calls after a triage: the prediction, its graph and its text alternative.

Usage from a Rasa action (the action stays a thin adapter; DESIGN.md §2)::

    from bot.prediction.forecast import forecast
    from bot.prediction.graph import labels_from
    from bot.prediction.predict import PredictionUnavailable

    try:
        result = forecast(answers, extra, language=language,
                          labels=labels_from(lambda msgid: translate(language, msgid)))
    except PredictionUnavailable as error:
        ...  # tell the patient translate(language, error.msgid); log error.reason and error.items
    else:
        ...  # result.png (bytes), result.text (numbers for sentences),
             # translate(language, result.prediction.notice_msgid) when it is not None
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Optional

from bot.i18n.catalog import normalise_language
from bot.prediction.graph import GraphLabels, TextAlternative, render_png, text_alternative
from bot.prediction.predict import Prediction, predict
from bot.prediction.train import OutcomeModel


@dataclass(frozen=True)
class Forecast:
    """The prediction (with its ``illustrative`` flag), its graph as PNG bytes, and the numbers of
    its text alternative for sentences in the conversation's language."""

    prediction: Prediction
    png: bytes
    text: TextAlternative


def forecast(answers: Mapping[str, Any], extra: Optional[Mapping[str, Any]] = None, *, language: str,
             labels: GraphLabels, today: Optional[date] = None, model: Optional[OutcomeModel] = None) -> Forecast:
    """Predict from the triage ``answers`` plus the ``extra`` prediction items (together: the
    conversation's slots), and draw it in ``language``. Raises a PredictionUnavailable subclass
    (missing, invalid, inconsistent, not applicable, no model) instead of guessing."""
    language = normalise_language(language)
    today = today or date.today()
    prediction = predict({**answers, **(extra or {})}, model)
    return Forecast(prediction, render_png(prediction, labels, language, today),
                    text_alternative(prediction, language, today))
