"""Which interventions work here: the outcome cells (n, mean change, 95 % t interval, share reaching
the MCID, small cells hidden), the synthetic demo data, `backtalk report outcomes`, the clinic's
outcomes page and CSV, and the trajectory on the summary page; on SQLite and PostgreSQL."""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer
from scipy import stats
from sqlalchemy import select

from bot.clinic import accounts
from bot.config import Settings
from bot.followup.cli import run as run_command
from bot.followup.demo import generate
from bot.followup.outcomes import MIN_CELL, Row, outcome_rows, report, to_csv
from bot.i18n.catalog import translate
from bot.store.db import session_scope
from bot.store.models import Clinic, FollowUp, FollowUpSeries
from bot.web.app import WebOptions, create_app
from tests.clinic_helpers import PASSWORD
from tests.test_clinic_web import sign_in


def rows(changes, treatment="exercise_therapy", time="6m"):  # type: ignore[no-untyped-def]
    return [Row(time, treatment, "medium", c, None) for c in changes]


def test_a_cell_has_n_mean_t_interval_and_mcid_share() -> None:
    changes = [-4, -3, -2, -2, -1, 0, -5, -3, -1, 1, -2]
    (cell,) = [c for c in report(rows(changes)) if c.outcome == "pain" and c.dimension == "treatment"]
    mean = sum(changes) / len(changes)
    low, high = stats.t.interval(0.95, len(changes) - 1, loc=mean, scale=stats.sem(changes))
    assert cell.n == 11 and cell.mean == pytest.approx(mean)
    assert (cell.low, cell.high) == (pytest.approx(low), pytest.approx(high))
    assert cell.mcid_share == pytest.approx(7 / 11)  # improved by 2 points or more


def test_cells_under_ten_show_only_their_size_also_in_the_csv() -> None:
    cells = report(rows([-3] * (MIN_CELL - 1), "manual_therapy") + rows([-1] * MIN_CELL, "none"))
    small = next(c for c in cells if c.group == "manual_therapy" and c.outcome == "pain")
    assert small.hidden and small.n == MIN_CELL - 1 and small.mean is None
    line = next(li for li in to_csv(cells).splitlines() if ",manual_therapy," in li)
    assert line == "6m,pain,treatment,manual_therapy,9,,,,"


def test_demo_data_fills_every_clinic_and_clinics_see_only_their_own(settings: Settings) -> None:
    made = generate(settings.database_url, patients_per_clinic=40, seed=3)
    assert (made.clinics, made.triages) == (3, 120) and made.answered > 300
    with session_scope(settings.database_url) as db:
        north = db.execute(select(Clinic.id).where(Clinic.code == "demo-north")).scalar_one()
        everyone, own = outcome_rows(db, None), outcome_rows(db, north)
        assert 0 < len(own) < len(everyone)
        statuses = set(db.execute(select(FollowUp.status)).scalars())
    assert statuses == {"answered", "missed"}


def test_backtalk_report_outcomes_prints_the_warning_and_writes_csv(settings: Settings, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    generate(settings.database_url, patients_per_clinic=60, seed=4)
    out = tmp_path / "outcomes.csv"
    args = argparse.Namespace(command="report", report_kind="outcomes", clinic="demo-south", csv=out)
    assert run_command(args, settings) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Observational data") and "risk_group" in printed
    assert out.read_text().splitlines()[0].startswith("time,outcome,dimension,group,n,mean_change")
    args.clinic = "no-such-clinic"
    assert run_command(args, settings) == 2


def test_demo_data_is_refused_in_production(settings: Settings) -> None:

    args = argparse.Namespace(command="demo-data", patients=1, seed=1)
    assert run_command(args, settings.copy(update={"environment": "production"})) == 2
    with session_scope(settings.database_url) as db:
        assert db.execute(select(FollowUpSeries)).first() is None


def run(settings: Settings, test: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(create_app(settings, WebOptions()))) as client:
            await test(client)

    asyncio.run(main())


def test_the_outcomes_page_csv_and_summary_trajectory_over_http(settings: Settings) -> None:
    generate(settings.database_url, patients_per_clinic=60, seed=5)
    with session_scope(settings.database_url) as db:
        accounts.add_user(db, "alice", PASSWORD, "clinician", "demo-north", "de")
        north = db.execute(select(Clinic.id).where(Clinic.code == "demo-north")).scalar_one()
        answered = db.execute(select(FollowUpSeries.session_id).where(FollowUpSeries.clinic_id == north)
                              .join(FollowUp).where(FollowUp.status == "answered")).scalars().first()

    async def test(client: TestClient) -> None:
        refused = await client.get("/clinic/outcomes", allow_redirects=False)
        assert refused.status == 303
        await sign_in(client, "alice")
        page = await client.get("/clinic/outcomes")
        text = await page.text()
        assert page.status == 200 and translate("de", "clinic.outcomes.warning") in text
        assert translate("de", "treatment.exercise_therapy.name") in text and " … " in text
        table = await client.get("/clinic/outcomes.csv")
        assert table.status == 200 and table.headers["Content-Type"].startswith("text/csv")
        assert (await table.text()).startswith("time,outcome")
        summary = await client.get(f"/clinic/triages/{answered}")
        body = await summary.text()
        assert translate("de", "clinic.trajectory.title") in body and "<polyline" in body

    run(settings, test)
