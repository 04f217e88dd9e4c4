"""`backtalk export fhir`: stored triages as FHIR R4 Bundles, one JSON file each or one NDJSON stream;
each bundle holds the triage and its answered follow-up check-ins (bot.fhir.followup.record_bundle).

Every bundle is validated before it is written, so a receiver never gets a file we know to be
invalid, and every triage written leaves an ``export_fhir`` audit event.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, TextIO, Tuple, Union

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot.fhir.bundle import validate_bundle
from bot.fhir.followup import record_bundle
from bot.store.db import session_scope
from bot.store.models import Clinic, TriageSession

STDOUT = "-"
AUDIT_ACTION = "export_fhir"


class ExportError(LookupError):
    """The request names something that is not there (a reference code, a clinic); nothing was written."""


def file_name(triage: TriageSession) -> str:
    """``<reference code>.json``; an unfinished triage has no code yet, so its session id names it."""
    return f"{triage.reference_code or f'session-{triage.id}'}.json"


def _clinic(db: Session, clinic_code: str) -> Clinic:
    clinic = db.execute(select(Clinic).where(Clinic.code == clinic_code)).scalar_one_or_none()
    if clinic is None:
        raise ExportError(f"no clinic with code {clinic_code!r}")
    return clinic


def select_triages(db: Session, reference_codes: Optional[Sequence[str]] = None,
                   clinic_code: Optional[str] = None) -> List[TriageSession]:
    """The triages asked for: by reference code (each must exist, and belong to the clinic when one is
    named), else every triage of the clinic or of the database, except those the patient abandoned
    by starting over (their answers were replaced by the next triage's)."""
    clinic = _clinic(db, clinic_code) if clinic_code is not None else None
    if reference_codes:
        codes = list(dict.fromkeys(code.strip().upper() for code in reference_codes))
        found = {t.reference_code: t for t in db.execute(
            select(TriageSession).where(TriageSession.reference_code.in_(codes))).scalars()}
        missing = [code for code in codes if code not in found]
        if missing:
            raise ExportError(f"unknown reference code(s): {', '.join(missing)}")
        elsewhere = [code for code in codes if clinic is not None and found[code].clinic_id != clinic.id]
        if elsewhere:
            raise ExportError(f"not triages of clinic {clinic_code!r}: {', '.join(elsewhere)}")
        return [found[code] for code in codes]
    query = select(TriageSession).where(TriageSession.status != "abandoned").order_by(TriageSession.id)
    if clinic is not None:
        query = query.where(TriageSession.clinic_id == clinic.id)
    return list(db.execute(query).scalars())


def _write_file(directory: Path, name: str, bundle: Dict[str, Any]) -> None:
    """Write beside the target and rename, so a reader never sees half a bundle."""
    target = directory / name
    partial = target.with_name(f".{name}.partial")
    partial.write_text(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, target)


def _ndjson_line(bundle: Dict[str, Any]) -> str:
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n"


def _destination(out: Path) -> str:
    if str(out) == STDOUT:
        return "stdout"
    return "ndjson" if out.suffix == ".ndjson" else "directory"


def _audit(database_url: str, exported: Iterable[Tuple[Optional[str], int]], detail: Dict[str, Any]) -> None:
    """One event per triage written (reference code, session id), in its own transaction: an export
    that fails half-way still leaves a trail of what did leave the building."""
    with session_scope(database_url) as db:
        for reference_code, session_id in exported:
            extra = {} if reference_code else {"session_id": session_id}
            audit.record(db, AUDIT_ACTION, username="cli", reference_code=reference_code, detail={**detail, **extra})


def export_fhir(database_url: str, out_dir_or_file: Union[str, Path], reference_codes: Optional[Sequence[str]] = None,
                clinic_code: Optional[str] = None, language: str = "en") -> int:
    """Write one validated Bundle per selected triage and return how many were written.

    ``out_dir_or_file``: ``-`` streams NDJSON (one bundle a line) to stdout; a path ending in
    ``.ndjson`` is an NDJSON file; anything else is a directory (created) of ``<reference code>.json``.
    Raises ``ExportError`` before writing anything when a reference code or the clinic is unknown.
    """
    out = Path(out_dir_or_file)
    destination = _destination(out)
    detail = {"format": "FHIR R4 Bundle", "language": language, "destination": destination,
              **({"clinic": clinic_code} if clinic_code else {})}
    exported: List[Tuple[Optional[str], int]] = []
    stream: Optional[TextIO] = None
    try:
        with session_scope(database_url) as db:
            triages = select_triages(db, reference_codes, clinic_code)
            if destination == "stdout":
                stream = sys.stdout
            elif destination == "ndjson":
                out.parent.mkdir(parents=True, exist_ok=True)
                stream = out.open("w", encoding="utf-8")
            else:
                out.mkdir(parents=True, exist_ok=True)
            for triage in triages:
                bundle = record_bundle(db, triage, language)
                validate_bundle(bundle)
                if stream is not None:
                    stream.write(_ndjson_line(bundle))
                else:
                    _write_file(out, file_name(triage), bundle)
                exported.append((triage.reference_code, triage.id))
    finally:
        if stream is not None and stream is not sys.stdout:
            stream.close()
        if exported:
            _audit(database_url, exported, detail)
    return len(exported)
