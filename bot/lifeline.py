"""Services that die with their supervisor, and ports that say who holds them.

`backtalk run` starts every service in a session of its own (so Ctrl-C reaches each whole process
group exactly once). The price: when the supervisor itself is killed (``kill -9``, the OOM killer, a
closed terminal that sends nothing), nobody signals those groups, and Rasa, the action servers,
bot.web, the worker and Telegram keep running unsupervised, holding their ports, so the next
`make run` fails with "address already in use".

Two mechanisms make each service end with its supervisor; both run inside the service, started by
:func:`watch_supervisor` from every service's entry point, and only when the supervisor named itself
in ``BACKTALK_SUPERVISOR_PID`` (a service started by hand or by a test supervises nothing):

1. **Linux parent-death signal.** ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` asks the kernel to send
   SIGTERM the moment the parent goes, with no polling. It is set by the service itself at start
   rather than in a ``preexec_fn`` (which CPython documents as unsafe once the supervisor runs its
   log-pump threads), and then ``getppid()`` is compared with the supervisor's pid to close the race
   where the supervisor died before the call. Caveat: the kernel fires it when the *thread* that
   forked the child ends, not the process; the supervisor therefore forks every service from its
   main thread (``stack.Supervisor.start`` is only called there), whose end is the process's end.
2. **Portable watchdog.** A daemon thread checks once a second whether the parent is still the
   supervisor (``getppid()`` changes to the reaper when the parent dies, on every POSIX system) and
   signals the service like the kernel would. It covers systems without prctl (macOS) and a parent
   death signal that was lost (e.g. a service that reset it). A stdin pipe that closes was the other
   candidate; it was not chosen because Rasa and Sanic own stdin handling and a service would have
   to read it, while ``getppid()`` needs nothing from the supervisor.

Both deliver SIGTERM, so every service stops the way Ctrl-C stops it (Sanic, aiohttp and
python-telegram-bot close their connections on it); a service still alive
:data:`EXIT_GRACE_SECONDS` later is ended with ``os._exit`` by the watchdog.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

SUPERVISOR_PID_ENV = "BACKTALK_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0
EXIT_GRACE_SECONDS = 20.0


def set_parent_death_signal(signum: int = signal.SIGTERM) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent (thread) ends; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0


def _supervisor_gone(supervisor: int) -> None:
    """Stop as on Ctrl-C; if the service is still alive after the grace period, exit hard."""
    try:  # the log pipe went with the supervisor: saying so may fail, stopping must not
        print(f"supervisor (pid {supervisor}) is gone; stopping", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    threading.Event().wait(EXIT_GRACE_SECONDS)
    os._exit(1)


def _watch(supervisor: int, stop: threading.Event, poll: float) -> None:
    while not stop.wait(poll):
        if os.getppid() != supervisor:
            _supervisor_gone(supervisor)
            return


def watch_supervisor(poll: float = POLL_SECONDS) -> Optional[threading.Event]:
    """Make this service end with the `backtalk run` that started it (see the module's docstring).

    Returns the event that stops the watchdog (None when no supervisor is named). The variable is
    removed from the environment so that a process this service starts is not mistaken for one of
    the supervisor's own children."""
    named = os.environ.pop(SUPERVISOR_PID_ENV, "")
    if not named.isdigit():
        return None
    supervisor = int(named)
    set_parent_death_signal(signal.SIGTERM)
    stop = threading.Event()
    if os.getppid() != supervisor:  # it died before the parent-death signal was in place
        threading.Thread(target=_supervisor_gone, args=(supervisor,), daemon=True).start()
        return stop
    threading.Thread(target=_watch, args=(supervisor, stop, poll), name="supervisor-watchdog", daemon=True).start()
    return stop


# -- who holds a port -------------------------------------------------------------------------


@dataclass(frozen=True)
class TakenPort:
    name: str  # the setting that chose it (WEB_PORT, RASA_PORT, ...)
    port: int
    holder: str  # "python3 (pid 123: python -m bot.web)" or "another program"

    def message(self) -> str:
        return (f"port {self.port} ({self.name}) is already in use by {self.holder}; "
                f"stop that program or choose another port with {self.name}=...")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now (with SO_REUSEADDR, as servers bind, so a
    connection of a stopped server lingering in TIME_WAIT does not count as taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _listening_inodes(port: int, proc: Path) -> List[str]:
    """Socket inodes listening on ``port`` (state 0A = LISTEN in /proc/net/tcp and tcp6)."""
    inodes = []
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.append(fields[9])
    return inodes


def _holds_any(process: Path, sockets: Set[str]) -> bool:
    """Whether one of the process's open files is one of ``sockets`` (unreadable files are skipped:
    another user's process, or a descriptor closed while we looked)."""
    try:
        descriptors = list((process / "fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) in sockets:
                return True
        except OSError:
            continue
    return False


def port_holder(port: int, proc: Path = Path("/proc")) -> Optional[Tuple[int, str]]:
    """(pid, "name: command line") of the process listening on ``port``, when /proc lets us see it
    (Linux, and a process of the same user); None otherwise."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port, proc)}
    if not wanted:
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        if _holds_any(entry, wanted):
            try:
                name = (entry / "comm").read_text().strip()
                command = " ".join((entry / "cmdline").read_bytes().decode("utf-8", "replace").replace("\0", " ").split())
            except OSError:
                name, command = "?", ""
            return int(entry.name), f"{name}: {command[:200]}" if command else name
    return None


def taken_ports(ports: Dict[str, Tuple[str, int]]) -> List[TakenPort]:
    """The ports (setting name -> (host, port)) a service could not listen on, each with who holds it."""
    taken = []
    for name, (host, port) in ports.items():
        if port_is_free(port, host):
            continue
        holder = port_holder(port)
        taken.append(TakenPort(name, port, f"pid {holder[0]} ({holder[1]})" if holder else "another program"))
    return taken


def describe(taken: Iterable[TakenPort]) -> str:
    return "\n".join(t.message() for t in taken)
