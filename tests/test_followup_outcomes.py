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
from bot.fhir.bundle import validate_bundle
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
        record = await client.get(f"/clinic/triages/{answered}/fhir.json")
        bundle = await record.json(content_type=None)
        validate_bundle(bundle)
        labels = [e["resource"]["identifier"]["value"].rsplit("/", 1)[1] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "QuestionnaireResponse"
                  and e["resource"]["questionnaire"].endswith("followup")]
        assert labels and set(labels) <= {"2w", "6w", "3m", "6m"}  # the check-ins ride along with the triage

    run(settings, test)


def test_the_forest_chart_shows_n_intervals_and_small_groups_in_the_clinicians_language() -> None:
    from bot.followup.outcome_chart import forest_chart

    cells = report(rows([-3, -2, -4, -1, -2, -3, -2, -5, -1, -2, -3], "exercise_therapy")
                   + rows([-1] * 4, "manual_therapy"))
    names = {"exercise_therapy": "Bewegungstherapie", "manual_therapy": "Manuelle Therapie"}
    svg = str(forest_chart(cells, "6m", names, lambda msgid: translate("de", msgid)))
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "style=" not in svg
    assert translate("de", "clinic.outcomes.chart_title") in svg and translate("de", "clinic.outcomes.better") in svg
    assert "Bewegungstherapie" in svg and "Manuelle Therapie" in svg
    shown = next(c for c in cells if c.group == "exercise_therapy" and c.outcome == "pain")
    assert f"n=11: {shown.mean:+.1f} ({shown.low:+.1f} … {shown.high:+.1f})" in svg
    assert svg.count("<circle") == 1  # the hidden group has no point, only its size
    assert f"n=4: {translate('de', 'clinic.outcomes.too_few')}" in svg
    assert str(forest_chart(cells, "3m", names, lambda msgid: translate("de", msgid))) == ""  # nothing at 3 months
    assert str(forest_chart([], "6m", names, lambda msgid: translate("de", msgid))) == ""


def test_the_outcomes_page_draws_the_chart_with_data_and_says_so_without(settings: Settings) -> None:
    from markupsafe import escape

    with session_scope(settings.database_url) as db:
        db.add(Clinic(code="empty-clinic", name="Empty"))
        db.flush()
        accounts.add_user(db, "bob", PASSWORD, "clinician", "empty-clinic", "fr")

    async def empty(client: TestClient) -> None:
        await sign_in(client, "bob")
        text = await (await client.get("/clinic/outcomes")).text()
        assert str(escape(translate("fr", "clinic.outcomes.empty"))) in text and "<svg" not in text
        assert translate("fr", "clinic.outcomes.chart_title") not in text

    run(settings, empty)
    generate(settings.database_url, patients_per_clinic=80, seed=6)
    with session_scope(settings.database_url) as db:
        accounts.add_user(db, "carla", PASSWORD, "clinician", "demo-west", "it")

    async def filled(client: TestClient) -> None:
        await sign_in(client, "carla")
        text = await (await client.get("/clinic/outcomes")).text()
        assert text.count('<figure class="outcomes-chart"><svg') == 2  # 3 and 6 months
        assert str(escape(translate("it", "clinic.outcomes.chart_note"))) in text
        assert translate("it", "treatment.exercise_therapy.name") in text and "n=" in text
        assert translate("it", "clinic.outcomes.worse") in text

    run(settings, filled)
