"""Pseudonyms for channel ids, one-way for every input.

Two ids per conversation, both keyed HMACs (BACKTALK_PSEUDONYM_KEY), never the raw id:

- the **Rasa sender** = HMAC("<channel>:<raw id>") (``channel_sender``): the conversation id Rasa and its
  tracker store see; the channel computes it from the raw id (a Telegram chat id, the widget's
  conversation id) on every message, so a conversation can be resumed;
- the **pseudonym** = HMAC(Rasa sender) (``pseudonymise``): the key of BackTalk's own tables (triages,
  follow-ups, the Telegram chat map), shown to clinicians and researchers. The triage keeps the Rasa
  sender beside it (``triage_sessions.rasa_sender``) so erasure, retention and research exports still
  find the conversation's Rasa events.

``pseudonymise`` hashes whatever it is given, pseudonyms included: whoever learns a pseudonym (a
clinician's screen, a research export) and posts it as a conversation id, to bot.web or straight to
Rasa's REST channel, lands in a conversation of its own, never in that patient's.
"""
from __future__ import annotations

import hashlib
import hmac

PREFIX = "p_"


def pseudonymise(raw_id: str, key: bytes) -> str:
    """The keyed one-way pseudonym of ``raw_id`` (stable: the same id and key give the same pseudonym)."""
    digest = hmac.new(key, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:40]


def channel_sender(channel: str, raw_id: object, key: bytes) -> str:
    """The conversation id Rasa sees for ``raw_id`` on ``channel`` ("web", "telegram")."""
    return pseudonymise(f"{channel}:{raw_id}", key)


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` has a pseudonym's shape (a format check for tests and validation, not a proof)."""
    return (
        value.startswith(PREFIX)
        and len(value) == len(PREFIX) + 40
        and all(c in "0123456789abcdef" for c in value[len(PREFIX):])
    )
