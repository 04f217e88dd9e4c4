"""A pybabel extractor for the data files clinicians edit: every msgid a questionnaire item names
(text, why, intro, option labels, short names) or a treatment option names (name, about) goes into
the .pot next to the ones found in the code."""
from __future__ import annotations

from typing import Any, BinaryIO, Collection, Iterator, Mapping, Tuple

import yaml

MSGID_KEYS = ("text", "why", "label", "short", "name", "about")


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in MSGID_KEYS and isinstance(value, str):
                yield value
            elif key == "intro" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def extract_questionnaire(
    fileobj: BinaryIO, keywords: Mapping[str, Any], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[Tuple[int, str, str, list]]:
    """Babel extraction method (babel.cfg: ``[bot.i18n.extract:extract_questionnaire: ...]``)."""
    data = yaml.safe_load(fileobj.read().decode("utf-8")) or {}
    for msgid in dict.fromkeys(_walk(data)):
        yield 0, "", msgid, []
