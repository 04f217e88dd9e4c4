"""Reading agreement in natural forms ("that's true", "I guess so", "not really", "sort of") in the
twelve languages, for agree/disagree statements and as a check on yes/no answers.

Negation must never turn into agreement, so the rules are deliberately one-sided:

- a word of agreement right after a negation ("not true", "don't agree") disagrees; a word of
  disagreement after a negation ("not wrong", "don't disagree") is asked again;
- agreement with a negation anywhere else in the answer ("yes, I can't walk far") is asked again:
  the negation may belong to the statement, and only the patient can say; so is a negation with
  more words after it ("no, I can't walk far", "no puedo caminar", "w ogóle nie mogę chodzić":
  where "no" is also "not", the words after it are the statement, negated);
- an echo of the statement ("I do", "it doesn't", "det har jeg ikke") answers only on its own:
  "I don't walk far" is asked again;
- agreement and disagreement together, or "I don't know", are asked again;
- a hedge ("sort of", "somewhat", "maybe", "sometimes") gets a short question with the two options,
  unless a negation comes with it ("maybe not"): that is asked again;
- how often, for statements about the last two weeks: "every day" or "most days" agrees, "now and
  then" is a hedge (bot/i18n/frequencies.py); "never" is listed as disagreement.

Words are in ``stances:`` and ``negation:`` of bot/i18n/words/<lang>.yml.
"""
from __future__ import annotations

from functools import lru_cache
from typing import FrozenSet, List, Optional

from bot.i18n.frequencies import read_frequency
from bot.i18n.reading import Lexicon, Reading, phrases, prepare, raw_words

AGREE, DISAGREE, HEDGE, ASK = "agree", "disagree", "hedge", "ask"
# Asked again because a negation belongs to a statement ("no, I can't feel it"): for a yes/no
# question too, the "no" in it is not the answer.
NEGATED = "negated"
# Times a week from which "how often" is agreement ("most days" and more).
AGREEING_RATE = 4.0
_NEGATION_WINDOW = 2


@lru_cache(maxsize=None)
def _lexicon(language: str) -> Lexicon:
    raw = raw_words(language)
    spec = dict(raw["stances"])  # type: ignore[arg-type]
    return Lexicon(language, {"AGREE": phrases(spec, "agree"), "DISAGREE": phrases(spec, "disagree"),
                              "ECHO_AGREE": phrases(spec, "agree_echo"),
                              "ECHO_DISAGREE": phrases(spec, "disagree_echo"),
                              "HEDGE": phrases(spec, "hedge"), "UNSURE": [str(w) for w in raw["unsure"]],  # type: ignore[union-attr]
                              "NEG": [str(w) for w in raw["negation"]]})  # type: ignore[union-attr]


@lru_cache(maxsize=None)
def _negations(language: str) -> FrozenSet[str]:
    """The language's single-word negations ("not", "nicht", and "no" where it also means not)."""
    return frozenset(prepare(str(w)) for w in raw_words(language)["negation"]  # type: ignore[union-attr]
                     if len(prepare(str(w)).split()) == 1)


@lru_cache(maxsize=None)
def _negative_words(language: str) -> FrozenSet[str]:
    """Single words that negate or refuse ("not", "nie", "ikke", "no"), wherever they stand."""
    raw = raw_words(language)
    listed = [*(str(w) for w in raw["negation"]), *(str(w) for w in raw["no"]),  # type: ignore[union-attr]
              *phrases(dict(raw["stances"]), "disagree"), *phrases(dict(raw["stances"]), "disagree_echo")]  # type: ignore[arg-type]
    return frozenset(prepare(w) for w in listed if len(prepare(w).split()) == 1)


@lru_cache(maxsize=None)
def _contrasts(language: str) -> FrozenSet[str]:
    return frozenset(prepare(str(w)) for w in raw_words(language).get("contrast", []))  # type: ignore[union-attr]


def has_contrast(text: str, language: str) -> bool:
    """Whether the text sets one thing against another ("yes, but only once", "tive cancer, mas o
    peso está estável"): a yes or no said with a "but" is not read as either."""
    padded = f" {' '.join(prepare(text).replace(',', ' ').split())} "
    return any(f" {word} " in padded for word in _contrasts(language))


def has_negative_word(text: str, language: str) -> bool:
    """Whether any word of the text negates or refuses, even inside a longer phrase ("ikke helt
    sikkert", "nie może być"): a "yes" read from such a text is asked again."""
    return not _negative_words(language).isdisjoint(prepare(text).replace(",", " ").split())


def stance(text: str, language: str) -> Optional[str]:
    """``agree``, ``disagree``, ``hedge``, ``ask`` (something was said that cannot be read
    safely) or ``negated`` (asked again: a negated statement, not an answer); None when the text
    says nothing of agreement."""
    symbols = _lexicon(language).symbols(text, punctuation=True)
    labels = [label for label, _ in symbols]
    if "UNSURE" in labels:
        return ASK
    negations = _negations(language)
    for index, (label, phrase) in enumerate(symbols):
        # "no puedo", "nie mogę", "not really able to": a negating answer word with the statement
        # right after it negates the statement, it does not answer it.
        if label in ("AGREE", "DISAGREE") and index + 1 < len(symbols) and labels[index + 1] == "WORD" \
                and not negations.isdisjoint(phrase.split()):
            labels[index] = "NEG"
    content = "WORD" in labels
    if content and any(label.startswith("ECHO_") for label in labels):
        return NEGATED if "ECHO_DISAGREE" in labels else ASK  # "I do walk a lot", "I don't walk far": the echo belongs to a statement
    agree = disagree = 0
    free_negation = negated_statement = False
    for index, label in enumerate(labels):
        after_negation = "NEG" in labels[max(0, index - _NEGATION_WINDOW):index]
        if label in ("AGREE", "ECHO_AGREE"):
            if after_negation:
                disagree += 1
            else:
                agree += 1
        elif label in ("DISAGREE", "ECHO_DISAGREE"):
            if after_negation:
                return ASK  # "not wrong", "I don't disagree": a double negation is not read
            disagree += 1
        elif label == "NEG" and not any(other in ("AGREE", "DISAGREE", "ECHO_AGREE", "ECHO_DISAGREE")
                                        for other in labels[index + 1:index + 1 + _NEGATION_WINDOW]):
            free_negation = True
            negated_statement = negated_statement or "WORD" in labels[index + 1:]
    if negated_statement:
        return NEGATED  # "no, I can't walk far": the negation belongs to a statement ("rather not" is none)
    if "HEDGE" in labels:  # "maybe not": the negation leaves nothing to offer, asked again
        return ASK if free_negation else HEDGE
    if agree and disagree:
        return ASK
    if agree:
        return ASK if free_negation else AGREE
    if disagree:
        return DISAGREE
    frequency = read_frequency(text, language)
    if frequency is not None and frequency.rate is not None and frequency.rate.high > 0:
        if free_negation:
            return ASK
        return AGREE if frequency.rate.low >= AGREEING_RATE else HEDGE
    return ASK if free_negation else None


def stance_codes(text: str, agree_code: str, disagree_code: str, codes: List[str], language: str) -> Reading:
    """The agree/disagree options the text may mean, in option order (see :data:`Reading`)."""
    found = stance(text, language)
    if found is None:
        return None
    if found == AGREE:
        return [agree_code]
    if found == DISAGREE:
        return [disagree_code]
    if found == HEDGE:
        return [code for code in codes if code in (agree_code, disagree_code)]
    return []
