"""Starts child processes that die with the launcher, and stops each with its whole process group."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

# Loaded before any fork: the function below runs between fork and exec, where loading is unsafe.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with(parent: int) -> Callable[[], None] | None:
    """A function run in the child before exec: the kernel sends it SIGTERM when `parent` dies."""
    libc = _LIBC
    if libc is None:
        return None  # elsewhere a launcher killed with SIGKILL leaves its children running

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the launcher died before the line above took effect
            os._exit(1)

    return arm


def spawn(
    command: Sequence[str],
    env: Mapping[str, str],
    stdout: int | None = None,
    pass_fds: Iterable[int] = (),
    die_with_launcher: bool = True,
) -> subprocess.Popen[bytes]:
    """Starts `command` in a session of its own; `stdout` (with stderr) defaults to the launcher's."""
    return subprocess.Popen(
        list(command),
        env=dict(env),
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not None else None,
        pass_fds=tuple(pass_fds),
        # A session of its own: the terminal's Ctrl-C and hang-up reach only the launcher, which
        # stops the children in order; and stopping the group stops anything the child started.
        start_new_session=True,
        # PR_SET_PDEATHSIG fires when the forking *thread* ends; the launcher forks from its only
        # thread, which is also why running Python code between fork and exec is safe here.
        preexec_fn=_die_with(os.getpid()) if die_with_launcher else None,
    )


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Sends `signum` to the process group that `process` leads, if any of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop_groups(processes: Sequence[subprocess.Popen[bytes]], timeout: float, terminate: bool = True) -> None:
    """SIGTERM to each group (unless not to `terminate`), then SIGKILL to what is left after `timeout` s."""
    for process in processes:
        if terminate:
            signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
    for process in processes:
        # Also reaches what the leader started and left behind when it exited.
        signal_group(process, signal.SIGKILL)
        process.wait()
