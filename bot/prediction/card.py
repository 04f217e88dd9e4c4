"""The model card saved next to every model: where the data came from, what the model sees, how it
was trained and how well it did on patients it was not trained on (Mitchell et al., "Model Cards
for Model Reporting", FAT* 2019). A model from synthetic data says so first, in capitals."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

SYNTHETIC_STATEMENT = (
    "SYNTHETIC DATA. This model was trained on simulated patients whose distributions and effects "
    "come from published figures (data/prediction/cohort_parameters.yml). It has not been trained or "
    "validated on real patients. Its predictions are illustrative only and must not guide care."
)
COHORT_STATEMENT = (
    "Trained on a patient cohort supplied by the operator. The metrics below come from a held-out "
    "part of the same cohort (internal validation only); no external validation has been done."
)
INTENDED_USE = (
    "After a completed BackTalk triage without red flags on the low back pain (STarT Back) path: show an adult "
    "the likely course of pain, disability and work absence over 6 months, with its uncertainty, "
    "next to the typical course for their risk group. Not a diagnosis and not a treatment decision."
)
LIMITATIONS = (
    "Predictions describe patients like those in the training data, receiving the care they received.",
    "Not for neck pain: the STarT MSK (neck) path gets no outlook, because no published figures give "
    "the course of neck pain by STarT MSK answers, and its points per answer are unverified "
    "(docs/prediction.md, 'Neck pain'); the conversation tells neck patients so. Patients answering "
    "'both' are scored on the STarT MSK path and get no outlook either.",
    "Realistic external C-statistics for back-pain prognosis are 0.66-0.75 (PICKUP, da Silva 2019); "
    "much higher values on synthetic data only reflect how the data were generated.",
)
DATABASE_STATEMENT = (
    "Trained on follow-up outcomes recorded by BackTalk itself: the triage answers and the patients' own "
    "check-in answers at 6 weeks, 3 and 6 months (`backtalk predictor train --from-database`). The metrics "
    "below come from a held-out part of the same patients (internal validation only)."
)
DATABASE_LIMITATIONS = (
    "Only patients who agreed to check-ins and answered them are in the data; those who stopped answering "
    "may have fared differently (better or worse), which the model cannot see.",
    "The outcomes include whatever care the patients received after the triage; a change in local practice "
    "changes what the model should predict.",
)
SYNTHETIC_LIMITATIONS = (
    "The simulated disability is on the RMDQ's 0-24 metric; the conversation asks BackTalk's own "
    "six-item scale rescaled to 0-24, whose agreement with the RMDQ is assumed, not validated "
    "(docs/decisions/0004-function-measure.md).",
    "Effects without a published size are assumptions (basis: assumption in the parameter file).",
)
COHORT_LIMITATIONS = (
    "The cohort's function columns must hold the same 0-24 measure the conversation asks; the "
    "training cannot check this (docs/decisions/0004-function-measure.md).",
)


def _metric_rows(metrics: Mapping[str, Mapping[str, Any]]) -> List[str]:
    rows = ["| outcome | patients | MAE | 80 % interval coverage | mean interval width |",
            "|---|---|---|---|---|"]
    for name, m in metrics.items():
        if "coverage_80" in m:
            rows.append(f"| {name} | {m['n']} | {m['mae']:.2f} | {m['coverage_80']:.1%} | {m['interval_width']:.1f} |")
    rows += ["", "| outcome | patients | events | C-statistic | calibration slope | calibration intercept | Brier |",
             "|---|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        if "c_statistic" in m:
            rows.append(f"| {name} | {m['n']} | {m['events']} | {m['c_statistic']:.3f} | "
                        f"{m['calibration_slope']:.2f} | {m['calibration_intercept']:.2f} | {m['brier']:.3f} |")
    return rows


def _calibration_rows(metrics: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """Observed against predicted per decile of the prediction, one line per outcome."""
    rows = ["Each cell: mean predicted / observed (patients), from the lowest to the highest tenth of "
            "the prediction (fewer groups when there are under 100 patients). Pain and function: the "
            "predicted median against the observed mean; work: the predicted probability against the "
            "observed share. Interval tails: share below the 10th and above the 90th percentile "
            "(10 % each when calibrated).", ""]
    for name, m in metrics.items():
        if "calibration_bins" not in m:
            continue
        probability = "c_statistic" in m
        cells = [(f"{b['predicted']:.0%} / {b['observed']:.0%}" if probability
                  else f"{b['predicted']:.1f} / {b['observed']:.1f}") + f" ({b['n']})" for b in m["calibration_bins"]]
        tails = (f"; tails {m['below_10']:.1%} below, {m['above_90']:.1%} above" if "below_10" in m else "")
        rows.append(f"- {name}: " + ", ".join(cells) + tails)
    return rows


def _comparison_rows(comparison: Mapping[str, Any]) -> List[str]:
    rows = [f"- decision: **{comparison['decision']}**",
            *(f"- {reason}" for reason in comparison["reasons"]),
            f"- compared with: {comparison.get('current') or 'no current model'}",
            f"- rule: {comparison['rule']}"]
    if comparison.get("scores"):
        rows += ["", "| outcome | score | new model | current model |", "|---|---|---|---|"]
        for name, s in comparison["scores"].items():
            current = "" if s.get("current") is None else f"{s['current']:.4f}"
            rows.append(f"| {name} | {s['score']} | {s['new']:.4f} | {current} |")
    return rows


def render_markdown(card: Mapping[str, Any]) -> str:
    """The card as a page a clinician can read; the JSON in manifest.json holds the same facts."""
    data = card["data"]
    lines = [f"# Model card: {card['model']['name']}", ""]
    lines += [f"**{data['statement']}**", ""] if data["synthetic"] else [data["statement"], ""]
    lines += [
        "## Data provenance", "",
        f"- source: {data['description']}",
        f"- rows: {data['rows']} ({data['training_rows']} for training, {data['holdout_rows']} held out)",
        f"- fingerprint (SHA-256): `{data['sha256']}`",
        *(f"- {key}: {value}" for key, value in data.get("details", {}).items()),
        "", "## Intended use", "", card["intended_use"], "",
        "## What is predicted", "",
        *(f"- {line}" for line in card["outcomes"]),
        "", "## Features", "", ", ".join(card["features"]), "",
        "## Training", "",
        *(f"- {key}: {value}" for key, value in card["hyperparameters"].items()),
        f"- created: {card['model']['created']}, XGBoost {card['model']['xgboost']}",
        "", "## Metrics on the held-out patients", "", *_metric_rows(card["metrics"]), "",
        "## Calibration on the held-out patients", "", *_calibration_rows(card["metrics"]), "",
        *(["## Switch-in decision", "", *_comparison_rows(card["comparison"]), ""] if card.get("comparison") else []),
        "## Limitations", "", *(f"- {line}" for line in card["limitations"]), "",
    ]
    return "\n".join(lines)


def outcome_descriptions() -> List[str]:
    return [
        "pain, 0-10: the 10th, 50th and 90th percentile (an 80 % interval around the median)",
        "function (disability), 0-24, higher is worse: the same three percentiles",
        "off work because of the pain (patients in paid work): calibrated probability",
        "each at 6, 13 and 26 weeks after the triage",
    ]


def card_skeleton(name: str, created: str, xgboost_version: str, data: Dict[str, Any]) -> Dict[str, Any]:
    if data["synthetic"]:
        statement = SYNTHETIC_STATEMENT
    else:
        statement = DATABASE_STATEMENT if data["kind"] == "database" else COHORT_STATEMENT
    return {
        "model": {"name": name, "created": created, "xgboost": xgboost_version},
        "data": {**data, "statement": statement},
        "intended_use": INTENDED_USE,
        "outcomes": outcome_descriptions(),
        "limitations": [*LIMITATIONS, *(SYNTHETIC_LIMITATIONS if data["synthetic"] else COHORT_LIMITATIONS),
                        *(DATABASE_LIMITATIONS if data["kind"] == "database" else ())],
    }
