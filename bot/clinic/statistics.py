"""My Statistics: a clinician's own decisions next to the whole clinic's and next to the
risk-matched recommendation, per risk group, over a chosen period.

Concordance, as shown on the page and in docs/clinic.md: a decision for a triage with a risk group is
concordant when every option chosen is one data/careplan/treatment_options.yml recommends for that
patient (site, episode duration, risk group), no referral elsewhere was made, and for medium and high
risk it includes at least one option the file reserves for that level of risk or above (e.g. exercise
therapy for medium, psychologically informed care for high) — the stratified-care model of the STarT
Back trial (Hill et al. Lancet 2011). For a red flag the concordant decision is a referral. Only the
latest decision on each triage counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.careplan.options import TreatmentOption, load_options
from bot.store.models import Answer, Decision, TriageSession, User

GROUPS = ("low", "medium", "high", "red_flag")
_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class DecidedTriage:
    """The facts concordance needs about one triage and its current decision."""

    group: str  # low | medium | high | red_flag
    site: Optional[str]
    duration: Optional[str]
    option_ids: FrozenSet[str]
    referred_elsewhere: bool
    decided_by: int


def recommended(site: Optional[str], duration: Optional[str], group: str,
                options: Sequence[TreatmentOption]) -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """(every option recommended for this patient, those reserved for their level of risk or above)."""
    fitting = [o for o in options if (site is None or site in o.sites)
               and (duration is None or duration in o.durations) and group in o.risk_groups]
    reserved = [o for o in fitting if min(_RANK[g] for g in o.risk_groups) >= _RANK[group]]
    return frozenset(o.id for o in fitting), frozenset(o.id for o in reserved)


def is_concordant(decided: DecidedTriage, options: Sequence[TreatmentOption]) -> bool:
    if decided.group == "red_flag":
        return decided.referred_elsewhere
    if decided.referred_elsewhere or not decided.option_ids:
        return False
    allowed, reserved = recommended(decided.site, decided.duration, decided.group, options)
    if not decided.option_ids <= allowed:
        return False
    return decided.group == "low" or bool(decided.option_ids & reserved)


@dataclass(frozen=True)
class Share:
    n: int
    concordant: int

    @property
    def percent(self) -> Optional[float]:
        return 100.0 * self.concordant / self.n if self.n else None


@dataclass(frozen=True)
class GroupRow:
    group: str
    mine: Share
    clinic: Share


@dataclass(frozen=True)
class OptionRow:
    option_id: str
    group: str
    mine_percent: Optional[float]
    clinic_percent: Optional[float]


@dataclass(frozen=True)
class Statistics:
    groups: Tuple[GroupRow, ...]
    options: Tuple[OptionRow, ...]

    @property
    def empty(self) -> bool:
        return all(row.clinic.n == 0 for row in self.groups)

    @property
    def mine_empty(self) -> bool:
        return all(row.mine.n == 0 for row in self.groups)


def decided_triages(db: Session, clinic_id: int, since: Optional[datetime],
                    until: Optional[datetime]) -> List[DecidedTriage]:
    """The clinic's triages whose current (latest) decision was made in the period."""
    latest = select(func.max(Decision.id).label("id")).group_by(Decision.session_id).subquery()
    query = (select(TriageSession.risk_group, TriageSession.red_flag, TriageSession.pain_site, Answer.code,
                    Decision.option_ids, Decision.referred_elsewhere, Decision.user_id)
             .join(latest, latest.c.id == Decision.id)
             .join(TriageSession, TriageSession.id == Decision.session_id)
             .outerjoin(Answer, (Answer.session_id == TriageSession.id) & (Answer.item_id == "episode_duration"))
             .where(TriageSession.clinic_id == clinic_id))
    if since is not None:
        query = query.where(Decision.decided_at >= since)
    if until is not None:
        query = query.where(Decision.decided_at < until)
    result = []
    for group, red_flag, site, duration, option_ids, referred, user_id in db.execute(query):
        group = "red_flag" if red_flag else group
        if group not in GROUPS:
            continue
        result.append(DecidedTriage(group, site, duration, frozenset((option_ids or "").split()), bool(referred), user_id))
    return result


def my_statistics(db: Session, user: User, since: Optional[datetime] = None,
                  until: Optional[datetime] = None) -> Statistics:
    if user.clinic_id is None:  # an explicit check (asserts vanish under `python -O`): never another clinic's data
        raise ValueError(f"user {user.id} belongs to no clinic")
    options = load_options()
    decided = decided_triages(db, user.clinic_id, since, until)
    rows, option_rows = [], []
    for group in GROUPS:
        in_group = [d for d in decided if d.group == group]
        mine = [d for d in in_group if d.decided_by == user.id]
        rows.append(GroupRow(group,
                             Share(len(mine), sum(is_concordant(d, options) for d in mine)),
                             Share(len(in_group), sum(is_concordant(d, options) for d in in_group))))
        for option in options:
            if group != "red_flag" and group not in option.risk_groups:
                continue
            mine_pct = _percent(sum(option.id in d.option_ids for d in mine), len(mine))
            clinic_pct = _percent(sum(option.id in d.option_ids for d in in_group), len(in_group))
            if clinic_pct:
                option_rows.append(OptionRow(option.id, group, mine_pct, clinic_pct))
    return Statistics(tuple(rows), tuple(option_rows))


def _percent(part: int, whole: int) -> Optional[float]:
    return 100.0 * part / whole if whole else None


def concordance_chart(rows: Sequence[GroupRow], labels: Dict[str, str], you: str, clinic: str, title: str) -> Markup:
    """Horizontal bars of concordance (%), you and the clinic per risk group, as inline SVG; the
    table next to it carries the same numbers for screen readers and print."""
    bar, gap, left, width = 16, 14, 150, 300
    height = len(rows) * (2 * bar + gap) + 40
    parts = [f'<svg class="chart" viewBox="0 0 {left + width + 120} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">']
    y = 10
    for row in rows:
        parts.append(f'<text x="0" y="{y + bar + 4}" class="label">{escape(labels[row.group])}</text>')
        for share, css, name in ((row.mine, "you", you), (row.clinic, "clinic", clinic)):
            value = share.percent
            length = 0 if value is None else width * value / 100
            text = "–" if value is None else f"{value:.0f} % (n={share.n})"
            parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" class="bar {css}">'
                         f'<title>{escape(name)}: {escape(text)}</title></rect>')
            parts.append(f'<text x="{left + length + 4:.1f}" y="{y + bar - 4}" class="value">{escape(text)}</text>')
            y += bar
        y += gap
    parts.append(f'<rect x="{left}" y="{y + 6}" width="12" height="12" class="bar you"/>'
                 f'<text x="{left + 16}" y="{y + 16}" class="label">{escape(you)}</text>'
                 f'<rect x="{left + 120}" y="{y + 6}" width="12" height="12" class="bar clinic"/>'
                 f'<text x="{left + 136}" y="{y + 16}" class="label">{escape(clinic)}</text></svg>')
    return Markup("".join(parts))
