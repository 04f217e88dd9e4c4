"""Outcome prediction: latency of one prediction with its graph, and training time and memory.

Unlike the other benchmarks this one starts no server: it times bot.prediction in-process.

- Latency: a model is trained on the default 10 000 synthetic patients, then every one of
  ``--patients`` other synthetic patients is predicted, drawn (PNG) and described (text
  alternative), as the conversation does. The first graph of a layout (language, labels, date)
  builds a figure that later graphs reuse, so it is reported apart: once per language.
- Training: each size runs in a fresh child process (so one size's memory cannot hide in another's)
  that generates the cohort and trains the full model. Peak memory is reported twice: the Python
  heap (tracemalloc) and the process's peak resident set (getrusage), which also counts XGBoost's
  own allocations that tracemalloc cannot see.

Wall and CPU time are both reported: on a shared machine the wall time includes waiting for a core.
Run from the project root: ``.venv/bin/python -m benchmarks.prediction [--patients N] [--sizes 10000 100000]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import date
from typing import Any, Callable, Dict, List, Sequence, Tuple

import matplotlib
import numpy as np
import xgboost as xgb

from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.prediction.cohort import generate
from bot.prediction.forecast import forecast
from bot.prediction.graph import ENGLISH_LABELS
from bot.prediction.predict import FUNCTION_ITEMS, FUNCTION_POINTS_PER_ITEM, predict
from bot.prediction.schema import Cohort
from bot.prediction.train import DEFAULT_ROWS, DEFAULT_SEED, synthetic_source, train, train_synthetic

TODAY = date(2026, 1, 5)
PREDICTOR_ITEMS = ("age_band", "sex", "pain_site", "episode_duration", "previous_episodes", "recovery_expectation",
                   "work_status", *(f"sbt_{n}" for n in range(1, 10)))


def patient_answers(cohort: Cohort, row: int) -> Dict[str, Any]:
    """A generated patient as conversation slots; the six function items reproduce function_now
    to the nearest 4 points (the chat's scale)."""
    c = cohort.columns
    answers: Dict[str, Any] = {"consent": True, "pain_now": int(c["pain_now"][row])}
    answers.update({item: str(c[item][row]) for item in PREDICTOR_ITEMS})
    yes = int(round(c["function_now"][row] / FUNCTION_POINTS_PER_ITEM))
    answers.update({item: n < yes for n, item in enumerate(FUNCTION_ITEMS)})
    if answers["work_status"] != "not_in_paid_work":
        answers.update(days_off=int(c["days_off"][row]), work_expectation=str(c["work_expectation"][row]))
    return answers


def timed(call: Callable[[], Any]) -> Tuple[float, float]:
    """Wall and CPU milliseconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return 1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)


def percentile(values: Sequence[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def latency(patients: int) -> List[List[str]]:
    model = train_synthetic(DEFAULT_ROWS, DEFAULT_SEED)
    cohort = generate(patients, DEFAULT_SEED + 1)
    everyone = [patient_answers(cohort, row) for row in range(patients)]
    cold = [timed(lambda language=language: forecast(everyone[0], language=language, labels=ENGLISH_LABELS,
                                                       today=TODAY, model=model))
            for language in SUPPORTED_LANGUAGES]
    rows = []
    for name, call in (
        ("predict only", lambda a: predict(a, model)),
        ("predict + graph + text", lambda a: forecast(a, language="en", labels=ENGLISH_LABELS, today=TODAY, model=model)),
    ):
        samples = [timed(lambda a=a: call(a)) for a in everyone]
        walls, cpus = [s[0] for s in samples], [s[1] for s in samples]
        rows.append([name, str(len(samples)), f"{percentile(walls, 50):.1f}", f"{percentile(walls, 95):.1f}",
                     f"{max(walls):.1f}", f"{percentile(cpus, 50):.1f}", f"{percentile(cpus, 95):.1f}"])
    walls, cpus = [c[0] for c in cold], [c[1] for c in cold]
    rows.append(["first graph of a language", str(len(cold)), f"{percentile(walls, 50):.1f}",
                 f"{percentile(walls, 95):.1f}", f"{max(walls):.1f}", f"{percentile(cpus, 50):.1f}",
                 f"{percentile(cpus, 95):.1f}"])
    return rows


def train_child(rows: int) -> Dict[str, float]:
    """In a fresh process: generate ``rows`` patients and train, measuring time and memory."""
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    cohort = generate(rows, DEFAULT_SEED)
    generated_wall = time.perf_counter() - wall
    train_wall, train_cpu = time.perf_counter(), time.process_time()
    train(cohort, synthetic_source(rows, DEFAULT_SEED), DEFAULT_SEED)
    return {
        "rows": rows,
        "generate_s": generated_wall,
        "train_wall_s": time.perf_counter() - train_wall,
        "train_cpu_s": time.process_time() - train_cpu,
        "total_wall_s": time.perf_counter() - wall,
        "total_cpu_s": time.process_time() - cpu,
        "python_peak_mb": tracemalloc.get_traced_memory()[1] / 1e6,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def training(sizes: Sequence[int]) -> List[List[str]]:
    rows = []
    for size in sizes:
        child = subprocess.run([sys.executable, "-m", "benchmarks.prediction", "--train-child", str(size)],
                               capture_output=True, text=True, check=True)
        m = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append([f"{size:,}", f"{m['generate_s']:.1f}", f"{m['train_wall_s']:.1f}", f"{m['train_cpu_s']:.1f}",
                     f"{m['python_peak_mb']:.0f}", f"{m['max_rss_mb']:.0f}"])
    return rows


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--train-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_child is not None:
        print(json.dumps(train_child(args.train_child)))
        return 0
    print(f"nproc {os.cpu_count()}, Python {platform.python_version()}, XGBoost {xgb.__version__}, "
          f"matplotlib {matplotlib.__version__}, numpy {np.__version__}, {platform.platform()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\nLatency per patient, ms (model: {DEFAULT_ROWS:,} synthetic patients)\n")
    print(table(["call", "patients", "wall p50", "wall p95", "wall max", "CPU p50", "CPU p95"], latency(args.patients)))
    print("\nTraining (generate + train all nine models), fresh process per size\n")
    print(table(["rows", "generate s", "train wall s", "train CPU s", "Python heap peak MB (tracemalloc)",
                 "process peak RSS MB (getrusage)"], training(args.sizes)))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
