"""`backtalk demo-data`: a synthetic multi-clinic data set (triages, check-ins, answers) so a
newcomer sees filled outcome pages and trajectories at once. Every number is made up: the triages
carry the pseudonym prefix ``demo-`` and the clinics the code prefix ``demo-``, and the command
refuses to run in production (BACKTALK_ENV=production)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List

from sqlalchemy import select

from bot.followup.schedules import schedule_for
from bot.followup.series import token_hash
from bot.prediction.predict import FUNCTION_ITEMS
from bot.reference_code import new_reference_code
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
TREATMENTS = ("exercise_therapy", "manual_therapy", "medication_back", "psychological_care",
              "multidisciplinary_rehabilitation", "self_management", "none")
# Made-up effects (points of pain change at 6 months), only so the page has something to show.
RISK_CHANGE = {"low": -3.0, "medium": -2.2, "high": -1.4}
TREATMENT_CHANGE = {"exercise_therapy": -0.8, "manual_therapy": -0.4, "medication_back": 0.0,
                    "psychological_care": -0.6, "multidisciplinary_rehabilitation": -0.7,
                    "self_management": -0.3, "none": 0.3}


@dataclass(frozen=True)
class Generated:
    clinics: int
    triages: int
    answered: int


def _function_codes(rng: random.Random, score: float) -> Dict[str, str]:
    yes = max(0, min(6, round(score / 4)))
    chosen = set(rng.sample(FUNCTION_ITEMS, yes))
    return {item: "true" if item in chosen else "false" for item in FUNCTION_ITEMS}


def generate(database_url: str, patients_per_clinic: int = 120, seed: int = 1,
             now: datetime | None = None) -> Generated:
    rng = random.Random(seed)
    now = now or utcnow()
    steps = schedule_for(None).steps
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
        for clinic_id in clinic_ids:
            for _ in range(patients_per_clinic):
                started = now - timedelta(days=rng.randint(200, 400))
                group = rng.choices(("low", "medium", "high"), weights=(4, 4, 2))[0]
                pain0 = rng.randint(3 if group == "low" else 5, 7 if group == "low" else 10)
                function0 = rng.uniform(4, 12) + {"low": 0, "medium": 4, "high": 8}[group]
                triage = TriageSession(pseudonym=f"demo-{new_reference_code()}", channel="web", language="en",
                                       status="complete", consent_at=started, started_at=started,
                                       updated_at=started, completed_at=started, pain_site="low_back",
                                       risk_tool="start_back", risk_group=group, clinic_id=clinic_id,
                                       reference_code=new_reference_code(), needs_attention=group == "high")
                triage.answers = [Answer(item_id="consent", code="true", answered_at=started),
                                  Answer(item_id="pain_site", code="low_back", answered_at=started),
                                  Answer(item_id="pain_now", code=str(pain0), answered_at=started),
                                  *(Answer(item_id=k, code=v, answered_at=started)
                                    for k, v in _function_codes(rng, function0).items())]
                db.add(triage)
                db.flush()
                triages += 1
                series = FollowUpSeries(session_id=triage.id, pseudonym=triage.pseudonym, channel="web",
                                        language="en", clinic_id=clinic_id, time_zone=schedule_for(None).time_zone,
                                        token_hash=token_hash(new_reference_code() + str(triage.id)),
                                        status="active", created_at=started)
                treatment = rng.choice(TREATMENTS)
                for step in steps:
                    due = started + timedelta(days=step.days)
                    share = min(1.0, step.days / 182)
                    followup = FollowUp(label=step.label, offset_days=step.days, restratify=step.restratify,
                                        due_at=due, next_action_at=due, attempts=0, sent_at=due)
                    if rng.random() < 0.2:  # some check-ins are never answered
                        followup.status = "missed"
                    else:
                        followup.status, followup.started_at = "answered", due + timedelta(hours=rng.randint(1, 60))
                        followup.answered_at = followup.started_at
                        change = share * (RISK_CHANGE[group] + TREATMENT_CHANGE[treatment]) + rng.gauss(0, 1.5)
                        pain = max(0, min(10, round(pain0 + change)))
                        function = max(0.0, min(24.0, function0 + 2 * change + rng.gauss(0, 2)))
                        codes = {"pain_now": str(pain), **_function_codes(rng, function),
                                 "work_status": "working", "treatment_main": treatment,
                                 "global_change": "better" if change < -1 else "same" if change < 1 else "worse"}
                        followup.answers = [FollowUpAnswer(item_id=k, code=v, answered_at=followup.answered_at)
                                            for k, v in codes.items()]
                        answered += 1
                    series.followups.append(followup)
                db.add(series)
    return Generated(len(clinic_ids), triages, answered)
