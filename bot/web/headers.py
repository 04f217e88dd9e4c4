"""Security headers for every bot.web response, in one middleware (handlers set none of their own).

Each area has the policy its pages need, chosen by path:

- ``/clinic``: its own script and styles, never framed (clinical data);
- ``/guide``: no script at all, styles and drawings from this server, framed only by this server;
- ``/chat`` and ``/``: the demo page loads only widget.js; the widget styles its shadow root inline;
- ``/files``: a stored care-plan page is self-contained and sandboxed; a PDF or graph is never framed;
- everything else (``/widget.js``, ``/api/*``, ``/healthz``): no content of its own, never framed.

The widget is embedded on clinics' sites as a *script* (not a frame): frame-ancestors does not touch it,
and widget.js, /api/* and the files keep their cross-origin headers (CORS, Cross-Origin-Resource-Policy)
from their handlers. HSTS is sent in production only (TLS ends at the clinic's proxy; a development
server on http://127.0.0.1 must not pin browsers to https).
"""
from __future__ import annotations

from typing import Awaitable, Callable, Dict, Tuple

from aiohttp import web

CLINIC_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# No script, no frames, no forms; styles and drawings only from this server.
GUIDE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'self'")
# The demo page loads only widget.js from this server; the widget styles its shadow root inline.
CHAT_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"
)
# A stored page (the care plan for phones) is self-contained: inline styles and data: images only.
STORED_HTML_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'; sandbox")
# A PDF or PNG runs no script; a stricter policy would stop browsers' built-in PDF viewers.
FILE_CSP = "frame-ancestors 'none'; base-uri 'none'"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=31536000; includeSubDomains"

# (path prefix, policy, X-Frame-Options for browsers without frame-ancestors); the first match wins.
AREAS: Tuple[Tuple[str, str, str], ...] = (
    ("/clinic", CLINIC_CSP, "DENY"),
    ("/guide", GUIDE_CSP, "SAMEORIGIN"),
    ("/chat", CHAT_PAGE_CSP, "SAMEORIGIN"),
    ("/files/", FILE_CSP, "DENY"),
)


def policy_for(path: str, content_type: str) -> Tuple[str, str]:
    """The Content-Security-Policy and X-Frame-Options for a response at ``path``."""
    if path.startswith("/files/") and content_type == "text/html":
        return STORED_HTML_CSP, "DENY"
    if path == "/":
        return CHAT_PAGE_CSP, "SAMEORIGIN"
    for prefix, csp, frames in AREAS:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return csp, frames
    return API_CSP, "DENY"


def security_headers(response: web.StreamResponse, path: str, production: bool) -> None:
    """Set the headers on ``response`` (replacing any a handler set: one policy per area)."""
    csp, frames = policy_for(path, response.content_type)
    headers: Dict[str, str] = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": frames,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if production:
        headers["Strict-Transport-Security"] = HSTS
    response.headers.update(headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def security_headers_middleware(production: bool):  # type: ignore[no-untyped-def]
    """The middleware for ``create_app``: headers on answers, redirects and errors alike."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as error:  # 404s from the router, redirects: responses too
            security_headers(error, request.path, production)
            raise
        security_headers(response, request.path, production)
        return response

    return middleware
