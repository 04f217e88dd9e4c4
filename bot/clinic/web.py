"""The clinic workspace on bot.web under /clinic: sign-in, the queue, summaries, decisions, My
Statistics, (for researchers and admins) de-identified research transcripts and (for admins) the
audit trail and erasure by reference code. Server-rendered Jinja pages with a little progressive
JavaScript; every page is in the signed-in user's language (message catalogs).

Security, in one place: server-side sessions (bot/clinic/sessions.py) in an HttpOnly SameSite=Strict
cookie (Secure over https), a CSRF token on every form (the sign-in form uses a double-submit cookie,
since there is no session yet), sign-in rate-limited per client address on top of the per-account
lock-out, another clinic's triage answers 404 like a triage that does not exist, pages are
``no-store`` with a strict Content-Security-Policy, and every view of a summary, decision and export
is audited.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import partial
from http.cookies import CookieError
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from babel.dates import format_date, format_time
from multidict import MultiDictProxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import audit
from bot.careplan.options import load_options
from bot.clinic import accounts, sessions
from bot.clinic.labels import GROUP_LABELS, PERIOD_NAMES, RISK_FILTER_NAMES, SITE_NAMES
from bot.clinic.decisions import DecisionError, record_decision, set_review_status
from bot.clinic.queue import (
    PAGE_SIZE,
    REVIEW_STATUSES,
    RISK_FILTERS,
    SITES,
    FilterError,
    parse_filter,
    queue,
    triage_of_clinic,
)
from bot.clinic.statistics import GROUPS, concordance_chart, my_statistics
from bot.clinic.summary import GROUP_NAMES, REVIEW_NAMES, STATUS_NAMES, build_summary
from bot.config import Settings
from bot.fhir.bundle import validate_bundle
from bot.fhir.followup import record_bundle
from bot.followup.outcome_chart import forest_chart
from bot.followup.outcomes import DIMENSIONS, OUTCOMES, TIMES, outcome_rows, report, to_csv
from bot.followup.trajectory import summary_chart
from bot.i18n.catalog import SUPPORTED_LANGUAGES, mark, supported_language, translate
from bot.i18n.languages import label as language_label
from bot.privacy.cli import RISK_GROUPS
from bot.privacy.retention import UnknownReferenceCode, erase_by_reference_code
from bot.privacy.text_cipher import TextCipher
from bot.privacy.transcripts import TranscriptFilter, count_consented, export_transcripts
from bot.reference_code import PATTERN as REFERENCE_CODE
from bot.store.db import session_scope
from bot.store.models import Clinic, Document, TriageSession, User
from bot.triage.documents import DocumentUnavailable, content_of
from bot.web.limits import RateLimit, RateLimiter, retry_after_header

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "bt_session"
SIGN_IN_COOKIE = "bt_sign_in"
# Ten sign-in attempts per client address a minute, on top of the per-account lock-out.
SIGN_IN_LIMIT = RateLimit(messages=10, seconds=60)
PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}
T = TypeVar("T")


@dataclass(frozen=True)
class Workspace:
    config: Settings
    cipher: TextCipher
    sign_in_limiter: RateLimiter
    secure_cookies: bool
    zone: ZoneInfo


WORKSPACE_KEY = web.AppKey("clinic_workspace", Workspace)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(translate=translate, urlencode=urlencode, group_names=GROUP_NAMES,
                               review_names=REVIEW_NAMES, status_names=STATUS_NAMES, site_names=SITE_NAMES,
                               risk_filter_names=RISK_FILTER_NAMES, group_labels=GROUP_LABELS,
                               period_names=PERIOD_NAMES)
    return environment


TEMPLATES = _environment()


# -- plumbing ---------------------------------------------------------------------------------------

def _headers(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Clinic pages are never cached (their security headers come from bot/web/headers.py)."""
    return {"Cache-Control": "no-store", **(extra or {})}


def render(template: str, status: int = 200, headers: Optional[Dict[str, str]] = None, **context: Any) -> web.Response:
    html = TEMPLATES.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=_headers(headers))


def error_page(status: int, language: str, message_id: str, user: Optional[User] = None, csrf: str = "",
               **values: Any) -> web.Response:
    return render("error.html", status=status, lang=language, user=user, csrf=csrf, clinic=None,
                  title=translate(language, "clinic.error.title"), message=translate(language, message_id, **values))


async def _in_db(request: web.Request, work: Callable[[Session], T]) -> T:
    """Run blocking database work off the event loop, in one transaction."""
    url = request.app[WORKSPACE_KEY].config.database_url

    def run() -> T:
        with session_scope(url) as db:
            return work(db)

    return await asyncio.to_thread(run)


def _language(request: web.Request) -> str:
    """For pages before sign-in: the browser's preferred language among ours."""
    for part in request.headers.get("Accept-Language", "").split(","):
        found = supported_language(part.split(";")[0].strip())
        if found:
            return found
    return "en"


@dataclass
class Visit:
    """A signed-in request: the user, their clinic and the session's CSRF token."""

    user: User
    clinic: Optional[Clinic]
    csrf: str

    @property
    def lang(self) -> str:
        return self.user.language

    def page(self, template: str, status: int = 200, **context: Any) -> web.Response:
        return render(template, status=status, lang=self.lang, user=self.user, clinic=self.clinic, csrf=self.csrf,
                      **context)

    def error(self, status: int, message_id: str, **values: Any) -> web.Response:
        return error_page(status, self.lang, message_id, self.user, self.csrf, **values)


def redirect(location: str) -> web.Response:
    """A 303 returned (not raised), so the transaction around the handler's work still commits."""
    return web.Response(status=303, headers=_headers({"Location": location}))


def _cookie(request: web.Request, name: str) -> Optional[str]:
    """A cookie of the request, or None when the Cookie header cannot be parsed (an illegal name, found
    by fuzzing: tests/test_openapi.py): such a request is simply not signed in, never a 500."""
    try:
        return request.cookies.get(name)
    except CookieError:
        return None


def _visit(db: Session, request: web.Request, roles: tuple = ("clinician", "admin"),
           needs_clinic: bool = True) -> Visit | web.Response:
    """The signed-in user if allowed here; else a redirect to sign in, or a 403 page."""
    signed = sessions.current(db, _cookie(request, SESSION_COOKIE))
    if signed is None:
        if request.method != "GET":
            return error_page(403, _language(request), mark("clinic.error.session_expired"))
        return redirect("/clinic/sign-in?" + urlencode({"next": request.path_qs}))
    visit = Visit(signed.user, signed.user.clinic, signed.csrf_token)
    if signed.user.role not in roles or (needs_clinic and visit.clinic is None):
        return visit.error(403, mark("clinic.error.forbidden"))
    return visit


async def _form(request: web.Request) -> MultiDictProxy:
    """The posted form; a body aiohttp cannot parse (e.g. multipart without a boundary, found by
    fuzzing: tests/test_openapi.py) is the sender's mistake, answered 400 with the reason, not a 500."""
    try:
        return await request.post()
    except ValueError as bad:
        raise web.HTTPBadRequest(text=f"malformed form: {bad}") from None


def _csrf_refused(visit: Visit, form: MultiDictProxy) -> Optional[web.Response]:
    if sessions.csrf_matches(visit.csrf, form.get("csrf")):
        return None
    return visit.error(403, mark("clinic.error.csrf"))


def _local(workspace: Workspace, moment: Optional[datetime], language: str) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    # Month names ("3 Dec 2026", "03.12.2026") cannot be misread as day/month or month/day.
    local = moment.astimezone(workspace.zone)
    return f"{format_date(local, 'medium', locale=language)} {format_time(local, 'short', locale=language)}"


# -- sign-in and sign-out -----------------------------------------------------------------------------

def _safe_next(target: Optional[str]) -> str:
    """Only a path of the workspace itself (no open redirect to another site)."""
    if target and target.startswith("/clinic/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/clinic/queue"


async def sign_in_page(request: web.Request) -> web.Response:
    language = _language(request)
    token = _cookie(request, SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = render("sign_in.html", lang=language, user=None, clinic=None, csrf=token, error=None,
                      next=_safe_next(request.query.get("next")), username="")
    _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


def _set_cookie(request: web.Request, response: web.Response, name: str, value: str, max_age: Optional[int] = None) -> None:
    response.set_cookie(name, value, path="/clinic", httponly=True, samesite="Strict", max_age=max_age,
                        secure=request.app[WORKSPACE_KEY].secure_cookies)


async def sign_in(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE_KEY]
    language = _language(request)
    form = await _form(request)
    wait = workspace.sign_in_limiter.take(request.remote or "?")
    if wait is not None:
        refused = error_page(429, language, mark("clinic.error.too_many_attempts"))
        refused.headers["Retry-After"] = retry_after_header(wait)
        return refused
    cookie_token = _cookie(request, SIGN_IN_COOKIE)
    if not cookie_token or not sessions.csrf_matches(cookie_token, form.get("csrf")):
        return error_page(403, language, mark("clinic.error.csrf"))
    username, password = str(form.get("username") or "")[:64], str(form.get("password") or "")[:1024]
    target = _safe_next(str(form.get("next") or ""))

    def check(db: Session) -> Tuple[Optional[str], Optional[str]]:
        result = accounts.authenticate(db, username, password)
        if result.user is None:
            known = accounts.user_by_name(db, username) if username else None
            audit.record(db, "sign_in_failed", user=known, detail={"reason": result.reason})
            return None, result.reason
        token, _ = sessions.open_session(db, result.user)
        audit.record(db, "sign_in", user=result.user)
        return token, None

    token, reason = await _in_db(request, check)
    if token is None:
        message = mark("clinic.sign_in.locked") if reason == "locked" else mark("clinic.sign_in.invalid")
        return render("sign_in.html", status=401, lang=language, user=None, clinic=None, csrf=cookie_token,
                      error=translate(language, message), next=target, username=username)
    response = redirect(target)
    _set_cookie(request, response, SESSION_COOKIE, token)
    response.del_cookie(SIGN_IN_COOKIE, path="/clinic")
    return response


async def sign_out(request: web.Request) -> web.Response:
    form = await _form(request)

    def work(db: Session) -> Optional[web.Response]:
        visit = _visit(db, request, roles=("clinician", "researcher", "admin"), needs_clinic=False)
        if isinstance(visit, web.Response):
            return visit
        refused = _csrf_refused(visit, form)
        if refused is not None:
            return refused
        sessions.close_session(db, _cookie(request, SESSION_COOKIE))
        audit.record(db, "sign_out", user=visit.user)
        return None

    refused = await _in_db(request, work)
    if refused is not None:
        return refused
    response = redirect("/clinic/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/clinic")
    return response


async def home(request: web.Request) -> web.Response:
    def work(db: Session) -> web.Response:
        visit = _visit(db, request, roles=("clinician", "researcher", "admin"), needs_clinic=False)
        if isinstance(visit, web.Response):
            return visit
        if visit.user.role == "researcher":
            return redirect("/clinic/research")
        # an admin of no clinic: the audit trail is what they have
        return redirect("/clinic/audit" if visit.clinic is None else "/clinic/queue")

    return await _in_db(request, work)


# -- the queue ----------------------------------------------------------------------------------------

async def queue_page(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE_KEY]

    def work(db: Session) -> web.Response:
        visit = _visit(db, request)
        if isinstance(visit, web.Response):
            return visit
        try:
            wanted = parse_filter(request.query)
        except FilterError as bad:
            return visit.page("queue.html", status=400, rows=[], total=0, wanted=parse_filter({}), error=str(bad),
                              pages=1, when=lambda m: _local(workspace, m, visit.lang), filters=_filter_choices())
        assert visit.clinic is not None
        rows, total = queue(db, visit.clinic.id, wanted)
        if wanted.reference_code:
            audit.record(db, "search_reference_code", user=visit.user, reference_code=wanted.reference_code,
                         detail={"found": total})
        pages = max(1, -(-total // PAGE_SIZE))
        return visit.page("queue.html", rows=rows, total=total, wanted=wanted, error=None, pages=pages,
                          when=lambda m: _local(workspace, m, visit.lang), filters=_filter_choices())

    return await _in_db(request, work)


def _filter_choices() -> Dict[str, Any]:
    return {"statuses": REVIEW_STATUSES, "risks": RISK_FILTERS, "sites": SITES}


# -- one triage -----------------------------------------------------------------------------------------

def _triage_id(request: web.Request) -> int:
    return int(request.match_info["triage_id"])


def _summary_response(db: Session, request: web.Request, visit: Visit, status: int = 200,
                      error: Optional[str] = None) -> Tuple[web.Response, Optional[TriageSession]]:
    """The summary page of the requested triage (and the triage), or the 404 page (and None)."""
    workspace = request.app[WORKSPACE_KEY]
    assert visit.clinic is not None
    triage = triage_of_clinic(db, visit.clinic.id, _triage_id(request))
    if triage is None:
        return visit.error(404, mark("clinic.error.not_found")), None
    summary = build_summary(triage, visit.lang, workspace.cipher)
    # Options for this patient's pain site (two options may share a name across sites).
    options = [(o.id, translate(visit.lang, o.name)) for o in load_options()
               if triage.pain_site is None or triage.pain_site in o.sites]
    # The form starts from the current decision, or from the options the care plan matched.
    source = triage.decisions[-1] if triage.decisions else triage.care_plan
    chosen = set((source.option_ids or "").split()) if source is not None else set()
    page = visit.page("summary.html", status=status, s=summary, options=options, chosen=chosen, error=error,
                      when=lambda m: _local(workspace, m, visit.lang), statuses=REVIEW_STATUSES,
                      trajectory=summary_chart(db, triage, visit.lang))
    return page, triage


async def summary_page(request: web.Request) -> web.Response:
    def work(db: Session) -> web.Response:
        visit = _visit(db, request)
        if isinstance(visit, web.Response):
            return visit
        response, triage = _summary_response(db, request, visit)
        if triage is not None:
            audit.record(db, "view_summary", user=visit.user, reference_code=triage.reference_code,
                         detail={"triage": triage.id})
        return response

    return await _in_db(request, work)


def _own_triage(db: Session, request: web.Request,
                form: Optional[MultiDictProxy] = None) -> Tuple[Visit, TriageSession] | web.Response:
    """The signed-in clinician and the requested triage of their clinic (after the CSRF check when
    a form is posted); else the page that refuses: sign in, 403, or 404 for another clinic's."""
    visit = _visit(db, request)
    if isinstance(visit, web.Response):
        return visit
    if form is not None:
        refused = _csrf_refused(visit, form)
        if refused is not None:
            return refused
    assert visit.clinic is not None
    triage = triage_of_clinic(db, visit.clinic.id, _triage_id(request))
    if triage is None:
        return visit.error(404, mark("clinic.error.not_found"))
    return visit, triage


async def decision_post(request: web.Request) -> web.Response:
    form = await _form(request)

    def work(db: Session) -> web.Response:
        found = _own_triage(db, request, form)
        if isinstance(found, web.Response):
            return found
        visit, triage = found
        try:
            decision = record_decision(triage, visit.user, form.getall("option", []), form.get("referred") == "yes",
                                       str(form.get("note") or ""))
        except DecisionError as bad:
            return _summary_response(db, request, visit, status=400, error=str(bad))[0]
        db.flush()
        audit.record(db, "decision", user=visit.user, reference_code=triage.reference_code,
                     detail={"triage": triage.id, "decision": decision.id})
        return redirect(f"/clinic/triages/{triage.id}#decision")

    return await _in_db(request, work)


async def status_post(request: web.Request) -> web.Response:
    form = await _form(request)

    def work(db: Session) -> web.Response:
        found = _own_triage(db, request, form)
        if isinstance(found, web.Response):
            return found
        visit, triage = found
        try:
            set_review_status(triage, str(form.get("status") or ""))
        except DecisionError as bad:
            return _summary_response(db, request, visit, status=400, error=str(bad))[0]
        audit.record(db, "review_status", user=visit.user, reference_code=triage.reference_code,
                     detail={"triage": triage.id, "status": triage.review_status})
        return redirect(f"/clinic/triages/{triage.id}")

    return await _in_db(request, work)


DOCUMENT_KINDS = {"outlook.png": "outlook_png", "care-plan.pdf": "care_plan_pdf"}


async def document(request: web.Request) -> web.Response:
    kind = DOCUMENT_KINDS[request.match_info["name"]]

    def work(db: Session) -> web.Response:
        found = _own_triage(db, request)
        if isinstance(found, web.Response):
            return found
        visit, triage = found
        stored: Optional[Document] = next((d for d in reversed(triage.documents) if d.kind == kind), None)
        if stored is None:
            return visit.error(404, mark("clinic.error.not_found"))
        audit.record(db, "view_document", user=visit.user, reference_code=triage.reference_code,
                     detail={"triage": triage.id, "kind": kind})
        try:
            content = content_of(stored)  # a care-plan PDF nobody opened yet is rendered now, once
        except DocumentUnavailable:
            return visit.error(503, mark("clinic.error.document_unavailable"))
        return web.Response(body=content, content_type=stored.media_type, headers=_headers({
            "Content-Disposition": f'inline; filename="{stored.filename}"'}))

    return await _in_db(request, work)


async def fhir_bundle(request: web.Request) -> web.Response:
    """The triage and its answered check-ins as an HL7 FHIR R4 Bundle (bot/fhir), validated before it leaves; audited as an export."""
    def work(db: Session) -> web.Response:
        found = _own_triage(db, request)
        if isinstance(found, web.Response):
            return found
        visit, triage = found
        bundle = record_bundle(db, triage, visit.lang)
        validate_bundle(bundle)
        audit.record(db, "export_fhir", user=visit.user, reference_code=triage.reference_code,
                     detail={"triage": triage.id, "via": "web"})
        name = triage.reference_code or f"session-{triage.id}"
        return web.json_response(bundle, content_type="application/fhir+json", headers=_headers({
            "Content-Disposition": f'inline; filename="{name}.json"'}))

    return await _in_db(request, work)


# -- My Statistics and the audit trail ----------------------------------------------------------------

async def statistics_page(request: web.Request) -> web.Response:
    def work(db: Session) -> web.Response:
        visit = _visit(db, request)
        if isinstance(visit, web.Response):
            return visit
        period = request.query.get("period", "90")
        if period not in PERIODS:
            return visit.error(400, mark("clinic.error.bad_period"))
        days = PERIODS[period]
        since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
        stats = my_statistics(db, visit.user, since)
        labels = {g: translate(visit.lang, GROUP_LABELS[g]) for g in GROUPS}
        chart = concordance_chart(stats.groups, labels, translate(visit.lang, "clinic.stats.you"),
                                  translate(visit.lang, "clinic.stats.clinic"),
                                  translate(visit.lang, "clinic.stats.chart_title"))
        names = {o.id: translate(visit.lang, o.name) for o in load_options()}
        return visit.page("statistics.html", stats=stats, chart=chart, labels=labels, period=period,
                          periods=list(PERIODS), option_names=names)

    return await _in_db(request, work)


# -- Outcomes: which interventions work here (bot/followup/outcomes.py) --------------------------------

OUTCOME_ROLES = ("clinician", "researcher", "admin")


async def outcomes_page(request: web.Request) -> web.Response:
    """The clinic's change at 3 and 6 months per intervention and risk group; small cells hidden."""
    def work(db: Session) -> web.Response:
        visit = _visit(db, request, roles=OUTCOME_ROLES)
        if isinstance(visit, web.Response):
            return visit
        assert visit.clinic is not None
        cells = report(outcome_rows(db, visit.clinic.id))
        audit.record(db, "view_outcomes", user=visit.user, detail={"cells": len(cells)})
        names = {**{o.id: translate(visit.lang, o.name) for o in load_options()},
                 "none": translate(visit.lang, "treatment_main.none"), "unknown": "–",
                 **{g: translate(visit.lang, n) for g, n in GROUP_NAMES.items()}}
        charts = {time: forest_chart(cells, time, names, partial(translate, visit.lang)) for time in TIMES}
        return visit.page("outcomes.html", cells=cells, names=names, times=TIMES, outcomes=list(OUTCOMES),
                          dimensions=DIMENSIONS, charts=charts)

    return await _in_db(request, work)


async def outcomes_csv(request: web.Request) -> web.Response:
    def work(db: Session) -> web.Response:
        visit = _visit(db, request, roles=OUTCOME_ROLES)
        if isinstance(visit, web.Response):
            return visit
        assert visit.clinic is not None
        cells = report(outcome_rows(db, visit.clinic.id))
        audit.record(db, "export_outcomes", user=visit.user, detail={"cells": len(cells)})
        return web.Response(text=to_csv(cells), content_type="text/csv", headers=_headers({
            "Content-Disposition": 'attachment; filename="outcomes.csv"'}))

    return await _in_db(request, work)


async def audit_page(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE_KEY]

    def work(db: Session) -> web.Response:
        visit = _visit(db, request, roles=("admin",), needs_clinic=False)
        if isinstance(visit, web.Response):
            return visit
        before = request.query.get("before")
        if before is not None and not before.isdigit():
            return visit.error(400, mark("clinic.error.bad_request"))
        events = audit.recent(db, before_id=int(before) if before else None)
        audit.record(db, "view_audit", user=visit.user)
        return visit.page("audit.html", events=events, when=lambda m: _local(workspace, m, visit.lang),
                          details=lambda e: json.loads(e.detail) if e.detail else {})

    return await _in_db(request, work)


# -- research: de-identified transcripts of consented conversations (bot/privacy/transcripts.py) ------

EXPORT_FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
EXPORT_CHUNK = 64 * 1024


class ResearchFilterError(ValueError):
    pass


def research_filter(query: MultiDictProxy) -> TranscriptFilter:
    """The page's filters (the same as `backtalk export transcripts`); anything unknown is refused."""
    languages = tuple(query.getall("language", []))
    risks = tuple(query.getall("risk", []))
    if any(code not in SUPPORTED_LANGUAGES for code in languages) or any(r not in RISK_GROUPS for r in risks):
        raise ResearchFilterError("unknown language or risk group")
    try:
        since = date.fromisoformat(query["since"]) if query.get("since") else None
        until = date.fromisoformat(query["until"]) if query.get("until") else None
    except ValueError:
        raise ResearchFilterError("dates are YYYY-MM-DD") from None
    if since and until and since > until:
        raise ResearchFilterError("the range ends before it starts")
    return TranscriptFilter(languages=languages, since=since, until=until, risk_groups=risks)


def _research_page(visit: Visit, wanted: TranscriptFilter, count: int, query: str,
                   status: int = 200, error: Optional[str] = None) -> web.Response:
    return visit.page("researcher.html", status=status, wanted=wanted, count=count, query=query, error=error,
                      languages=[(code, language_label(code)) for code in SUPPORTED_LANGUAGES], risks=RISK_GROUPS)


async def research_page(request: web.Request) -> web.Response:
    def work(db: Session) -> web.Response:
        visit = _visit(db, request, roles=("researcher", "admin"), needs_clinic=False)
        if isinstance(visit, web.Response):
            return visit
        try:
            wanted = research_filter(request.query)
        except ResearchFilterError:
            return _research_page(visit, TranscriptFilter(), 0, "", status=400,
                                  error=translate(visit.lang, "clinic.research.bad_filter"))
        count = count_consented(db, wanted)
        query = urlencode([(k, v) for k, v in request.query.items() if k in ("language", "risk", "since", "until")])
        return _research_page(visit, wanted, count, query)

    return await _in_db(request, work)


async def research_download(request: web.Request) -> web.StreamResponse:
    """The export, written to a temporary file in a thread (scrubbing is CPU work; the file keeps memory
    flat for large exports), then streamed; audited by export_transcripts with the user and filters."""
    kind = request.match_info["kind"]

    def check(db: Session) -> Tuple[Optional[Visit], Optional[web.Response]]:
        visit = _visit(db, request, roles=("researcher", "admin"), needs_clinic=False)
        if isinstance(visit, web.Response):
            return None, visit
        return visit, None

    visit, refused = await _in_db(request, check)
    if refused is not None:
        return refused
    assert visit is not None
    try:
        wanted = research_filter(request.query)
    except ResearchFilterError:
        return visit.error(400, mark("clinic.research.bad_filter"))
    url = request.app[WORKSPACE_KEY].config.database_url
    spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")
    try:
        def write() -> None:
            export_transcripts(url, spool if kind == "jsonl" else None, spool if kind == "csv" else None, wanted,
                               user=visit.user, via=f"web-{kind}")
            spool.seek(0)

        await asyncio.to_thread(write)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        response = web.StreamResponse(headers=_headers({
            "Content-Type": f"{EXPORT_FORMATS[kind]}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="transcripts-{stamp}.{kind}"'}))
        await response.prepare(request)
        while True:
            chunk = await asyncio.to_thread(spool.read, EXPORT_CHUNK)
            if not chunk:
                break
            await response.write(chunk.encode("utf-8"))
        await response.write_eof()
        return response
    finally:
        spool.close()


# -- erasure by reference code (admins; bot/privacy/retention.py) -------------------------------------

def _conversation_size(db: Session, reference_code: str) -> Optional[int]:
    """How many triages the conversation of this reference code holds (None: no such code)."""
    triage = db.execute(select(TriageSession).where(TriageSession.reference_code == reference_code)).scalar_one_or_none()
    if triage is None:
        return None
    return db.execute(select(func.count()).where(TriageSession.pseudonym == triage.pseudonym)).scalar_one()


async def erase_page(request: web.Request) -> web.Response:
    def work(db: Session) -> web.Response:
        visit = _visit(db, request, roles=("admin",), needs_clinic=False)
        if isinstance(visit, web.Response):
            return visit
        return visit.page("erase.html", step="ask", code="", triages=0, erased=None, error=None)

    return await _in_db(request, work)


async def erase_post(request: web.Request) -> web.Response:
    """Two steps: ``confirm`` shows what the code's conversation holds, ``erase`` erases it."""
    form = await _form(request)
    code = str(form.get("code") or "").strip().upper()[:32]
    step = form.get("step")

    def check(db: Session) -> Tuple[Optional[Visit], Optional[web.Response]]:
        visit = _visit(db, request, roles=("admin",), needs_clinic=False)
        if isinstance(visit, web.Response):
            return None, visit
        refused = _csrf_refused(visit, form)
        if refused is not None:
            return None, refused
        if step not in ("confirm", "erase"):
            return None, visit.error(400, mark("clinic.error.bad_request"))
        triages = _conversation_size(db, code) if REFERENCE_CODE.match(code) else None
        if triages is None:
            return None, visit.page("erase.html", status=404, step="ask", code=code, triages=0, erased=None,
                                    error=translate(visit.lang, "clinic.erase.unknown", code=code))
        if step == "confirm":
            return None, visit.page("erase.html", step="confirm", code=code, triages=triages, erased=None, error=None)
        return visit, None

    visit, answered = await _in_db(request, check)
    if answered is not None:
        return answered
    assert visit is not None
    try:
        erased = await asyncio.to_thread(erase_by_reference_code, request.app[WORKSPACE_KEY].config.database_url, code)
    except UnknownReferenceCode:  # erased meanwhile by someone else
        return visit.page("erase.html", status=404, step="ask", code=code, triages=0, erased=None,
                          error=translate(visit.lang, "clinic.erase.unknown", code=code))

    def done(db: Session) -> web.Response:
        audit.record(db, "erase", user=visit.user, reference_code=code,
                     detail={"triages": erased.triages, "events": erased.events, "via": "web"})
        return visit.page("erase.html", step="done", code=code, triages=erased.triages, erased=erased, error=None)

    return await _in_db(request, done)


async def not_found(request: web.Request) -> web.Response:
    return error_page(404, _language(request), mark("clinic.error.not_found"))


def add_clinic_routes(app: web.Application, config: Settings) -> None:
    """Mount the workspace on bot.web under /clinic (routes of the app itself: aiohttp's sub-applications
    resolve through ``request.url``, which the pinned yarl refuses for a Host with a port)."""
    app[WORKSPACE_KEY] = Workspace(
        config=config,
        cipher=TextCipher(config.encryption_key),
        sign_in_limiter=RateLimiter(SIGN_IN_LIMIT),
        secure_cookies=config.public_url.startswith("https://") or config.production,
        zone=ZoneInfo(config.timezone),  # bot/config.py checked the name
    )
    routes = app.router
    routes.add_get("/clinic", home)
    routes.add_get("/clinic/", home)
    routes.add_get("/clinic/sign-in", sign_in_page)
    routes.add_post("/clinic/sign-in", sign_in)
    routes.add_post("/clinic/sign-out", sign_out)
    routes.add_get("/clinic/queue", queue_page)
    routes.add_get(r"/clinic/triages/{triage_id:\d{1,12}}", summary_page)
    routes.add_post(r"/clinic/triages/{triage_id:\d{1,12}}/decision", decision_post)
    routes.add_post(r"/clinic/triages/{triage_id:\d{1,12}}/status", status_post)
    routes.add_get(r"/clinic/triages/{triage_id:\d{1,12}}/{name:outlook\.png|care-plan\.pdf}", document)
    routes.add_get(r"/clinic/triages/{triage_id:\d{1,12}}/fhir.json", fhir_bundle)
    routes.add_get("/clinic/statistics", statistics_page)
    routes.add_get("/clinic/audit", audit_page)
    routes.add_get("/clinic/outcomes", outcomes_page)
    routes.add_get("/clinic/outcomes.csv", outcomes_csv)
    routes.add_get("/clinic/research", research_page)
    routes.add_get("/clinic/erase", erase_page)
    routes.add_post("/clinic/erase", erase_post)
    routes.add_get(r"/clinic/research/transcripts.{kind:jsonl|csv}", research_download)
    routes.add_static("/clinic/static", HERE / "static", append_version=True)
    routes.add_get("/clinic/{tail:.*}", not_found)
