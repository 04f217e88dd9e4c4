"""The guide's pages in bot.web: ``add_guide_routes(app)`` adds

- ``/guide/`` → the index in English (a language chooser is on every page),
- ``/guide/<lang>/`` the index of a language, ``/guide/<lang>/<section>`` a section,
- ``/guide/static/guide.css`` and ``/guide/static/figures/<exercise>.svg``.

A language tag the guide knows under another name (``de-CH``, ``no``) is redirected to its page; an
unknown language gets a 404 page in English that links the English index; an unknown section a 404
in the page's language. The data are loaded and checked when the routes are added, so bot.web does
not start with an incomplete guide. Pages have no script and a strict Content-Security-Policy (set by bot/web/headers.py).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict

from aiohttp import web

from bot.guide.content import GUIDE_DIR, Guide, load_guides
from bot.guide.links import page_path
from bot.guide.render import render_index, render_not_found, render_section
from bot.i18n.catalog import DEFAULT_LANGUAGE, supported_language

STATIC_DIR = Path(__file__).parent / "static"
FIGURE_DIR = GUIDE_DIR / "figures"
GUIDES_KEY = web.AppKey("guides", Dict[str, Guide])
FIGURE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.svg$")
CACHE = "public, max-age=300"


def _html(body: str, language: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers={
        "Content-Language": language, "Cache-Control": CACHE})  # its CSP: bot/web/headers.py


def _not_found(language: str) -> web.Response:
    return _html(render_not_found(language), language, status=404)


def _guide(request: web.Request) -> Guide | web.Response:
    """The guide a URL's language names, a redirect to its canonical address, or a 404."""
    tag = request.match_info["lang"]
    language = supported_language(tag)
    guides = request.app[GUIDES_KEY]
    if language is None or language not in guides:
        return _not_found(DEFAULT_LANGUAGE)
    if tag != language:
        raise web.HTTPMovedPermanently(page_path(language, request.match_info.get("section")))
    return guides[language]


async def index(request: web.Request) -> web.Response:
    guide = _guide(request)
    if isinstance(guide, web.Response):
        return guide
    return _html(render_index(guide), guide.language)


async def section(request: web.Request) -> web.Response:
    guide = _guide(request)
    if isinstance(guide, web.Response):
        return guide
    found = guide.section(request.match_info["section"])
    if found is None:
        return _not_found(guide.language)
    return _html(render_section(guide, found), guide.language)


async def to_index(request: web.Request) -> web.Response:
    raise web.HTTPFound(page_path(request.match_info.get("lang") or DEFAULT_LANGUAGE))


async def stylesheet(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "guide.css", headers={"Cache-Control": CACHE,
                                                                 "Content-Type": "text/css; charset=utf-8"})


async def figure(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = FIGURE_DIR / name
    if not FIGURE_NAME.match(name) or not path.is_file():
        return _not_found(DEFAULT_LANGUAGE)
    # An SVG opened on its own is a document: the guide's policy (bot/web/headers.py) keeps any script
    # in it from running.
    return web.FileResponse(path, headers={"Content-Type": "image/svg+xml", "Cache-Control": CACHE})


def add_guide_routes(app: web.Application) -> None:
    """Load and check the guide (GuideDataError if incomplete) and add its routes to ``app``."""
    app[GUIDES_KEY] = load_guides()
    # The fixed paths first: the router tries routes in the order they were added.
    app.router.add_get("/guide", to_index)
    app.router.add_get("/guide/", to_index)
    app.router.add_get("/guide/static/guide.css", stylesheet)
    app.router.add_get("/guide/static/figures/{name}", figure)
    app.router.add_get("/guide/{lang}", to_index)
    app.router.add_get("/guide/{lang}/", index)
    app.router.add_get("/guide/{lang}/{section}", section)
