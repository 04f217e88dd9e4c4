"""Links from a care plan (and so from the chat) to the guide pages that fit a patient: the pages
for their pain site first, then what their risk group means (at that group's heading), then the
pages data/guide/guide.yml lists for the group, then the guide's index. URLs are absolute
(``{public_url}/guide/<lang>/<section>``) because the plan travels as a PDF and as chat text."""
from __future__ import annotations

from typing import Optional, Tuple

from bot.guide.content import guides, structure
from bot.i18n.catalog import normalise_language

GuideLink = Tuple[str, str]  # (title, absolute URL)


def page_path(language: str, section: Optional[str] = None) -> str:
    return f"/guide/{language}/{section or ''}"


def plan_sections(site: str, risk_group: str) -> Tuple[str, ...]:
    """Section ids for a patient, site-matched first; each once."""
    shape = structure()
    ordered = (*shape.plan_sites.get(site, shape.plan_sites["both"]), "risk_groups",
               *shape.plan_groups[risk_group])
    return tuple(dict.fromkeys(ordered))


def plan_links(language: str, site: str, risk_group: str, public_url: str) -> Tuple[GuideLink, ...]:
    language = normalise_language(language)
    guide = guides()[language]
    base = public_url.rstrip("/")
    links = []
    for section_id in plan_sections(site, risk_group):
        section = guide.section(section_id)
        assert section is not None  # load_structure checked plan_links against the sections
        anchor = f"#{risk_group}" if section_id == "risk_groups" else ""
        links.append((section.title, f"{base}{page_path(language, section_id)}{anchor}"))
    links.append((guide.title, f"{base}{page_path(language)}"))
    return tuple(links)
