"""Text unlike anything in training never moves the conversation.

The intent classifier (word and character n-grams, logistic regression) is confident about text it
has never seen: typed mid-questionnaire, ``/inform{"risk_group": "low"}`` came out as
``start_over`` at 0.88, a Python traceback as ``go_back`` at 0.98, Norwegian small talk about the
weather as ``stop`` at 1.0. The FallbackClassifier's threshold cannot fix confident mistakes, so
this component, placed after it, checks each prediction of an intent that moves the conversation
(anything but ``answer``) against the training examples themselves, and turns it into
``nlu_fallback`` (the current question is asked again) when:

- the text starts with "/" (our own buttons' payloads, ``/answer{...}``, ``/language{...}``,
  ``/resume``, ``/start_over``, are read by Rasa's RegexMessageHandler, which runs after this
  component and overrides it; anything else with a slash is noise), or
- it is longer than that intent's longest training example by more than ``max_extra_words``
  (interruptions are short: "go back", "start over", "auf Deutsch bitte"), or
- fewer than ``min_known_share`` of its words occur in that intent's training examples.

Answers are left alone: the form parses them word by word and asks again when it cannot read them.
Measured on tests/eval/noise.yml (tests/test_noise.py).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Dict, List, Optional, Set, Text

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.i18n.answers import normalise

logger = logging.getLogger(__name__)

NOISE_INTENT = "nlu_fallback"


def words(text: str) -> List[str]:
    return normalise(text).split()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnfamiliarTextIsNoise(GraphComponent):
    """Keeps a predicted interruption only when the text looks like that intent's examples."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"free_intents": ["answer", NOISE_INTENT], "min_known_share": 0.6, "max_extra_words": 2}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[Dict[str, List[str]]] = None,
        longest: Optional[Dict[str, int]] = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary: Dict[str, Set[str]] = {k: set(v) for k, v in (vocabulary or {}).items()}
        self.longest: Dict[str, int] = dict(longest or {})

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UnfamiliarTextIsNoise":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary: Dict[str, Set[str]] = defaultdict(set)
        longest: Dict[str, int] = defaultdict(int)
        for example in training_data.intent_examples:
            intent, tokens = example.get(INTENT), words(str(example.get(TEXT) or ""))
            vocabulary[intent].update(tokens)
            longest[intent] = max(longest[intent], len(tokens))
        self.vocabulary, self.longest = dict(vocabulary), dict(longest)
        with self._model_storage.write_to(self._resource) as directory:
            rasa.shared.utils.io.dump_obj_as_json_to_file(
                directory / "vocabulary.json",
                {"vocabulary": {k: sorted(v) for k, v in self.vocabulary.items()}, "longest": self.longest},
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "UnfamiliarTextIsNoise":
        with model_storage.read_from(resource) as directory:
            stored = rasa.shared.utils.io.read_json_file(directory / "vocabulary.json")
        return cls(config, model_storage, resource, stored["vocabulary"], stored["longest"])

    def familiar(self, intent: str, text: str) -> bool:
        """Whether ``text`` could be one of ``intent``'s examples in other words."""
        if text.lstrip().startswith("/"):
            return False
        tokens = words(text)
        if not tokens or len(tokens) > self.longest.get(intent, 0) + int(self.config["max_extra_words"]):
            return False
        known = self.vocabulary.get(intent, set())
        return sum(t in known for t in tokens) / len(tokens) >= float(self.config["min_known_share"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            text = str(message.get(TEXT) or "")
            if intent is None or intent in self.config["free_intents"] or self.familiar(intent, text):
                continue
            logger.debug("%r read as %s is unlike its training examples: nlu_fallback", text, intent)
            fallback = {INTENT_NAME_KEY: NOISE_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fallback, *(message.get(INTENT_RANKING_KEY) or [])],
                        add_to_output=True)
        return messages
