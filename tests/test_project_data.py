"""The data files, the domain and the catalogs agree with each other and with the scoring rules."""
from __future__ import annotations

import re

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.i18n.languages import language_buttons
from bot.paths import LOCALE_DIR, PROJECT_ROOT, QUESTIONNAIRE_DIR
from bot.questionnaires.loader import load_questionnaire, load_triage
from bot.scoring import start_back
from bot.triage.replies import buttons_for
from bot.triage.summary import SUMMARY_STEP

ITEMS = load_triage()
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
KEYWORDS = {"translate": (2,), "mark": None}  # as in `make extract`
LANGUAGES = sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / "backtalk.po").exists())


def catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALE_DIR / language / "LC_MESSAGES" / "backtalk.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_start_back_data_scores_match_the_published_rule() -> None:
    sbt = load_questionnaire(QUESTIONNAIRE_DIR / "start_back.yml")
    assert [i.id for i in sbt.items] == list(start_back.ITEMS)
    assert [i.id for i in sbt.items if i.subscale] == list(start_back.SUBSCALE_ITEMS)
    for item in sbt.items:
        for option in item.options:
            assert option.score == start_back.item_score(item.id, option.code), (item.id, option.code)
    assert [i.loinc for i in sbt.items] == [f"9134{n}-{c}" for n, c in zip(range(0, 9), "086429753")]


def test_our_wording_is_never_presented_as_validated() -> None:
    for name in ("intake", "red_flags", "start_back", "start_msk", "outlook"):
        assert load_questionnaire(QUESTIONNAIRE_DIR / f"{name}.yml").validated_wording is False


def test_every_item_is_a_slot_with_a_form_mapping_and_an_asking_action() -> None:
    slots = DOMAIN["slots"]
    for item in ITEMS:
        mapping = slots[item.id]["mappings"][0]
        assert mapping["type"] == "from_text"
        assert mapping["conditions"] == [{"active_loop": "triage_form", "requested_slot": item.id}]
        assert f"action_ask_{item.id}" in DOMAIN["actions"]
    # ... then the summary step (bot/triage/summary.py), a slot the form asks like an item.
    assert DOMAIN["forms"]["triage_form"]["required_slots"] == [i.id for i in ITEMS] + [SUMMARY_STEP]
    assert slots[SUMMARY_STEP]["mappings"][0]["conditions"] == [{"active_loop": "triage_form", "requested_slot": SUMMARY_STEP}]
    assert f"action_ask_{SUMMARY_STEP}" in DOMAIN["actions"]


def test_contract_slots_exist() -> None:
    for slot in ("risk_tool", "risk_score", "risk_group", "red_flag", "language", "reference_code"):
        assert slot in DOMAIN["slots"]


def extracted_msgids() -> set[str]:
    """What pybabel extracts from the code and the questionnaire data right now (babel.cfg)."""
    with (PROJECT_ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    found = extract_from_dir(str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS)
    return {message for _file, _line, message, _comments, _context in found}


def test_the_template_is_extracted_from_the_current_code_and_data() -> None:
    with (LOCALE_DIR / "backtalk.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == extracted_msgids(), "run: make extract"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_consistent(language: str) -> None:
    english = {m.id: m.string for m in catalog("en") if m.id}
    messages = {m.id: m for m in catalog(language) if m.id}
    assert set(messages) == extracted_msgids(), "every extracted msgid, and no other"
    for msgid, message in messages.items():
        assert message.string.strip(), f"{msgid} is empty"
        assert not message.fuzzy, f"{msgid} is fuzzy"
        placeholders = set(re.findall(r"{(\w+)}", message.string))
        assert placeholders == set(re.findall(r"{(\w+)}", english[msgid])), msgid
        assert len(message.string) <= 4096, f"{msgid} is longer than a Telegram message"


@pytest.mark.parametrize("language", LANGUAGES)
def test_buttons_fit_a_phone_and_telegram_callback_data(language: str) -> None:
    for item in ITEMS:
        for button in buttons_for(item, language):
            assert len(button["title"]) <= 24, (item.id, button["title"])
            assert len(button["payload"].encode("utf-8")) <= 64, (item.id, button["payload"])



def test_every_supported_language_has_a_catalog_words_and_nlu_data() -> None:
    assert sorted(SUPPORTED_LANGUAGES) == LANGUAGES
    assert len(SUPPORTED_LANGUAGES) == 12
    for language in SUPPORTED_LANGUAGES:
        assert (PROJECT_ROOT / "bot" / "i18n" / "words" / f"{language}.yml").exists()
        assert (PROJECT_ROOT / "data" / "nlu" / f"{language}.yml").exists()


def test_language_buttons_fit_telegram() -> None:
    for button in language_buttons():
        assert len(button["payload"].encode("utf-8")) <= 64 and len(button["title"]) <= 24
