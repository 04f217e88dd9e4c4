"""`make audit`: known vulnerabilities in the pinned dependencies (pip-audit over requirements.lock)
and insecure patterns in our code (bandit over bot/ actions/ rasa_server/ nlu_components/).

Runs with the audit venv's Python (.venv-audit, see the Makefile): the tools live there so that they
can never move Rasa's pins in .venv. This file needs only the standard library and PyYAML.

Every finding is either fixed or justified in docs/security/audit-exceptions.yml (why it is acceptable
or how it is mitigated, and a date by which someone looks at it again). The run fails when:
- pip-audit reports a vulnerability without a justified exception, or bandit a finding without one;
- an exception is past its review date, or matches nothing any more (the file must stay true);
- the vulnerability data could not be had for some package (service unreachable, package unknown
  to it). Then a banner says so in capitals, and the run fails unless AUDIT_OFFLINE_OK=1: an audit
  that asked nobody must never look like a clean one. With AUDIT_OFFLINE_OK=1 the banner is still
  printed and the exit code is 0 (for a CI that cannot reach the service; bandit still gates).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess  # nosec B404 - runs pip-audit and bandit with fixed argument lists, never a shell
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXCEPTIONS_FILE = ROOT / "docs" / "security" / "audit-exceptions.yml"
LOCK_FILE = ROOT / "requirements.lock"
BANDIT_TARGETS = ("bot", "actions", "rasa_server", "nlu_components")
VULN_FIELDS = ("id", "package", "why", "review_by")
BANDIT_FIELDS = ("test", "file", "code", "why", "review_by")

EXIT_OK, EXIT_FINDINGS, EXIT_UNREACHABLE = 0, 1, 2


class ExceptionsError(ValueError):
    """The exceptions file is malformed."""


@dataclass(frozen=True)
class VulnException:
    id: str
    package: str
    why: str
    review_by: dt.date


@dataclass(frozen=True)
class BanditException:
    test: str  # bandit's test id, e.g. B603
    file: str  # path relative to the repository root
    code: str  # text that the flagged source line contains
    why: str
    review_by: dt.date


@dataclass
class Exceptions:
    vulnerabilities: List[VulnException] = field(default_factory=list)
    bandit: List[BanditException] = field(default_factory=list)


@dataclass
class Outcome:
    """What one check found: lines to print, and whether it fails the run (and how)."""

    lines: List[str] = field(default_factory=list)
    exit_code: int = EXIT_OK

    def fail(self, line: str, code: int = EXIT_FINDINGS) -> None:
        self.lines.append(line)
        self.exit_code = max(self.exit_code, code)


def _entries(raw: Mapping[str, Any], key: str, fields: Sequence[str]) -> List[Dict[str, Any]]:
    entries = raw.get(key) or []
    if not isinstance(entries, list):
        raise ExceptionsError(f"{key}: must be a list")
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ExceptionsError(f"{key} #{number}: must be a mapping")
        missing = [name for name in fields if not entry.get(name)]
        if missing:
            raise ExceptionsError(f"{key} #{number}: missing {', '.join(missing)}")
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            raise ExceptionsError(f"{key} #{number}: unknown field(s) {', '.join(unknown)}")
        if not isinstance(entry["review_by"], dt.date):
            raise ExceptionsError(f"{key} #{number}: review_by must be a date (YYYY-MM-DD)")
        if len(str(entry["why"]).split()) < 5:
            raise ExceptionsError(f"{key} #{number}: 'why' must say why it is acceptable or how it is mitigated")
    return entries


def parse_exceptions(text: str) -> Exceptions:
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ExceptionsError("the file must be a mapping with 'vulnerabilities' and 'bandit'")
    unknown = sorted(set(raw) - {"vulnerabilities", "bandit"})
    if unknown:
        raise ExceptionsError(f"unknown section(s) {', '.join(unknown)}")
    return Exceptions(
        [VulnException(**{k: e[k] for k in VULN_FIELDS}) for e in _entries(raw, "vulnerabilities", VULN_FIELDS)],
        [BanditException(**{k: e[k] for k in BANDIT_FIELDS}) for e in _entries(raw, "bandit", BANDIT_FIELDS)],
    )


def overdue(exceptions: Exceptions, today: dt.date) -> Outcome:
    """A justification is re-read by its review date; past it, the run fails until someone does."""
    outcome = Outcome()
    for entry in [*exceptions.vulnerabilities, *exceptions.bandit]:
        if entry.review_by < today:
            name = entry.id if isinstance(entry, VulnException) else f"{entry.test} in {entry.file}"
            outcome.fail(f"exception {name}: review date {entry.review_by} has passed; review it and set a new date")
    return outcome


def banner(title: str, detail: Sequence[str]) -> List[str]:
    rule = "!" * 78
    return [rule, f"!!! {title}", *[f"!!! {line}" for line in detail], rule]


def judge_pip_audit(report: Optional[Mapping[str, Any]], error: str, exceptions: Exceptions,
                    offline_ok: bool) -> Outcome:
    """pip-audit's JSON report (None when it produced none) against the justified vulnerability ids.

    pip-audit itself exits 0 when it could not look a package up ("skip_reason"): that would pass an
    audit that asked nobody, so skipped packages count as unreachable data here.
    """
    outcome = Outcome()
    if report is None:
        detail = ["pip-audit produced no report, so NO dependency was checked for known vulnerabilities.",
                  *(error.strip().splitlines()[-3:] or ["(no error output)"])]
        _unreachable(outcome, detail, offline_ok)
        return outcome
    dependencies = report.get("dependencies", [])
    justified = {entry.id for entry in exceptions.vulnerabilities}
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dep in dependencies:
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            if ids & justified:
                continue
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            outcome.fail(f"VULNERABLE {dep['name']} {dep.get('version', '')}: {vuln['id']} (fixed in: {fixes}); "
                         "upgrade it in requirements.lock or justify it in docs/security/audit-exceptions.yml")
    outcome.lines.append(f"pip-audit: {audited} of {len(dependencies)} pinned packages checked against "
                         f"vulnerability data, {len(skipped)} not checked")
    if skipped:
        example = skipped[0]["skip_reason"]
        _unreachable(outcome, [f"{len(skipped)} of {len(dependencies)} packages were NOT checked for known "
                               "vulnerabilities, e.g.:", f"  {example}",
                               "The vulnerability service (PyPI's JSON API, or OSV with AUDIT_SERVICE=osv) did not",
                               "answer for them. This is NOT a clean audit."], offline_ok)
    return outcome


def _unreachable(outcome: Outcome, detail: List[str], offline_ok: bool) -> None:
    if offline_ok:
        outcome.lines.extend(banner("VULNERABILITY DATA UNAVAILABLE: DEPENDENCIES NOT AUDITED (AUDIT_OFFLINE_OK=1)",
                                    detail))
    else:
        outcome.lines.extend(banner("VULNERABILITY DATA UNAVAILABLE: DEPENDENCIES NOT AUDITED",
                                    [*detail, "Failing. Set AUDIT_OFFLINE_OK=1 to accept an audit without "
                                     "vulnerability data."]))
        outcome.exit_code = max(outcome.exit_code, EXIT_UNREACHABLE)


def judge_bandit(report: Optional[Mapping[str, Any]], error: str, exceptions: Exceptions,
                 source_line: Callable[[str, int], str]) -> Outcome:
    """bandit's JSON report against the justified findings. A finding is justified by an entry with its
    test id and file whose `code` the flagged line contains; an entry that justifies nothing is stale."""
    outcome = Outcome()
    if report is None:
        outcome.fail("bandit produced no report: " + (error.strip().splitlines() or ["(no error output)"])[-1])
        return outcome
    for failed in report.get("errors", []):
        outcome.fail(f"bandit could not scan {failed.get('filename')}: {failed.get('reason')}")
    used = set()
    results = report.get("results", [])
    for result in results:
        filename = _relative(result["filename"])
        line = source_line(filename, result["line_number"])
        matches = [e for e in exceptions.bandit
                   if e.test == result["test_id"] and e.file == filename and e.code in line]
        if matches:
            used.update(matches)
            continue
        outcome.fail(f"{filename}:{result['line_number']}: {result['test_id']} {result['issue_text']} "
                     f"(severity {result['issue_severity']}, confidence {result['issue_confidence']}): "
                     "fix it, or justify it in docs/security/audit-exceptions.yml")
    for entry in exceptions.bandit:
        if entry not in used:
            outcome.fail(f"stale exception {entry.test} in {entry.file} ({entry.code!r}) matches no finding; remove it")
    outcome.lines.append(f"bandit: {len(results)} findings, {len(results) - _count_unjustified(outcome)} justified "
                         f"in the exceptions file")
    return outcome


def _count_unjustified(outcome: Outcome) -> int:
    return sum(1 for line in outcome.lines if "fix it, or justify it" in line)


def _relative(filename: str) -> str:
    path = Path(filename)
    if path.is_absolute():
        path = path.relative_to(ROOT)
    return path.as_posix().removeprefix("./")


def _source_line(filename: str, number: int) -> str:
    lines = (ROOT / filename).read_text(encoding="utf-8").splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _run_json(command: List[str], output: Path) -> tuple[Optional[Dict[str, Any]], str]:
    """Run a tool that writes a JSON report to `output`: (the report or None, its error output)."""
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # nosec B603
    try:
        return json.loads(output.read_text(encoding="utf-8")), completed.stderr
    except (OSError, ValueError):
        return None, completed.stderr + completed.stdout


def run_pip_audit(exceptions: Exceptions, workdir: Path, service: str) -> tuple[Optional[Dict[str, Any]], str]:
    output = workdir / "pip-audit.json"
    # --no-deps --disable-pip: audit exactly the pinned set in requirements.lock, installing nothing.
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(LOCK_FILE), "--no-deps", "--disable-pip",
               "--vulnerability-service", service, "--progress-spinner", "off", "--format", "json",
               "--output", str(output)]
    for entry in exceptions.vulnerabilities:
        command += ["--ignore-vuln", entry.id]
    return _run_json(command, output)


def run_bandit(workdir: Path) -> tuple[Optional[Dict[str, Any]], str]:
    output = workdir / "bandit.json"
    # No bandit baseline and no skipped tests: every finding is judged against the exceptions file.
    command = [sys.executable, "-m", "bandit", "--recursive", *BANDIT_TARGETS, "--format", "json",
               "--output", str(output), "--quiet"]
    return _run_json(command, output)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exceptions", type=Path, default=EXCEPTIONS_FILE)
    args = parser.parse_args(argv)
    offline_ok = os.environ.get("AUDIT_OFFLINE_OK") == "1"
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    try:
        exceptions = parse_exceptions(args.exceptions.read_text(encoding="utf-8"))
    except (OSError, ExceptionsError, TypeError) as bad:
        print(f"audit: {args.exceptions}: {bad}", file=sys.stderr)
        return EXIT_FINDINGS
    outcomes = [overdue(exceptions, dt.date.today())]
    with tempfile.TemporaryDirectory(prefix="backtalk-audit-") as tmp:
        outcomes.append(judge_bandit(*run_bandit(Path(tmp)), exceptions, _source_line))
        outcomes.append(judge_pip_audit(*run_pip_audit(exceptions, Path(tmp), service), exceptions, offline_ok))
    for outcome in outcomes:
        for line in outcome.lines:
            print(line)
    code = max(outcome.exit_code for outcome in outcomes)
    findings = any(outcome.exit_code == EXIT_FINDINGS for outcome in outcomes)
    unaudited = any("NOT AUDITED" in line for outcome in outcomes for line in outcome.lines)
    if code == EXIT_OK:
        verdict = "passed" + (" for our code; dependencies NOT audited (AUDIT_OFFLINE_OK=1)" if unaudited else "")
    else:
        verdict = "FAILED: " + " and ".join([*(["findings above"] if findings else []),
                                             *(["dependencies not audited (no vulnerability data)"] if unaudited else [])])
    print(f"audit: {verdict}")
    return code


if __name__ == "__main__":
    sys.exit(main())
