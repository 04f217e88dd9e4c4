"""A composed care plan kept as JSON, so its PDF can be rendered when it is first opened.

Rendering the PDF costs about a third of a CPU-second (fonts, layout), more than every other step of
the patient's last turn together, and many patients read the plan in the chat and never open the
file. The turn therefore stores the plan itself (already resolved in the patient's language, so a
later catalog edit cannot change what they were given) and bot.web renders the PDF on the first
request for it (bot/triage/documents.py). The JSON holds exactly what the PDF would: no identifying
detail beyond the reference code.
"""
from __future__ import annotations

import base64
import json
from dataclasses import asdict, fields
from typing import Any, Dict, Optional, Tuple

from bot.careplan.compose import CarePlan, Entry, Outlook
from bot.prediction.sentences import OutlookTable

FORMAT = 1  # bumped when the shape changes; an unknown format is refused rather than misread


def plan_to_json(plan: CarePlan) -> str:
    data: Dict[str, Any] = asdict(plan)
    if plan.outlook is not None and plan.outlook.png is not None:
        data["outlook"]["png"] = base64.b64encode(plan.outlook.png).decode("ascii")
    return json.dumps({"format": FORMAT, "plan": data}, ensure_ascii=False, separators=(",", ":"))


def _entries(items: Any) -> Tuple[Entry, ...]:
    return tuple(Entry(**item) for item in items)


def _outlook(data: Optional[Dict[str, Any]]) -> Optional[Outlook]:
    if data is None:
        return None
    png = data.get("png")
    tables = tuple(OutlookTable(title=t["title"], columns=tuple(t["columns"]),
                                rows=tuple(tuple(row) for row in t["rows"]), cell_format=t["cell_format"])
                   for t in data["tables"])
    return Outlook(lines=tuple(data["lines"]), png=None if png is None else base64.b64decode(png),
                   tables=tables, notes=tuple(data["notes"]), image_alt=data["image_alt"])


def plan_from_json(text: str) -> CarePlan:
    wrapper = json.loads(text)
    if wrapper.get("format") != FORMAT:
        raise ValueError(f"stored care plan has format {wrapper.get('format')!r}, expected {FORMAT}")
    data = wrapper["plan"]
    values: Dict[str, Any] = {}
    for spec in fields(CarePlan):
        value = data[spec.name]
        if spec.name == "outlook":
            value = _outlook(value)
        elif isinstance(value, list):
            value = _entries(value) if value and isinstance(value[0], dict) else tuple(value)
        values[spec.name] = value
    return CarePlan(**values)
