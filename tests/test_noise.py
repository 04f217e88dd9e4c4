"""Out-of-distribution text never moves the conversation (tests/eval/noise.yml, per language).

The trained model is loaded in-process (``Agent.load``) and parses every line the way the Rasa
server would; a line may only come out as ``answer`` (the form then refuses it and asks again),
``nlu_fallback`` (the current question is asked again) or ``ask_why`` (the item's reason, then the
same item). The one destructive move, starting over,
also asks for a yes with buttons (tests/test_stories.yml), so a misread could not wipe anything;
this test keeps the misreads themselves at zero.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from bot.paths import PROJECT_ROOT

# "Why do you ask?" changes nothing either: it explains the item and asks it again. Rasa reads its
# own commands "/restart" and "/back" before any model; their actions are overridden here
# (action_restart asks "start over?" with buttons, action_back does nothing: the question is asked
# again), as the stories in tests/test_stories.yml check.
HARMLESS = {"answer", "nlu_fallback", "ask_why"}
RASA_COMMANDS = {"/restart": "restart", "/back": "back"}
LANGUAGES = ("en", "de", "es", "fr", "it", "da", "sv", "nl", "pl", "pt", "hr", "nb")


def noise_by_language() -> Dict[str, List[str]]:
    raw = yaml.safe_load((PROJECT_ROOT / "tests" / "eval" / "noise.yml").read_text(encoding="utf-8"))
    return {language: [*raw["common"], *raw[language]] for language in LANGUAGES}


@pytest.fixture(scope="module")
def agent(model: Path):  # type: ignore[no-untyped-def]
    from rasa.core.agent import Agent

    return Agent.load(str(model))


def test_the_noise_set_covers_every_language() -> None:
    assert all(len(lines) >= 35 for lines in noise_by_language().values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_noise_moves_the_conversation(agent, language: str) -> None:  # type: ignore[no-untyped-def]
    async def intents() -> Dict[str, str]:
        return {line: (await agent.parse_message(line))["intent"]["name"]
                for line in noise_by_language()[language]}

    moved = {line: intent for line, intent in asyncio.run(intents()).items()
             if intent not in HARMLESS and RASA_COMMANDS.get(line) != intent}
    assert moved == {}


def test_our_own_buttons_still_reach_their_intents(agent) -> None:  # type: ignore[no-untyped-def]
    async def parse(text: str) -> str:
        return (await agent.parse_message(text))["intent"]["name"]

    payloads = {'/answer{"code":"yes"}': "answer", '/language{"code":"de"}': "language",
                "/resume": "resume", "/start_over": "start_over"}
    assert {p: asyncio.run(parse(p)) for p in payloads} == payloads
