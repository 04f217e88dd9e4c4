"""Intent quality per language, training time and parse latency of the one multilingual model.

    python -m benchmarks.nlu_report [--folds 5]

1. Stratified k-fold cross-validation over all NLU examples (every language in one model, as
   deployed): for each fold one model is trained on the rest with the project's config.yml, and
   the held-out examples are parsed. Reported per language: intent precision, recall and F1
   (macro over intents), how often the fallback threshold fired, and the most frequent confusions.
   The classifier's top intent is scored (FallbackClassifier only relabels low-confidence
   predictions as nlu_fallback, which the triage form treats as free text).
2. Training time of the full model (NLU and dialogue) for all twelve languages.
3. Parse latency of the multilingual model against an English-only model on the same English
   messages, measured in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import yaml  # noqa: E402
from sklearn.metrics import precision_recall_fscore_support  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from bot.paths import PROJECT_ROOT  # noqa: E402

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
CONFIG = os.environ.get("NLU_REPORT_CONFIG", str(PROJECT_ROOT / "config.yml"))
Example = Tuple[str, str, str]  # language, intent, text


def load_examples() -> List[Example]:
    examples: List[Example] = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        language = path.stem
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block["examples"].splitlines():
                text = line.strip()[2:].strip() if line.strip().startswith("- ") else ""
                if text:
                    examples.append((language, block["intent"], text))
    return examples


def write_nlu(examples: Sequence[Example], path: Path) -> None:
    by_intent: Dict[str, List[str]] = defaultdict(list)
    for _language, intent, text in examples:
        by_intent[intent].append(text)
    data = {"version": "3.1", "nlu": [{"intent": i, "examples": "".join(f"- {t}\n" for t in texts)}
                                      for i, texts in by_intent.items()]}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def train_nlu_model(examples: Sequence[Example], workdir: Path, name: str) -> Tuple[str, float]:
    from rasa.model_training import train_nlu

    data = workdir / f"{name}.yml"
    write_nlu(examples, data)
    started = time.perf_counter()
    model = train_nlu(CONFIG, str(data), str(workdir), fixed_model_name=name)
    return str(model), time.perf_counter() - started


async def parse_all(model: str, texts: Sequence[str]) -> Tuple[List[str], List[bool], List[float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    intents, fallbacks, seconds = [], [], []
    for text in texts:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        seconds.append(time.perf_counter() - started)
        ranking = [r["name"] for r in parsed.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
        intents.append(ranking[0] if ranking else parsed["intent"]["name"])
        fallbacks.append(parsed["intent"]["name"] == "nlu_fallback")
    return intents, fallbacks, seconds


def cross_validate(examples: List[Example], folds: int, workdir: Path) -> List[Tuple[Example, str, bool]]:
    labels = [f"{language}/{intent}" for language, intent, _ in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=42)
    results: List[Tuple[Example, str, bool]] = []
    for fold, (train_index, test_index) in enumerate(splitter.split(examples, labels)):
        model, seconds = train_nlu_model([examples[i] for i in train_index], workdir, f"fold{fold}")
        held_out = [examples[i] for i in test_index]
        predicted, fallbacks, _ = asyncio.run(parse_all(model, [text for _, _, text in held_out]))
        results += list(zip(held_out, predicted, fallbacks))
        print(f"fold {fold + 1}/{folds}: trained in {seconds:.1f} s, {len(held_out)} held out", flush=True)
    return results


def report(results: List[Tuple[Example, str, bool]]) -> None:
    by_language: Dict[str, List[Tuple[Example, str, bool]]] = defaultdict(list)
    for row in results:
        by_language[row[0][0]].append(row)
    print("\n| language | examples | precision | recall | macro-F1 | fallback rate |")
    print("|---|---:|---:|---:|---:|---:|")
    for language in [*sorted(by_language), "ALL"]:
        rows = results if language == "ALL" else by_language[language]
        truth = [example[1] for example, _, _ in rows]
        predicted = [p for _, p, _ in rows]
        precision, recall, f1, _ = precision_recall_fscore_support(
            truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0
        )
        fallback = sum(f for _, _, f in rows) / len(rows)
        print(f"| {language} | {len(rows)} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {fallback:.1%} |")
    confusions = Counter((example[0], example[1], p) for example, p, _ in results if example[1] != p)
    print("\nMost frequent confusions (language: true -> predicted, count):")
    for (language, true, predicted), count in confusions.most_common(15):
        print(f"  {language}: {true} -> {predicted}  {count}")


def training_and_latency(examples: List[Example], workdir: Path) -> None:
    from rasa.model_training import train

    started = time.perf_counter()
    train(str(PROJECT_ROOT / "domain.yml"), CONFIG, [str(NLU_DIR), str(PROJECT_ROOT / "data" / "rules.yml")],
          output=str(workdir / "full"), fixed_model_name="all", force_training=True)
    full_seconds = time.perf_counter() - started
    multilingual, _ = train_nlu_model(examples, workdir, "multilingual")
    english_only, _ = train_nlu_model([e for e in examples if e[0] == "en"], workdir, "english")
    texts = [text for language, _, text in examples if language == "en"] * 3
    latencies = {}
    for name, model in (("English-only", english_only), ("all twelve", multilingual)):
        _, _, seconds = asyncio.run(parse_all(model, texts))
        latencies[name] = seconds
    print(f"\nFull model (NLU + dialogue, {len({e[0] for e in examples})} data files, {len(examples)} examples) "
          f"trained from scratch in {full_seconds:.1f} s")
    print("\n| NLU model | messages | p50 ms | p95 ms | mean ms |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in latencies.items():
        ordered = sorted(seconds)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"| {name} | {len(seconds)} | {statistics.median(seconds) * 1000:.2f} | {p95 * 1000:.2f} | "
              f"{statistics.mean(seconds) * 1000:.2f} |")
    ratio = statistics.median(latencies["all twelve"]) / statistics.median(latencies["English-only"])
    print(f"\nmedian parse latency, all twelve / English-only: {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import structlog  # Rasa logs every parse at debug level through structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    examples = load_examples()
    with tempfile.TemporaryDirectory(prefix="nlu-report-") as tmp:
        results = cross_validate(examples, args.folds, Path(tmp))
        report(results)
        training_and_latency(examples, Path(tmp))


if __name__ == "__main__":
    main()
