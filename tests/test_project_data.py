"""The data files, the domain and the catalogs agree with each other and with the scoring rules."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from bot.paths import LOCALE_DIR, PROJECT_ROOT, QUESTIONNAIRE_DIR
from bot.questionnaires.loader import load_questionnaire, load_triage
from bot.scoring import start_back
from bot.triage.replies import buttons_for

ITEMS = load_triage()
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
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
    for name in ("intake", "red_flags", "start_back"):
        assert load_questionnaire(QUESTIONNAIRE_DIR / f"{name}.yml").validated_wording is False


def test_every_item_is_a_slot_with_a_form_mapping_and_an_asking_action() -> None:
    slots = DOMAIN["slots"]
    for item in ITEMS:
        mapping = slots[item.id]["mappings"][0]
        assert mapping["type"] == "from_text"
        assert mapping["conditions"] == [{"active_loop": "triage_form", "requested_slot": item.id}]
        assert f"action_ask_{item.id}" in DOMAIN["actions"]
    assert DOMAIN["forms"]["triage_form"]["required_slots"] == [i.id for i in ITEMS]


def test_contract_slots_exist() -> None:
    for slot in ("risk_tool", "risk_score", "risk_group", "red_flag", "language", "reference_code"):
        assert slot in DOMAIN["slots"]


def msgids_used() -> set[str]:
    """Every msgid the data files and the code refer to (keys built at run time listed by hand)."""
    used: set[str] = set()
    for item in ITEMS:
        used |= {item.text, item.why, *item.intro, *(o.label for o in item.options)}
    for path in [*(PROJECT_ROOT / "bot").rglob("*.py"), *(PROJECT_ROOT / "actions").rglob("*.py")]:
        used |= set(re.findall(r"""translate\((?:[^,()]|\([^()]*\))+,\s*["']([a-z_.0-9]+)["']""", path.read_text()))
    used |= {f"{prefix}.{group}" for prefix in ("result", "next_steps") for group in ("low", "medium", "high")}
    return used


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_consistent(language: str) -> None:
    english = {m.id: m.string for m in catalog("en") if m.id}
    messages = {m.id: m for m in catalog(language) if m.id}
    assert set(messages) == set(english), "same msgids as English"
    for msgid, message in messages.items():
        assert message.string.strip(), f"{msgid} is empty"
        assert not message.fuzzy, f"{msgid} is fuzzy"
        placeholders = set(re.findall(r"{(\w+)}", message.string))
        assert placeholders == set(re.findall(r"{(\w+)}", english[msgid])), msgid
        assert len(message.string) <= 4096, f"{msgid} is longer than a Telegram message"


def test_english_catalog_has_every_msgid_in_use() -> None:
    english = {m.id for m in catalog("en") if m.id}
    missing = msgids_used() - english
    assert not missing


@pytest.mark.parametrize("language", LANGUAGES)
def test_buttons_fit_a_phone_and_telegram_callback_data(language: str) -> None:
    from bot.i18n.catalog import SUPPORTED_LANGUAGES

    if language not in SUPPORTED_LANGUAGES:
        pytest.fail(f"{language} has a catalog but is not in SUPPORTED_LANGUAGES")
    for item in ITEMS:
        for button in buttons_for(item, language):
            assert len(button["title"]) <= 24, (item.id, button["title"])
            assert len(button["payload"].encode("utf-8")) <= 64, (item.id, button["payload"])


def test_english_catalog_has_no_unused_message() -> None:
    english = {m.id for m in catalog("en") if m.id}
    assert english - msgids_used() == set()
