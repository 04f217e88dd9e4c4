"""Care plans: option matching for every risk group x pain site x duration, the resources file,
the composed plan in every language (reviewed snapshots) and its PDF."""
from __future__ import annotations

import dataclasses
import io
import itertools
import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Dict, Set
from urllib.parse import urlsplit

import pytest
import yaml
from pypdf import PdfReader

from bot.careplan.compose import Entry, Outlook, compose
from bot.careplan.options import CarePlanDataError, load_options, matching_options
from bot.careplan.render import to_html, to_pdf, to_text
from bot.careplan.resources import RESOURCES_FILE, TOPICS, choose_resources, fallback_languages, load_resources
from bot.i18n.catalog import SUPPORTED_LANGUAGES, translate
from bot.prediction.schema import DURATIONS, PAIN_SITES, RISK_GROUPS
from bot.triage.service import TriageOutcome

SNAPSHOTS = Path(__file__).parent / "snapshots" / "careplan"
PERSISTENT = {"3_to_6_months", "6_months_to_3_years", "over_3_years"}
SIX_MONTHS_OR_MORE = {"6_months_to_3_years", "over_3_years"}
EVERYONE = {"reassurance", "advice_education", "self_management", "no_routine_imaging"}


def ids(site: str, duration: str, group: str, audience: str = "patient") -> Set[str]:
    return {o.id for o in matching_options(site, duration, group, audience)}  # type: ignore[arg-type]


@pytest.mark.parametrize("group, site, duration", list(itertools.product(RISK_GROUPS, PAIN_SITES, DURATIONS)))
def test_options_follow_the_stratified_care_model(group: str, site: str, duration: str) -> None:
    chosen = ids(site, duration, group)
    back, neck = site in ("low_back", "both"), site in ("neck", "both")
    assert EVERYONE <= chosen
    assert ("exercise_therapy" in chosen) == ("manual_therapy" in chosen) == (group != "low")
    assert ("psychological_care" in chosen) == (group == "high")
    assert ("multidisciplinary_rehabilitation" in chosen) == (group == "high" and duration in PERSISTENT)
    assert ("work_support" in chosen) == (back and group != "low")
    assert ("medication_back" in chosen) == (site == "low_back")
    assert ("medication_neck" in chosen) == ("topical_neck" in chosen) == neck
    assert ("avoid_passive" in chosen) == back
    assert "surgery_assessment" not in chosen  # never offered to the patient directly
    assert ids(site, duration, group, "clinician") == (
        {"surgery_assessment"} if back and group != "low" and duration in SIX_MONTHS_OR_MORE else set())


@pytest.mark.parametrize("site, duration", list(itertools.product(PAIN_SITES, DURATIONS)))
def test_a_higher_risk_group_never_loses_an_option(site: str, duration: str) -> None:
    assert ids(site, duration, "low") <= ids(site, duration, "medium") <= ids(site, duration, "high")


def test_every_option_cites_a_source_and_has_its_text_in_every_language() -> None:
    options = load_options()
    assert len(options) == 14
    for option in options:
        assert option.source.strip()
        for language in SUPPORTED_LANGUAGES:
            assert translate(language, option.name) and translate(language, option.about)


def test_a_malformed_options_file_is_refused_with_the_entry_named(tmp_path: Path) -> None:
    bad = tmp_path / "treatment_options.yml"
    bad.write_text(yaml.safe_dump({"options": [{"id": "x", "name": "a", "about": "b", "sites": ["knee"],
                                                 "durations": "any", "risk_groups": ["low"],
                                                 "audience": "patient", "source": "s"}]}))
    with pytest.raises(CarePlanDataError, match=r"x\.sites"):
        load_options(bad)


def test_every_resource_is_complete_with_a_well_formed_https_url() -> None:
    raw = yaml.safe_load(RESOURCES_FILE.read_text(encoding="utf-8"))["resources"]
    assert len({r["id"] for r in raw}) == len(raw)
    for entry in raw:
        parts = urlsplit(entry["url"])
        assert parts.scheme == "https" and re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", parts.netloc), entry["url"]
        assert entry["language"] in SUPPORTED_LANGUAGES
        assert re.fullmatch(r"[A-Z]{2}", entry["country"]), entry["id"]
        assert set(entry["topics"]) <= TOPICS and entry["topics"]
        assert entry["title"] and entry["publisher"]
        assert "checked" in entry


def test_every_language_has_two_resources_of_its_own_or_says_it_falls_back_to_english() -> None:
    resources = load_resources()
    for language in SUPPORTED_LANGUAGES:
        own = [r for r in resources if r.language == language]
        assert len(own) >= 2 or language in fallback_languages(), language
    assert len([r for r in resources if r.language == "en" and "neck" in r.topics]) >= 1


def test_resources_fall_back_to_english_with_a_note() -> None:
    polish = choose_resources("pl", "neck")
    assert polish.includes_english_fallback and polish.resources
    assert all(r.language == "en" for r in polish.resources)
    english = choose_resources("en", "neck")
    assert not english.includes_english_fallback
    assert "neck" in english.resources[0].topics  # the site's own pages come first


# A fixed patient: low back pain for 1-3 months, medium risk, no red flags.
ANSWERS: Dict[str, Any] = {
    "consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
    **{f"rf_{n}": False for n in ("saddle_numbness", "bladder_bowel", "leg_weakness", "trauma", "cancer", "fever")},
    **{f"sbt_{n}": ("agree" if n in (1, 2, 3, 5) else "disagree") for n in range(1, 9)},
    "sbt_9": "moderately", "pain_now": 6, "outlook_offer": False,
}
OUTCOME = TriageOutcome(kind="risk", reference_code="BT-TEST-CQDE", risk_tool="start_back",
                        risk_score=4, risk_subscore=1, risk_group="medium")
CREATED = date(2026, 11, 25)


def plan_for(language: str, outlook: Any = None):  # type: ignore[no-untyped-def]
    return compose(OUTCOME, ANSWERS, language, created=CREATED, outlook=outlook)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_care_plan_matches_its_reviewed_snapshot(language: str) -> None:
    text = to_text(plan_for(language))
    snapshot = SNAPSHOTS / f"{language}.txt"
    if os.environ.get("BACKTALK_UPDATE_SNAPSHOTS") == "1":
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == snapshot.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_pdf_opens_is_a4_small_and_holds_the_headings_and_the_reference_code(language: str) -> None:
    plan = plan_for(language, Outlook(("outlook line",)))
    pdf = to_pdf(plan)
    assert len(pdf) < 500_000
    reader = PdfReader(io.BytesIO(pdf))
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for heading in (plan.title, plan.pain_heading, plan.red_flags_heading, plan.options_heading,
                    plan.resources_heading, plan.outlook_heading, plan.clinician_heading):
        assert heading in flat, (language, heading)
    assert plan.reference_code in flat


def test_the_html_escapes_what_it_shows() -> None:
    plan = dataclasses.replace(plan_for("en"), resources=(Entry("<script>alert(1)</script>", "P", "https://a.example"),))
    html = to_html(plan)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert plan.reference_code in html


def test_neck_plans_use_the_msk_score_line_and_neck_options() -> None:
    answers = {**ANSWERS, "pain_site": "neck", "episode_duration": "over_3_years"}
    outcome = TriageOutcome(kind="risk", reference_code="BT-NECK-PLAN", risk_tool="start_msk", risk_score=10,
                            risk_group="high")
    plan = compose(outcome, answers, "en", created=CREATED)
    assert "STarT MSK" in plan.clinician_score and "10 of 12" in plan.clinician_score
    assert {"medication_neck", "topical_neck", "psychological_care", "multidisciplinary_rehabilitation"} <= set(
        plan.option_ids)


def test_a_red_flag_gets_no_care_plan() -> None:
    with pytest.raises(ValueError):
        compose(TriageOutcome(kind="red_flag", reference_code="BT-AAAA-BBBB", red_flag="rf_fever"), ANSWERS, "en",
                created=CREATED)
