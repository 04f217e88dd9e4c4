"""Reads and checks the questionnaire data files, so a typo fails at start-up, not mid-chat."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

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


def _when(raw: Any, where: str) -> Tuple[Tuple[str, Tuple[Any, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(isinstance(v, list) and v for v in raw.values()):
        raise QuestionnaireError(f"{where}: 'when' maps item ids to lists of answers")
    return tuple((k, tuple(v)) for k, v in raw.items())


def _derived(raw: Any, where: str) -> Tuple[Optional[str], Tuple[Tuple[str, Any], ...]]:
    if raw is None:
        return None, ()
    if not isinstance(raw, dict) or "item" not in raw or not isinstance(raw.get("map"), dict):
        raise QuestionnaireError(f"{where}: 'derived_from' needs 'item' and a 'map' of answers")
    return raw["item"], tuple((str(k).lower() if isinstance(k, bool) else str(k), v) for k, v in raw["map"].items())


def _scoring(raw: Any, where: str) -> Tuple[Tuple[str, int], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(isinstance(v, int) for v in raw.values()):
        raise QuestionnaireError(f"{where}: 'scoring' maps answers to integer points")
    return tuple((str(k).lower() if isinstance(k, bool) else str(k), v) for k, v in raw.items())


def _item(
    raw: Dict[str, Any], questionnaire: str, option_sets: Dict[str, Any], section_intro: Tuple[str, ...] = (),
    instrument_sites: Optional[List[str]] = None, instrument_when: Optional[Dict[str, Any]] = None,
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
    sites = raw.get("sites", instrument_sites)
    derived_from, derived_map = _derived(raw.get("derived_from"), where)
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
        short=raw.get("short"),
        section_intro=section_intro,
        sites=tuple(sites) if sites else None,
        loinc=raw.get("loinc"),
        subscale=bool(raw.get("subscale", False)),
        when=_when({**(instrument_when or {}), **(raw.get("when") or {})} or None, where),
        derived_from=derived_from,
        derived_map=derived_map,
        scoring=_scoring(raw.get("scoring"), where),
    )


def load_questionnaire(path: Path) -> Questionnaire:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    qid = raw["id"]
    option_sets = raw.get("option_sets", {})
    section_intro = tuple(raw.get("intro", ()))
    items = tuple(_item(i, qid, option_sets, section_intro, raw.get("sites"), raw.get("when")) for i in raw["items"])
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
    for item in items:
        for other in [item.derived_from, *(k for k, _ in item.when)]:
            if other is not None and (other not in ids or ids.index(other) > ids.index(item.id)):
                raise QuestionnaireError(f"{item.id}: depends on {other!r}, which is not asked before it")
    return tuple(items)
