"""Start local worker processes and watch them: the launcher of :mod:`.distributed` (chapter 5).

Each worker runs ``python -m mmtutorial.tf_nn.distributed --worker`` with its own ``TF_CONFIG``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from mmtutorial._checks import check_int, check_number


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct TCP ports of 127.0.0.1 that are free right now.

    Examples
    --------
    >>> ports = free_ports(2)
    >>> len(set(ports)), all(1024 <= p < 65536 for p in ports)
    (2, True)
    """
    count = check_int("count", count, low=1)
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:  # all open at once, so the ports differ
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports: Sequence[int], index: int) -> dict:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of local workers on ``ports``.

    Examples
    --------
    >>> tf_config([2222, 2223], 1)["task"]
    {'type': 'worker', 'index': 1}
    """
    workers = [f"127.0.0.1:{port}" for port in ports]
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}


def _stop(processes: Sequence[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        process.wait()


def _tail(path: str, lines: int = 8) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        return "".join(stream.readlines()[-lines:]).rstrip()


def launch(workers: int, worker_args: Sequence[str], *, timeout: float = 300.0) -> int:
    """Start ``workers`` local workers with ``worker_args``, wait, return an exit status.

    Each worker is ``python -m mmtutorial.tf_nn.distributed --worker <worker_args>`` with its
    ``TF_CONFIG`` (ports from :func:`free_ports`). Prints each worker's output in order when
    all succeed (0). If a worker fails, or the run exceeds ``timeout`` seconds, stops the others
    and prints which worker failed and the end of its output (1): a worker whose peer died would
    otherwise wait for it forever.
    """
    workers = check_int("workers", workers, low=1)
    timeout = check_number("timeout", timeout, low=0, low_open=True)
    ports = free_ports(workers)
    command = [sys.executable, "-m", "mmtutorial.tf_nn.distributed", "--worker", *worker_args]
    processes = []
    with tempfile.TemporaryDirectory(prefix="mmtutorial-workers-") as logs:
        paths = [os.path.join(logs, f"worker{index}.log") for index in range(workers)]
        try:
            for index, path in enumerate(paths):
                env = os.environ | {"TF_CONFIG": json.dumps(tf_config(ports, index))}
                with open(path, "w", encoding="utf-8") as log:
                    processes.append(
                        subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                    )
            return _wait(processes, paths, time.monotonic() + timeout, timeout)
        finally:
            _stop(processes)


def _wait(processes: list, paths: list[str], deadline: float, timeout: float) -> int:
    """Poll the workers until all succeed (print their output), one fails, or time runs out."""
    while True:
        codes = [p.poll() for p in processes]
        failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            i = failed[0]
            _stop(processes)
            print(
                f"worker {i} of {len(processes)} exited with code {codes[i]}; stopped the "
                f"others. Its last lines:\n{_tail(paths[i])}",
                file=sys.stderr,
            )
            return 1
        if all(code == 0 for code in codes):
            for index, path in enumerate(paths):
                with open(path, encoding="utf-8", errors="replace") as stream:
                    for line in stream.read().splitlines():
                        print(f"[worker {index}] {line}")
            return 0
        if time.monotonic() > deadline:
            _stop(processes)
            print(
                f"the {len(processes)} workers did not finish within {timeout:g} s; stopped them",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.05)
