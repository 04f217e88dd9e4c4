"""`make check-links`: does every resource in data/careplan/resources.yml still answer?

Not part of `make test` (the test machines have no internet). Each URL is requested (HEAD, then GET
when a server refuses HEAD) with redirects followed; anything but a final 2xx is reported, and the
exit status is 1 if any link failed, so a scheduled job can alert the maintainers.
"""
from __future__ import annotations

import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

from bot.careplan.resources import Resource, load_resources

TIMEOUT = 15
USER_AGENT = "BackTalk-link-check/1 (+https://github.com/; care-plan resources)"


def _status(url: str, method: str) -> int:
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (https only, checked on load)
        return int(response.status)


def check(resource: Resource) -> Tuple[Resource, Optional[str]]:
    """(resource, None) when it answers 2xx, else (resource, what went wrong)."""
    for method in ("HEAD", "GET"):
        try:
            status = _status(resource.url, method)
        except urllib.error.HTTPError as error:
            if method == "HEAD" and error.code in (403, 405, 501):
                continue  # some servers refuse HEAD: ask again with GET
            return resource, f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return resource, f"unreachable: {getattr(error, 'reason', error)}"
        return resource, None if 200 <= status < 300 else f"HTTP {status}"
    return resource, "no answer"


def main(argv: Optional[List[str]] = None) -> int:
    resources = load_resources()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(check, resources))
    failed = [(r, problem) for r, problem in results if problem]
    for resource, problem in results:
        print(f"{'FAIL' if problem else 'ok  '} {resource.id:40} {resource.url}" + (f"  ({problem})" if problem else ""))
    print(f"{len(results) - len(failed)} of {len(results)} resources answer")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
