"""`make check-links` against a local HTTP server (the real run needs the internet)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from bot.careplan import check_links
from bot.careplan.resources import Resource


class Handler(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response({"/ok": 200, "/gone": 404, "/no-head": 405}[self.path])
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200 if self.path in ("/ok", "/no-head") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def resource(url: str) -> Resource:
    return Resource("r", "t", url, "en", "GB", frozenset({"back"}), "p", None)


def test_a_live_page_passes_a_missing_one_is_reported_and_head_refusals_retry_with_get(server: str) -> None:
    assert check_links.check(resource(f"{server}/ok"))[1] is None
    assert check_links.check(resource(f"{server}/no-head"))[1] is None
    assert check_links.check(resource(f"{server}/gone"))[1] == "HTTP 404"
    assert check_links.check(resource("http://127.0.0.1:9/closed"))[1].startswith("unreachable")
