"""Turns, characters and modelled patient time for a complete triage, by tapping and by typing.

    .venv/bin/python -m benchmarks.time_to_finish

Two low-risk low-back conversations run through the real Rasa server and action server (fresh
SQLite database, as the e2e tests): one taps a button for every question (after typing "hi"), one
types every answer as patients do (the script of tests/e2e/test_conversations.py's typed triage).
It prints the turns (messages the patient sends) against the questions on their path (goal: at
most four more turns than questions; the greeting and "That's right" at the summary of answers
are two of the four), the characters typed and read (the summary's apart), the time the servers
took, and a modelled patient time to the result (the result and care plan are counted apart):
reading silently at 238 words a minute, the average adult rate for non-fiction in Brysbaert's
meta-analysis of 190 studies (J Mem Lang 2019;109:104047), and again at 175 words a minute, the
slow end of the range most adults fall in (175-300), for patients who read slowly or in pain; a tap
2 seconds; typing on a phone at 3 characters a second plus 1 second to send (goal by tapping: under
3 minutes), split into reading, tapping and typing so what dominates shows. Words are counted as
runs of non-space characters; the progress line and every question's text count. Nothing is
asserted: the figures are recorded.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

from bot.questionnaires.flow import TriageFlow
from bot.store.migrate import upgrade
from bot.i18n.catalog import translate
from bot.triage.replies import answer_payload
from bot.triage.summary import SUMMARY_STEP
from tests.conftest import make_settings
from tests.e2e.servers import RunningStack, ensure_model

READ_WORDS_PER_MINUTE = 238.0  # Brysbaert 2019: average adult silent reading, English non-fiction
SLOW_WORDS_PER_MINUTE = 175.0  # the same review: the slow end of most adults' range
TAP_SECONDS = 2.0
TYPE_CHARS_PER_SECOND = 3.0
SEND_SECONDS = 1.0
LOW_BACK = {"consent": True, "research_consent": False, "pain_site": "low_back", "outlook_offer": False}
TAPS = {"consent": "yes", "pain_site": "low_back", "episode_duration": "1_to_3_months", "sbt_9": "slightly",
        "pain_now": "3", "outlook_offer": "no", SUMMARY_STEP: "yes"}
TYPED = ["hi", "yeah", "no", "my lower back", "no", "nope", "n", "not really", "no", "No.", "about two weeks",
         "disagree", "i don't agree", "nope", "no", "disagree", "no", "not really", "nah", "a little",
         "two out of ten", "no thanks", "that's right"]
SUMMARY_INTRO = translate("en", "summary.intro")


@dataclass
class Run:
    name: str
    turns: int = 0
    taps: int = 0
    typed_chars: int = 0
    read_chars: int = 0
    # The last reply is the result and the care plan: read after the triage is finished.
    result_chars: int = 0
    # The summary of answers before the result (part of read_chars).
    summary_chars: int = 0
    read_words: int = 0
    result_words: int = 0
    server_seconds: float = 0.0

    def reading_seconds(self, words_per_minute: float = READ_WORDS_PER_MINUTE) -> float:
        return (self.read_words - self.result_words) * 60.0 / words_per_minute

    @property
    def tapping_seconds(self) -> float:
        return self.taps * TAP_SECONDS

    @property
    def typing_seconds(self) -> float:
        return self.typed_chars / TYPE_CHARS_PER_SECOND + (self.turns - self.taps) * SEND_SECONDS

    def patient_seconds(self, words_per_minute: float = READ_WORDS_PER_MINUTE) -> float:
        """Time to the result: reading the questions, tapping or typing (not reading the result)."""
        return self.reading_seconds(words_per_minute) + self.tapping_seconds + self.typing_seconds


def words(text: str) -> int:
    return len(text.split())


def converse(stack: RunningStack, run: Run, sender: str, message: str, tapped: bool) -> List[Dict[str, Any]]:
    started = time.perf_counter()
    reply = stack.say(sender, message, {"language": "en"})
    run.server_seconds += time.perf_counter() - started
    run.turns += 1
    run.taps += int(tapped)
    run.typed_chars += 0 if tapped else len(message)
    run.result_chars = sum(len(m.get("text") or "") for m in reply)
    run.read_chars += run.result_chars
    run.result_words = sum(words(m.get("text") or "") for m in reply)
    run.read_words += run.result_words
    run.summary_chars += sum(len(m.get("text") or "") for m in reply if (m.get("text") or "").startswith(SUMMARY_INTRO))
    return reply


def by_tapping(stack: RunningStack) -> Run:
    run = Run("tapping")
    converse(stack, run, "bench-tap", "hi", tapped=False)
    while True:
        requested = stack.tracker("bench-tap")["slots"].get("requested_slot")
        if requested is None:
            return run
        code = TAPS.get(requested, "disagree" if requested.startswith("sbt_") else "no")
        converse(stack, run, "bench-tap", answer_payload(code), tapped=True)


def by_typing(stack: RunningStack) -> Run:
    run = Run("typing")
    for message in TYPED:
        converse(stack, run, "bench-type", message, tapped=False)
    return run


def main() -> None:
    questions = len(TriageFlow().required_items(LOW_BACK))
    data_dir = Path(tempfile.mkdtemp(prefix="bt-finish-"))
    config = make_settings(f"sqlite:///{data_dir / 'backtalk.db'}", data_dir)
    upgrade(config.database_url)
    stack = RunningStack(config=config, model=ensure_model()).start()
    try:
        runs = [by_tapping(stack), by_typing(stack)]
    finally:
        stack.stop()
    print(f"low-back triage, {questions} questions on the path, then the summary of answers "
          f"(goal: at most {questions + 4} turns)")
    print(f"characters typed and read (read: before the result; summary: its part; result: after), words read, "
          f"and minutes to the result reading at {READ_WORDS_PER_MINUTE:.0f} and at {SLOW_WORDS_PER_MINUTE:.0f} words a minute")
    print(f"{'':<9}{'turns':>7}{'taps':>6}{'typed':>7}{'read':>7}{'summary':>9}{'result':>8}{'words':>7}{'server s':>10}"
          f"{'read min':>10}{'tap min':>9}{'type min':>10}{'to result min':>15}{'slow reader min':>17}")
    for run in runs:
        print(f"{run.name:<9}{run.turns:>7}{run.taps:>6}{run.typed_chars:>7}{run.read_chars - run.result_chars:>7}"
              f"{run.summary_chars:>9}{run.result_chars:>8}{run.read_words - run.result_words:>7}"
              f"{run.server_seconds:>10.1f}{run.reading_seconds() / 60:>10.1f}{run.tapping_seconds / 60:>9.1f}"
              f"{run.typing_seconds / 60:>10.1f}{run.patient_seconds() / 60:>15.1f}"
              f"{run.patient_seconds(SLOW_WORDS_PER_MINUTE) / 60:>17.1f}")


if __name__ == "__main__":
    main()
