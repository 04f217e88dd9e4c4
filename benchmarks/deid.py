"""De-identification benchmark: recall and precision of bot.privacy.scrub per language and type.

    python -m benchmarks.deid [--rounds 20] [--seed 7] [--show-misses]

A synthetic test set, built fresh from a seed: the patient-like sentences of
benchmarks/deid_sentences.yml, their slots filled with Faker's per-locale values (names, phones,
e-mails, street addresses, postcodes and towns, ID numbers), Babel-formatted dates and times, and ages
over 89. Every filled slot is a planted identifier.

- recall: a planted identifier counts as caught when every character of it (spaces aside) lies inside
  some finding, whatever its placeholder type (a phone number replaced as [ID] has still left);
- precision: the share of findings that overlap a planted identifier (the `plain` sentences, with
  words like "Will", "Rosa", "7/10", add findings that can only be false alarms).

Faker is a development dependency; tests/test_deid.py holds the floor CI enforces.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import yaml
from babel.dates import format_date

from bot.privacy.gazetteer import FAKER_LOCALES
from bot.privacy.scrub import Finding, Scrubber

SENTENCES = Path(__file__).with_name("deid_sentences.yml")
SLOT = re.compile(r"\{(\w+)\}")
TYPE_OF_SLOT = {
    "name": "NAME", "first": "NAME", "last": "NAME", "phone": "PHONE", "email": "EMAIL", "email_spaced": "EMAIL",
    "url": "URL", "date": "DATE", "time": "TIME", "street": "ADDRESS", "postcode_town": "ADDRESS", "id": "ID",
    "age": "AGE",
}
TYPES = sorted(set(TYPE_OF_SLOT.values()))


@dataclass
class Example:
    language: str
    text: str
    planted: List[Tuple[str, int, int]] = field(default_factory=list)  # (type, start, end)


def _id_number(fake, language: str, rng: random.Random) -> str:
    """An ID or insurance number in the country's usual shape (Faker's ssn where it has a local one)."""
    digits = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    local: Dict[str, Callable[[], str]] = {
        "de": lambda: rng.choice("ABCDEFGHKLMNPRSTUVWXZ") + digits(9),
        "es": lambda: digits(8) + rng.choice("TRWAGMYFPDXBNJZSQVHLCKE"),
        "da": lambda: f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(30, 99)}-{digits(4)}",
        "pt": lambda: digits(9),
    }
    return local[language]() if language in local else fake.ssn()


def _value(slot: str, fake, language: str, rng: random.Random) -> str:
    if slot == "name":
        return f"{fake.first_name()} {fake.last_name()}"
    if slot == "first":
        return fake.first_name()
    if slot == "last":
        return fake.last_name()
    if slot == "phone":
        return fake.phone_number()
    if slot == "email":
        return fake.email()
    if slot == "email_spaced":
        user, domain = fake.email().split("@")
        return rng.choice([f"{user} @ {domain}", f"{user}(at){domain}", f"{user} @{domain.replace('.', ' . ')}"])
    if slot == "url":
        return rng.choice([fake.url().rstrip("/"), f"www.{fake.domain_name()}", fake.domain_name()])
    if slot == "date":
        moment = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 90))
        return format_date(moment, format=rng.choice(["short", "medium", "long"]), locale=language)
    if slot == "time":
        hour, minute = rng.randrange(7, 20), rng.choice([0, 15, 30, 45, 10, 50])
        return {"fr": f"{hour}h{minute:02d}", "da": f"{hour}.{minute:02d}", "nb": f"{hour}.{minute:02d}"}.get(
            language, f"{hour}:{minute:02d}")
    if slot == "street":
        return fake.street_address().strip()
    if slot == "postcode_town":
        return f"{fake.postcode()} {fake.city()}"
    if slot == "id":
        return _id_number(fake, language, rng)
    if slot == "age":
        return str(rng.randint(90, 104))
    raise KeyError(slot)


def build_set(rounds: int = 20, seed: int = 7) -> List[Example]:
    from faker import Faker

    rng = random.Random(seed)
    sentences = yaml.safe_load(SENTENCES.read_text(encoding="utf-8"))
    examples: List[Example] = []
    for language, templates in sentences.items():
        fake = Faker(FAKER_LOCALES[language])
        fake.seed_instance(seed)
        for _ in range(rounds):
            for template in templates["planted"]:
                example = Example(language, "")
                position = 0
                for match in SLOT.finditer(template):
                    example.text += template[position:match.start()]
                    value = _value(match.group(1), fake, language, rng)
                    start = len(example.text)
                    example.text += value
                    example.planted.append((TYPE_OF_SLOT[match.group(1)], start, len(example.text)))
                    position = match.end()
                example.text += template[position:]
                examples.append(example)
        examples.extend(Example(language, text) for text in templates["plain"])
    return examples


def _caught(start: int, end: int, text: str, findings: List[Finding]) -> bool:
    return all(ch.isspace() or any(f.start <= i < f.end for f in findings)
               for i, ch in zip(range(start, end), text[start:end]))


@dataclass
class Counts:
    planted: int = 0
    caught: int = 0
    findings: int = 0
    true_findings: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        return self.true_findings / self.findings if self.findings else 1.0


def measure(examples: List[Example], show_misses: bool = False) -> Tuple[Dict[str, Counts], Dict[Tuple[str, str], Counts]]:
    """Counts per language, and per (language, type)."""
    scrubber = Scrubber()
    by_language: Dict[str, Counts] = defaultdict(Counts)
    by_type: Dict[Tuple[str, str], Counts] = defaultdict(Counts)
    for example in examples:
        findings = scrubber.findings(example.text, example.language)
        language = by_language[example.language]
        for kind, start, end in example.planted:
            hit = _caught(start, end, example.text, findings)
            for counts in (language, by_type[(example.language, kind)]):
                counts.planted += 1
                counts.caught += hit
            if not hit and show_misses:
                print(f"MISS {example.language} {kind}: {example.text[start:end]!r} in {example.text!r}", file=sys.stderr)
        for finding in findings:
            true = any(finding.start < end and start < finding.end for _, start, end in example.planted)
            language.findings += 1
            language.true_findings += true
            if not true and show_misses:
                print(f"FALSE {example.language} {finding.label}: {example.text[finding.start:finding.end]!r}",
                      file=sys.stderr)
    return by_language, by_type


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="times each sentence is filled (default 20)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show-misses", action="store_true", help="print every missed identifier and false alarm")
    args = parser.parse_args(argv)
    examples = build_set(args.rounds, args.seed)
    Scrubber().findings("warm up", "en")
    started = time.perf_counter()
    by_language, by_type = measure(examples, args.show_misses)
    seconds = time.perf_counter() - started
    print(f"{'lang':5} {'ids':>5} {'recall':>7} {'prec.':>6}  " + " ".join(f"{t:>7}" for t in TYPES))
    for language in FAKER_LOCALES:
        counts = by_language[language]
        per_type = " ".join(f"{by_type[(language, t)].recall:7.3f}" if by_type[(language, t)].planted else "      -"
                            for t in TYPES)
        print(f"{language:5} {counts.planted:5d} {counts.recall:7.3f} {counts.precision:6.3f}  {per_type}")
    total = Counts(*(sum(getattr(c, f) for c in by_language.values())
                     for f in ("planted", "caught", "findings", "true_findings")))
    print(f"{'all':5} {total.planted:5d} {total.recall:7.3f} {total.precision:6.3f}")
    print(f"{len(examples)} sentences in {seconds:.1f} s ({len(examples) / seconds:.0f} per second, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
