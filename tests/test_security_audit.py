"""tools/audit.py (`make audit`): how pip-audit's and bandit's reports are judged against the justified
findings in docs/security/audit-exceptions.yml. The tools themselves run in .venv-audit (`make audit`)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tools.audit import (BANDIT_TARGETS, EXCEPTIONS_FILE, EXIT_FINDINGS, EXIT_OK, EXIT_UNREACHABLE, ROOT,
                         ExceptionsError, judge_bandit, judge_pip_audit, overdue, parse_exceptions)

EXCEPTIONS = parse_exceptions("""
vulnerabilities:
  - {id: GHSA-aaaa-bbbb-cccc, package: demo, why: only reachable through a feature we never enable, review_by: 2099-01-01}
bandit:
  - {test: B603, file: bot/stack.py, code: subprocess.Popen(, why: fixed argument lists and never a shell, review_by: 2099-01-01}
""")


def dep(name: str, *vulns: str) -> dict:
    return {"name": name, "version": "1.0", "vulns": [{"id": v, "fix_versions": ["1.1"], "aliases": []} for v in vulns]}


def test_the_projects_exceptions_file_is_valid_and_not_overdue() -> None:
    exceptions = parse_exceptions(EXCEPTIONS_FILE.read_text(encoding="utf-8"))
    assert overdue(exceptions, dt.date.today()).exit_code == EXIT_OK
    for entry in exceptions.bandit:
        path = ROOT / entry.file
        assert path.parts[len(ROOT.parts)] in BANDIT_TARGETS and path.is_file(), entry
        assert entry.code in path.read_text(encoding="utf-8"), f"{entry.file} no longer contains {entry.code!r}"


def test_a_clean_report_passes_and_says_how_many_were_checked() -> None:
    outcome = judge_pip_audit({"dependencies": [dep("a"), dep("b")]}, "", EXCEPTIONS, offline_ok=False)
    assert outcome.exit_code == EXIT_OK
    assert "2 of 2 pinned packages checked" in outcome.lines[-1]


def test_an_unjustified_vulnerability_fails_and_a_justified_one_passes() -> None:
    outcome = judge_pip_audit({"dependencies": [dep("a", "PYSEC-2024-1"), dep("demo", "GHSA-aaaa-bbbb-cccc")]},
                              "", EXCEPTIONS, offline_ok=True)
    assert outcome.exit_code == EXIT_FINDINGS
    assert [line for line in outcome.lines if line.startswith("VULNERABLE")] == [
        "VULNERABLE a 1.0: PYSEC-2024-1 (fixed in: 1.1); upgrade it in requirements.lock or justify it in "
        "docs/security/audit-exceptions.yml"]


def test_a_justification_by_alias_counts() -> None:
    report = {"dependencies": [{"name": "demo", "version": "1", "vulns": [
        {"id": "PYSEC-2020-9", "aliases": ["GHSA-aaaa-bbbb-cccc"], "fix_versions": []}]}]}
    assert judge_pip_audit(report, "", EXCEPTIONS, offline_ok=False).exit_code == EXIT_OK


@pytest.mark.parametrize("report", [
    None,  # pip-audit crashed (e.g. the service's host does not resolve)
    {"dependencies": [dep("a"), {"name": "b", "skip_reason": "Dependency not found on PyPI and could not be audited"}]},
])
def test_missing_vulnerability_data_fails_loudly_unless_accepted(report: dict | None) -> None:
    refused = judge_pip_audit(report, "ConnectionError: api.osv.dev", EXCEPTIONS, offline_ok=False)
    assert refused.exit_code == EXIT_UNREACHABLE
    text = "\n".join(refused.lines)
    assert "VULNERABILITY DATA UNAVAILABLE: DEPENDENCIES NOT AUDITED" in text and "!!!!!!!!" in text
    accepted = judge_pip_audit(report, "ConnectionError: api.osv.dev", EXCEPTIONS, offline_ok=True)
    assert accepted.exit_code == EXIT_OK
    assert "DEPENDENCIES NOT AUDITED (AUDIT_OFFLINE_OK=1)" in "\n".join(accepted.lines)


def bandit_result(test_id: str, filename: str, line: int) -> dict:
    return {"test_id": test_id, "filename": filename, "line_number": line, "issue_text": "demo",
            "issue_severity": "LOW", "issue_confidence": "HIGH"}


def test_bandit_findings_pass_only_when_justified_for_that_test_file_and_line() -> None:
    lines = {("bot/stack.py", 10): "        process = subprocess.Popen(", ("bot/stack.py", 20): "subprocess.call(x)",
             ("bot/cli.py", 5): "        subprocess.Popen("}
    read = lambda name, number: lines[(name, number)]  # noqa: E731
    justified = judge_bandit({"results": [bandit_result("B603", "./bot/stack.py", 10)]}, "", EXCEPTIONS, read)
    assert justified.exit_code == EXIT_OK
    for other in (bandit_result("B603", "bot/stack.py", 20),  # another call in the same file
                  bandit_result("B603", "bot/cli.py", 5),  # the same code in another file
                  bandit_result("B602", "bot/stack.py", 10)):  # another test on the same line
        outcome = judge_bandit({"results": [bandit_result("B603", "bot/stack.py", 10), other]}, "", EXCEPTIONS, read)
        assert outcome.exit_code == EXIT_FINDINGS
        assert sum("fix it, or justify it" in line for line in outcome.lines) == 1


def test_a_stale_bandit_exception_and_a_missing_report_fail() -> None:
    stale = judge_bandit({"results": []}, "", EXCEPTIONS, lambda name, number: "")
    assert stale.exit_code == EXIT_FINDINGS and "stale exception B603 in bot/stack.py" in stale.lines[0]
    assert judge_bandit(None, "Traceback ...\nImportError: bandit", EXCEPTIONS, lambda n, i: "").exit_code == EXIT_FINDINGS


def test_an_overdue_review_fails() -> None:
    assert overdue(EXCEPTIONS, dt.date(2099, 1, 2)).exit_code == EXIT_FINDINGS
    assert overdue(EXCEPTIONS, dt.date(2099, 1, 1)).exit_code == EXIT_OK


@pytest.mark.parametrize("text, problem", [
    ("bandit: [{test: B101, file: x.py, code: assert, review_by: 2099-01-01}]", "missing why"),
    ("bandit: [{test: B101, file: x.py, code: assert, why: fine, review_by: 2099-01-01}]", "must say why"),
    ("vulnerabilities: [{id: X, package: p, why: a reason with enough words, review_by: soon}]", "must be a date"),
    ("bandit: [{test: B101, file: x.py, code: a, why: a reason with enough words, review_by: 2099-01-01, line: 3}]",
     "unknown field"),
    ("nosec: []", "unknown section"),
])
def test_a_malformed_exceptions_file_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ExceptionsError, match=problem):
        parse_exceptions(text)


def test_ci_runs_the_audit_after_the_tests_and_the_tools_live_in_their_own_venv() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("make test") < ci.index("make fault") < ci.index("make audit")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(AUDIT_VENV)/bin/python -m pip install --quiet --requirement requirements-audit.txt" in makefile
    pins = [line for line in (ROOT / "requirements-audit.txt").read_text().splitlines() if line and line[0] != "#"]
    assert all("==" in pin for pin in pins) and any(p.startswith("pip_audit==") for p in pins)
    assert any(p.startswith("bandit==") for p in pins)
