"""Latency per message and throughput of BackTalk next to a bare Rasa bot, in the same run.

N scripted conversations run at once (threads, one HTTP request at a time per conversation) against
each bot's REST channel, for each N given (20 and 100 by default), with the CPU time the bot's server
processes used meanwhile. A third phase, BackTalk only, measures what a burst of care plans (the
slowest turn: database writes, prediction, graph and the plan's page) costs the *other* patients,
then opens each of those care plans' PDFs twice through bot.web: the first request renders it (it is
made when first opened, not in the turn: bot/triage/documents.py), the second serves the kept bytes.
The bare bot is the ``rasa init`` sample, trained as it comes, so the
comparison separates what Rasa itself costs on this machine from what BackTalk adds (its pipeline,
form, custom actions and database). The figures are recorded, not tuned: no assertion on them.

Run from the project root: ``.venv/bin/python -m benchmarks.latency [--conversations N ...] [--rounds R]``.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import importlib.metadata
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from bot.reference_code import ALPHABET
from bot.stack import venv_bin
from bot.store.migrate import upgrade
from tests.conftest import make_settings
from tests.e2e.servers import RunningStack, ensure_model, free_port, http

# A low-risk back-pain triage typed from greeting to reference code and care plan: 23 messages
# (the last one, "yes" to the summary of answers, is answered with the result, the care plan and the
# link to its PDF, which is rendered when first opened).
BACKTALK_SCRIPT = [
    "hi", "yes", "no", "low back",  # greeting, consent, research consent, pain site
    *["no"] * 6,  # the six low-back red flags
    "two weeks",  # episode duration
    "agree", "disagree", "disagree", "agree", "disagree", "disagree", "agree", "disagree",  # STarT Back 1-8
    "slightly", "4", "no thanks",  # bothersomeness, pain now, no outlook
    "yes",  # the summary of answers: that's right
]
# The same patient accepting the outlook (answers as the buttons send them, then typed): their last
# message is answered with the result, the prediction and its graph, the care plan and its PDF link.
OUTLOOK_SCRIPT = [
    *BACKTALK_SCRIPT[:-2], "yes",
    '/answer{"code": "40_to_49"}', '/answer{"code": "female"}', '/answer{"code": "once_or_twice"}',
    "yes", "yes", "no", "yes", "no", "no",  # function items
    '/answer{"code": "unsure"}', '/answer{"code": "working"}', "3 days", '/answer{"code": "unsure"}',
    "yes",  # the summary of answers
]
# The moodbot's happy path, cycled to as many messages as BackTalk's script so both bots see the
# same number of turns per conversation.
BARE_SCRIPT = [("hi", "great", "bye")[i % 3] for i in range(len(BACKTALK_SCRIPT))]
REFERENCE_CODE = re.compile(rf"BT-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")

# Every child is kept off the network: Rasa would otherwise send telemetry.
CHILD_ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
TRAIN_TIMEOUT = 1800  # `rasa init` trains DIET, TED and the response selector: ~1 min on two idle cores
MESSAGE_TIMEOUT = 60
PHASE_TIMEOUT = 900  # no new message is sent after this; a request in flight may add MESSAGE_TIMEOUT
STOP_GRACE = 30
# Loading the sample's TensorFlow model took over 4 minutes on the shared 2-core machine under load.
BARE_STARTUP_TIMEOUT = 900

Reply = List[Dict[str, Any]]


@dataclass
class Bot:
    """What differs between the two bots: the script, the REST metadata sent with each message and
    how a finished conversation looks."""

    name: str
    script: List[str]
    finished: Callable[[Reply], bool]
    metadata: Optional[Dict[str, Any]] = None


@dataclass
class Conversation:
    """One sender's timings; its last reply tells whether it reached the end of the script."""

    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    last_reply: Reply = field(default_factory=list)


@dataclass
class Result:
    """One bot's conversations and the wall time of the concurrent phase they ran in."""

    bot: Bot
    conversations: List[Conversation]
    wall_s: float
    cpu_s: float = 0.0  # CPU time of the bot's server processes (and their children) during the phase
    label: str = ""

    @property
    def completed(self) -> int:
        """Conversations that ran the whole script without error and ended where the script should."""
        return sum(1 for c in self.conversations if not c.errors and self.bot.finished(c.last_reply))

    def row(self) -> List[str]:
        """Latency and throughput count answered messages only, so a fast failure (connection
        refused) cannot flatter them; failures are in the errors column."""
        latencies = [ms for c in self.conversations for ms in c.latencies_ms]
        return [
            self.label or self.bot.name,
            str(len(self.conversations)),
            str(len(latencies)),
            *percentiles(latencies),
            f"{len(latencies) / self.wall_s:.1f}",
            str(sum(c.errors for c in self.conversations)),
            str(self.completed),
            f"{100 * self.cpu_s / self.wall_s:.0f}",
        ]


def percentiles(latencies: List[float]) -> List[str]:
    """p50, p95 and max in whole milliseconds ("-" when nothing was answered)."""
    if not latencies:
        return ["-", "-", "-"]
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return [f"{cuts[49]:.0f}", f"{cuts[94]:.0f}", f"{max(latencies):.0f}"]


def group_cpu_seconds(groups: List[int]) -> float:
    """User + system CPU seconds of every live process in these process groups, including what
    their reaped children used (a server's workers): read from /proc, so Linux only."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        # after the command: state ppid pgrp ... utime(12) stime(13) cutime(14) cstime(15), 0-based from state
        if int(fields[2]) in groups:
            total += sum(int(value) for value in fields[11:15])
    return total / tick


def say(rasa_url: str, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> Reply:
    """One message through the REST channel; raises on anything but a 200 with a non-empty reply,
    since every scripted message expects an answer."""
    body: Dict[str, Any] = {"sender": sender, "message": text, **({"metadata": metadata} if metadata else {})}
    status, reply = http("POST", f"{rasa_url}/webhooks/rest/webhook", body, timeout=MESSAGE_TIMEOUT)
    if status != 200 or not reply:
        raise RuntimeError(f"HTTP {status}: {reply!r}")
    return reply


def converse(rasa_url: str, bot: Bot, deadline: float, script: Optional[List[str]] = None,
             sender: Optional[str] = None) -> Conversation:
    """Send the script (or part of it) from a sender (a new one by default), timing each round trip;
    after the deadline the messages not yet sent count as errors."""
    sender = sender or f"bench-{uuid.uuid4().hex}"
    script = bot.script if script is None else script
    conversation = Conversation()
    for index, text in enumerate(script):
        if time.monotonic() > deadline:
            conversation.errors += len(script) - index
            break
        started = time.perf_counter()
        try:
            conversation.last_reply = say(rasa_url, sender, text, bot.metadata)
        except (OSError, ValueError, RuntimeError):  # refused, timed out, bad JSON, bad status
            conversation.errors += 1
            conversation.last_reply = []
            continue
        conversation.latencies_ms.append((time.perf_counter() - started) * 1000)
    return conversation


def measure(bot: Bot, rasa_url: str, groups: List[int], concurrency: int, rounds: int) -> Result:
    """Warm up with one first message (model and connection pools load lazily), then run
    concurrency x rounds conversations, concurrency at a time."""
    say(rasa_url, f"warmup-{uuid.uuid4().hex}", bot.script[0], bot.metadata)
    deadline = time.monotonic() + PHASE_TIMEOUT
    cpu = group_cpu_seconds(groups)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(converse, rasa_url, bot, deadline) for _ in range(concurrency * rounds)]
        conversations = [future.result() for future in futures]
    wall = time.perf_counter() - started
    return Result(bot, conversations, wall, group_cpu_seconds(groups) - cpu, f"{bot.name}, {concurrency} at once")


def burst(bot: Bot, rasa_url: str, groups: List[int], finishing: int, others: int) -> List[Result]:
    """What care plans cost the other patients: ``finishing`` conversations are brought to their
    last question of OUTLOOK_SCRIPT, then send their last answer all at once (each gets the result,
    prediction graph, care plan and PDF link) while ``others`` conversations answer the early questions. The same
    ``others`` phase is first run alone, so the two rows differ only by the burst. The care-plan turns'
    last replies are kept (``last_reply``) for ``open_pdfs``."""
    deadline = time.monotonic() + PHASE_TIMEOUT
    early = bot.script[:8]
    senders = [f"burst-{uuid.uuid4().hex}" for _ in range(finishing)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=finishing) as pool:  # untimed set-up
        list(pool.map(lambda s: converse(rasa_url, bot, deadline, OUTLOOK_SCRIPT[:-1], s), senders))

    def phase(with_burst: bool) -> List[Result]:
        cpu = group_cpu_seconds(groups)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=others + finishing) as pool:
            finals = [pool.submit(converse, rasa_url, bot, deadline, OUTLOOK_SCRIPT[-1:], s)
                      for s in (senders if with_burst else [])]
            rest = [pool.submit(converse, rasa_url, bot, deadline, early) for _ in range(others)]
            other_conversations = [f.result() for f in rest]
            final_conversations = [f.result() for f in finals]
        wall = time.perf_counter() - started
        cpu = group_cpu_seconds(groups) - cpu
        # "completed" for the others means: no error on the early questions.
        others_bot = Bot(bot.name, early, lambda reply: bool(reply), bot.metadata)
        label = f"{others} others during {finishing} care plans" if with_burst else f"{others} others alone"
        results = [Result(others_bot, other_conversations, wall, cpu, label)]
        if with_burst:
            results.append(Result(bot, final_conversations, wall, cpu, f"the {finishing} care-plan turns"))
        return results

    return phase(False) + phase(True)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole process group, SIGKILL it if it lingers."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue


def open_pdfs(web_url: str, care_plan_turns: Result) -> Tuple[List[float], List[float]]:
    """Each care plan's PDF fetched from bot.web one after another, twice: milliseconds of the first
    requests (each renders its PDF) and of the second (the kept bytes)."""
    links = [str(m["custom"]["document"]) for c in care_plan_turns.conversations for m in c.last_reply
             if str((m.get("custom") or {}).get("title", "")).endswith(".pdf")]
    timings: Tuple[List[float], List[float]] = ([], [])
    for attempt in timings:
        for link in links:
            started = time.perf_counter()
            with urllib.request.urlopen(web_url + link[link.index("/files/"):], timeout=MESSAGE_TIMEOUT) as response:
                if not response.read().startswith(b"%PDF"):
                    raise RuntimeError(f"{link} is not a PDF")
            attempt.append((time.perf_counter() - started) * 1000)
    return timings


@contextmanager
def backtalk_server(work_dir: Path, model: Path) -> Iterator[Tuple[str, List[int], str]]:
    """The real BackTalk Rasa and action servers and bot.web (which serves the files) on a fresh
    SQLite database; yields the Rasa URL, the servers' process groups (for their CPU time) and bot.web's URL."""
    data_dir = work_dir / "backtalk"
    data_dir.mkdir()
    settings = make_settings(f"sqlite:///{data_dir / 'backtalk.db'}", data_dir)
    upgrade(settings.database_url)
    stack = RunningStack(config=settings, model=model, with_web=True)
    try:
        stack.start()
        yield stack.rasa_url, [process.pid for process in stack.processes.values()], stack.web_url
    finally:
        try:
            stack.stop()
        except subprocess.TimeoutExpired:
            stack.kill()


def bare_model(bare_dir: Path, log: Path) -> Path:
    """The newest model in bare_dir/models, made with `rasa init` (which trains) when there is none,
    so a kept --bare-dir spares the training (a minute or more) on the next run."""
    def models() -> List[Path]:
        return sorted((bare_dir / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)

    if not models():
        bare_dir.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            subprocess.run([venv_bin("rasa"), "init", "--no-prompt", "--init-dir", str(bare_dir)], cwd=bare_dir,
                           env=CHILD_ENV, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=TRAIN_TIMEOUT)
    found = models()
    if not found:
        raise RuntimeError(f"`rasa init` left no model in {bare_dir}/models; see {log}")
    return found[-1]


@contextmanager
def bare_server(bare_dir: Path, model: Path, log: Path) -> Iterator[Tuple[str, List[int]]]:
    """`rasa run` on the sample (its own credentials.yml enables the REST channel; its responses need
    no action server); yields the URL and its process group once the webhook answers."""
    port = free_port()
    rasa_url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [venv_bin("rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "--model", str(model)],
            cwd=bare_dir, env=CHILD_ENV, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + BARE_STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"bare `rasa run` exited during start-up; see {log}")
            try:
                say(rasa_url, f"ready-{uuid.uuid4().hex}", "hi")
                break
            except (OSError, ValueError, RuntimeError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"bare bot not answering after {BARE_STARTUP_TIMEOUT}s; see {log}")
                time.sleep(0.5)  # polling a server that is starting
        yield rasa_url, [process.pid]
    finally:
        stop_group(process)


def table(header: List[str], rows: List[List[str]]) -> str:
    """A markdown table with aligned columns: readable in a terminal, pasteable into an issue."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: List[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def machine_facts() -> str:
    """What the figures depend on, printed with them so a recorded table can be compared later; the
    load average shows whether other work shared the CPUs during the run."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (f"nproc {len(os.sched_getaffinity(0))}, Python {platform.python_version()}, "
            f"Rasa {importlib.metadata.version('rasa')}, {platform.system()} {platform.release()} {platform.machine()}, "
            f"load average {load} at the end")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[20, 100],
                        help="conversations at once per bot; several values run one after another (default 20 100)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="conversations each of those runs one after another (default 1)")
    parser.add_argument("--burst", type=int, nargs=2, default=[10, 10], metavar=("CARE_PLANS", "OTHERS"),
                        help="care plans finishing at once, and other conversations timed meanwhile (default 10 10; "
                             "0 0 skips the phase)")
    parser.add_argument("--bare-dir", type=Path,
                        help="keep the `rasa init` bot here and reuse its model next time (default: a temp dir)")
    args = parser.parse_args(argv)
    if min(args.conversations) < 1 or args.rounds < 1 or min(args.burst) < 0:
        parser.error("--conversations and --rounds must be at least 1")
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    # A SIGTERM (a CI timeout, `kill`) must still run the finally blocks that stop the servers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    work_dir = Path(tempfile.mkdtemp(prefix="backtalk-bench-"))
    bare_dir = args.bare_dir.resolve() if args.bare_dir else work_dir / "bare"
    # bot.web passes the browser's language to Rasa as REST metadata, and so do the e2e tests; without
    # it a bare "hi" fits several languages and BackTalk first asks which one.
    backtalk = Bot("BackTalk", BACKTALK_SCRIPT, lambda reply: any(REFERENCE_CODE.search(m.get("text", "")) for m in reply),
                   metadata={"language": "en"})
    bare = Bot("bare rasa init", BARE_SCRIPT, bool)
    started = time.monotonic()
    try:
        print("preparing models (the bare bot trains unless --bare-dir holds one)...", file=sys.stderr, flush=True)
        backtalk_model = ensure_model()
        sample_model = bare_model(bare_dir, work_dir / "bare-init.log")
        results: List[Result] = []
        print("measuring BackTalk...", file=sys.stderr, flush=True)
        burst_results: List[Result] = []
        pdf_ms: Tuple[List[float], List[float]] = ([], [])
        with backtalk_server(work_dir, backtalk_model) as (url, groups, web_url):
            for concurrency in args.conversations:
                results.append(measure(backtalk, url, groups, concurrency, args.rounds))
                print(f"  {' | '.join(results[-1].row())}", file=sys.stderr, flush=True)
            if min(args.burst) > 0:
                print("measuring a burst of care plans...", file=sys.stderr, flush=True)
                burst_results = burst(backtalk, url, groups, *args.burst)
                for result in burst_results:
                    print(f"  {' | '.join(result.row())}", file=sys.stderr, flush=True)
                pdf_ms = open_pdfs(web_url, burst_results[-1])
        print("measuring the bare bot...", file=sys.stderr, flush=True)
        with bare_server(bare_dir, sample_model, work_dir / "bare-rasa.log") as (url, groups):
            for concurrency in args.conversations:
                results.append(measure(bare, url, groups, concurrency, args.rounds))
                print(f"  {' | '.join(results[-1].row())}", file=sys.stderr, flush=True)
    except BaseException:
        print(f"benchmark failed; logs kept in {work_dir}", file=sys.stderr)
        raise
    shutil.rmtree(work_dir)
    print(f"{' and '.join(map(str, args.conversations))} concurrent conversations x {args.rounds} round(s), "
          f"{len(BACKTALK_SCRIPT)} messages each, REST channel on 127.0.0.1")
    print(machine_facts())
    print()
    header = ["bot", "conversations", "messages", "p50 ms", "p95 ms", "max ms", "msg/s", "errors", "completed",
              "server CPU %"]
    # side by side: each concurrency's BackTalk row next to the bare bot's
    count = len(args.conversations)
    print(table(header, [r.row() for pair in zip(results[:count], results[count:]) for r in pair]))
    if burst_results:
        print()
        print(f"care plans and the other patients (BackTalk; the others answer the first {len(burst_results[0].bot.script)} "
              f"messages):")
        print()
        print(table(header, [r.row() for r in burst_results]))
        first, again = pdf_ms
        print()
        print(f"their {len(first)} PDFs from bot.web, one after another: first request (renders it) p50/p95/max "
              f"{' / '.join(percentiles(first))} ms; second request (kept) {' / '.join(percentiles(again))} ms")
    print()
    print(f"wall time of the whole run: {time.monotonic() - started:.0f} s")
    # A bot that stops following the script (an error, or a model that now misreads a message)
    # still yields numbers, but not those of the conversation the table claims: say so, and fail.
    incomplete = [r for r in results + burst_results if r.completed < len(r.conversations)]
    for result in incomplete:
        print(f"not comparable: {result.label} completed {result.completed} of {len(result.conversations)} "
              f"conversations", file=sys.stderr)
    if incomplete:
        sys.exit(1)


if __name__ == "__main__":
    main()
