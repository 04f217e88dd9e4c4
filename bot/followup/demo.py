"""`backtalk demo-data`: a synthetic multi-clinic data set (triages, check-ins, answers) so a
newcomer sees filled outcome pages and trajectories at once, and can try the learning loop
(`backtalk predictor train --from-database`, docs/prediction.md). Every number is made up: the
triages carry the pseudonym prefix ``demo-`` (which marks them synthetic wherever they are used
for training) and the clinics the code prefix ``demo-``, and the command refuses to run in
production (BACKTALK_ENV=production).

The patients are drawn from BackTalk's synthetic cohort (bot/prediction/cohort.py, low back pain
only, as the outlook is): their triage answers are the cohort's baseline answers, their check-in
answers at 6 weeks, 3 and 6 months the cohort's outcomes, and a check-in is missed where the
cohort lost the patient to follow-up. On top, each patient gets a treatment and a made-up effect
of it on pain, only so the outcomes page has differences to show."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Tuple

import numpy as np
from sqlalchemy import select

from bot.followup.schedules import schedule_for
from bot.followup.series import token_hash
from bot.prediction.cohort import generate as generate_cohort
from bot.prediction.predict import FUNCTION_ITEMS
from bot.prediction.schema import FUNCTION_RANGE, PAIN_RANGE, TIME_POINTS, Cohort
from bot.reference_code import new_reference_code
from bot.scoring.start_back import ITEMS as SBT_ITEMS
from bot.store.db import session_scope
from bot.store.models import (
    Answer,
    Clinic,
    FollowUp,
    FollowUpAnswer,
    FollowUpSeries,
    TriageSession,
    utcnow,
)

CLINICS = (("demo-north", "Demo clinic North"), ("demo-south", "Demo clinic South"), ("demo-west", "Demo clinic West"))
PSEUDONYM_PREFIX = "demo-"
TREATMENTS = ("exercise_therapy", "manual_therapy", "medication_back", "psychological_care",
              "multidisciplinary_rehabilitation", "self_management", "none")
# Made-up effects (points of pain change by 6 months), only so the page has something to show.
TREATMENT_CHANGE = {"exercise_therapy": -0.8, "manual_therapy": -0.4, "medication_back": 0.0,
                    "psychological_care": -0.6, "multidisciplinary_rehabilitation": -0.7,
                    "self_management": -0.3, "none": 0.3}
BASELINE_ITEMS = ("age_band", "sex", "pain_site", "episode_duration", "previous_episodes", *SBT_ITEMS,
                  "recovery_expectation", "work_status", "work_expectation")
# Share of the 6-week change already reached at 2 weeks on the cohort's recovery curve
# (1 - e^(-2/4.75)) / (1 - e^(-6/4.75)); the cohort itself has no 2-week time point.
TWO_WEEK_SHARE = 0.48


@dataclass(frozen=True)
class Generated:
    clinics: int
    triages: int
    answered: int


def _function_codes(rng: random.Random, score: float) -> Dict[str, str]:
    """Six yes/no statements whose score (4 per yes) is nearest to ``score``."""
    yes = max(0, min(len(FUNCTION_ITEMS), round(score / 4)))
    chosen = set(rng.sample(FUNCTION_ITEMS, yes))
    return {item: "true" if item in chosen else "false" for item in FUNCTION_ITEMS}


def _low_back_patients(count: int, seed: int) -> Cohort:
    """``count`` low-back patients of the synthetic cohort (the outlook is for low back pain only)."""
    rows = max(20, int(count / 0.55) + 20)
    while True:
        cohort = generate_cohort(rows, seed)
        keep = np.flatnonzero(cohort.columns["pain_site"] == "low_back")
        if len(keep) >= count:
            return cohort.subset(keep[:count])
        rows *= 2


def _clip(value: float, bounds: tuple) -> int:  # type: ignore[type-arg]
    return int(max(bounds[0], min(bounds[1], round(value))))


def _check_in(rng: random.Random, c: Dict[str, np.ndarray], i: int, label: str, treatment: str,
              share: float) -> Optional[Dict[str, str]]:
    """The answers of one check-in, or None when the cohort lost the patient by then."""
    key = "6w" if label == "2w" else label
    if key not in {t.key for t in TIME_POINTS} or np.isnan(c[f"pain_{key}"][i]):
        return None
    weight = TWO_WEEK_SHARE if label == "2w" else 1.0
    pain0, function0 = c["pain_now"][i], c["function_now"][i]
    pain = pain0 + weight * (c[f"pain_{key}"][i] - pain0) + share * TREATMENT_CHANGE[treatment]
    function = function0 + weight * (c[f"function_{key}"][i] - function0)
    paid = c["work_status"][i] != "not_in_paid_work"
    if not paid:
        work = "not_in_paid_work"
    elif label == "2w":
        work = str(c["work_status"][i])
    else:
        work = "off_work" if c[f"off_work_{key}"][i] == 1 else "working"
    change = pain - pain0
    return {"pain_now": str(_clip(pain, PAIN_RANGE)), **_function_codes(rng, _clip(function, FUNCTION_RANGE)),
            "work_status": work, "treatment_main": treatment,
            "global_change": ("much_better" if change <= -3 else "better" if change <= -1
                              else "same" if change < 1 else "worse")}


def generate(database_url: str, patients_per_clinic: int = 120, seed: int = 1,
             now: datetime | None = None) -> Generated:
    rng = random.Random(seed)
    now = now or utcnow()
    schedule = schedule_for(None)
    answered = triages = 0
    with session_scope(database_url) as db:
        clinic_ids: List[int] = []
        for code, name in CLINICS:
            clinic = db.execute(select(Clinic).where(Clinic.code == code)).scalar_one_or_none()
            if clinic is None:
                clinic = Clinic(code=code, name=name)
                db.add(clinic)
                db.flush()
            clinic_ids.append(clinic.id)
        for number, clinic_id in enumerate(clinic_ids):
            cohort = _low_back_patients(patients_per_clinic, seed * 1000 + number)
            c = cohort.columns
            # Objects first, answers afterwards in one executemany per table: inserting tens of
            # thousands of answers one ORM statement at a time took a minute.
            made: List[Tuple[TriageSession, Dict[str, str], List[Tuple[FollowUp, Dict[str, str]]]]] = []
            for i in range(patients_per_clinic):
                started = now - timedelta(days=rng.randint(200, 400), minutes=rng.randint(0, 1440))
                codes = {"consent": "true", "pain_now": str(int(c["pain_now"][i])),
                         **{item: str(c[item][i]) for item in BASELINE_ITEMS if c[item][i] != ""},
                         **_function_codes(rng, c["function_now"][i]), "outlook_offer": "true"}
                if not np.isnan(c["days_off"][i]):
                    codes["days_off"] = str(int(c["days_off"][i]))
                group = str(c["risk_group"][i])
                triage = TriageSession(pseudonym=f"{PSEUDONYM_PREFIX}{new_reference_code()}", channel="web",
                                       language="en", status="complete", consent_at=started, started_at=started,
                                       updated_at=started, completed_at=started, pain_site="low_back",
                                       risk_tool="start_back", risk_group=group,
                                       risk_score=int(c["sbt_total"][i]), clinic_id=clinic_id,
                                       reference_code=new_reference_code(), needs_attention=group == "high")
                db.add(triage)
                triages += 1
                series = FollowUpSeries(session=triage, pseudonym=triage.pseudonym, channel="web",
                                        language="en", clinic_id=clinic_id, time_zone=schedule.time_zone,
                                        token_hash=token_hash(new_reference_code() + str(triage.id)),
                                        status="active", created_at=started)
                treatment = rng.choice(TREATMENTS)
                given_answers: List[Tuple[FollowUp, Dict[str, str]]] = []
                for step in schedule.steps:
                    due = started + timedelta(days=step.days)
                    followup = FollowUp(label=step.label, offset_days=step.days, restratify=step.restratify,
                                        due_at=due, next_action_at=due, attempts=0, sent_at=due)
                    given = _check_in(rng, c, i, step.label, treatment, min(1.0, step.days / 182))
                    if given is None:
                        followup.status = "missed"
                    else:
                        followup.status, followup.started_at = "answered", due + timedelta(hours=rng.randint(1, 60))
                        followup.answered_at = followup.started_at
                        given_answers.append((followup, given))
                        answered += 1
                    series.followups.append(followup)
                db.add(series)
                made.append((triage, codes, given_answers))
            db.flush()
            db.execute(Answer.__table__.insert(), [
                {"session_id": triage.id, "item_id": k, "code": v, "answered_at": triage.started_at}
                for triage, codes, _ in made for k, v in codes.items()])
            db.execute(FollowUpAnswer.__table__.insert(), [
                {"followup_id": followup.id, "item_id": k, "code": v, "answered_at": followup.answered_at}
                for _, _, given_answers in made for followup, given in given_answers for k, v in given.items()])
    return Generated(len(clinic_ids), triages, answered)
