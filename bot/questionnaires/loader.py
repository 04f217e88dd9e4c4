"""Reads and checks the questionnaire data files, so a typo fails at start-up, not mid-chat."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from bot.paths import QUESTIONNAIRE_DIR
from bot.questionnaires.model import Item, Option, Questionnaire


class QuestionnaireError(ValueError):
    """A questionnaire data file is malformed."""


def _options(raw: Any, option_sets: Dict[str, Any], where: str) -> Tuple[Option, ...]:
    if isinstance(raw, str):
        if raw not in option_sets:
            raise QuestionnaireError(f"{where}: unknown option set {raw!r}")
        raw = option_sets[raw]
    if not isinstance(raw, list) or not raw:
        raise QuestionnaireError(f"{where}: a choice item needs a list of options")
    options = tuple(
        Option(code=o["code"], label=o["label"], score=o.get("score"), affirms=o.get("affirms"))
        for o in raw
    )
    codes = [o.code for o in options]
    if len(set(codes)) != len(codes):
        raise QuestionnaireError(f"{where}: duplicate option codes {codes}")
    return options


def _item(
    raw: Dict[str, Any], questionnaire: str, option_sets: Dict[str, Any], section_intro: Tuple[str, ...] = ()
) -> Item:
    where = f"{questionnaire}/{raw.get('id', '?')}"
    for key in ("id", "kind", "text", "why"):
        if key not in raw:
            raise QuestionnaireError(f"{where}: missing {key!r}")
    kind = raw["kind"]
    options: Tuple[Option, ...] = ()
    if kind == "choice":
        options = _options(raw.get("options"), option_sets, where)
    elif kind == "integer":
        if not isinstance(raw.get("min"), int) or not isinstance(raw.get("max"), int):
            raise QuestionnaireError(f"{where}: an integer item needs integer min and max")
    elif kind != "boolean":
        raise QuestionnaireError(f"{where}: unknown kind {kind!r}")
    sites = raw.get("sites")
    return Item(
        id=raw["id"],
        kind=kind,
        text=raw["text"],
        why=raw["why"],
        questionnaire=questionnaire,
        options=options,
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        intro=tuple(raw.get("intro", ())),
        section_intro=section_intro,
        sites=tuple(sites) if sites else None,
        loinc=raw.get("loinc"),
        subscale=bool(raw.get("subscale", False)),
    )


def load_questionnaire(path: Path) -> Questionnaire:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    qid = raw["id"]
    option_sets = raw.get("option_sets", {})
    section_intro = tuple(raw.get("intro", ()))
    items = tuple(_item(i, qid, option_sets, section_intro) for i in raw["items"])
    return Questionnaire(
        id=qid,
        source=raw.get("source", ""),
        validated_wording=bool(raw.get("validated_wording", False)),
        items=items,
        copyright=raw.get("copyright"),
    )


@lru_cache(maxsize=None)
def load_triage(directory: Path = QUESTIONNAIRE_DIR) -> Tuple[Item, ...]:
    """All triage items in asking order, as ``triage.yml`` lists them."""
    steps = yaml.safe_load((directory / "triage.yml").read_text(encoding="utf-8"))["steps"]
    intake = {i.id: i for i in load_questionnaire(directory / "intake.yml").items}
    items: List[Item] = []
    for step in steps:
        if "item" in step:
            items.append(intake[step["item"]])
        else:
            items.extend(load_questionnaire(directory / f"{step['instrument']}.yml").items)
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise QuestionnaireError(f"duplicate item ids in the triage: {ids}")
    return tuple(items)
