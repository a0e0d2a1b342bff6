"""Start local worker processes and watch them: the launcher of :mod:`.distributed` (chapter 5).

Each worker runs ``python -m mmtutorial.tf_nn.distributed --worker`` with its own ``TF_CONFIG``.
Its TensorFlow server listens on every network interface, unauthenticated, until it exits; the
launcher says so when it starts, or runs the workers in a private network namespace (Linux).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from mmtutorial._checks import InvalidParameterError, check_bool, check_int, check_number


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


def exposure_warning(workers: int, private_network: bool = False) -> str:
    """The one line the launcher prints when it starts: what the workers expose, for how long.

    TensorFlow's server binds every interface (``0.0.0.0``) whatever host ``TF_CONFIG`` names,
    and runs what it is sent without authentication (TensorFlow's ``SECURITY.md``: "not built
    for use in an untrusted network").

    Examples
    --------
    >>> print(exposure_warning(2))  # doctest: +NORMALIZE_WHITESPACE
    warning: until they exit, the 2 workers' TensorFlow servers listen on every network
    interface and run what they are sent, unauthenticated; use a trusted network or
    --private-network
    """
    if private_network:
        return (
            f"note: the {workers} workers run in a private network namespace: their TensorFlow "
            "servers are reachable only from inside it"
        )
    return (
        f"warning: until they exit, the {workers} workers' TensorFlow servers listen on every "
        "network interface and run what they are sent, unauthenticated; use a trusted network "
        "or --private-network"
    )


def private_network_problem() -> str | None:
    """Why local workers cannot run in a private network namespace here, or None if they can.

    That needs Linux, ``unshare`` (util-linux) and user namespaces open to this user.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return "the command `unshare` (util-linux, Linux) is not installed"
    probe = subprocess.run(
        [unshare, "--net", "--map-root-user", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"`unshare --net --map-root-user` failed: {probe.stderr.strip()}"
    return None


def _loopback_up() -> None:
    """Bring up ``lo``, which a new network namespace starts with down (ioctl SIOCSIFFLAGS)."""
    import fcntl  # Unix only: imported here, so that the launcher itself imports anywhere

    get_flags, set_flags, up = 0x8913, 0x8914, 0x1  # SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)  # struct ifreq: name, flags, padding
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, get_flags, request))[1]
        fcntl.ioctl(s, set_flags, struct.pack("16sH22x", b"lo", flags | up))


def _stop(processes: Sequence[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        process.wait()


def _tail(path: str, lines: int = 8) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        return "".join(stream.readlines()[-lines:]).rstrip()


def launch(
    workers: int,
    worker_args: Sequence[str],
    *,
    timeout: float = 300.0,
    private_network: bool = False,
) -> int:
    """Start ``workers`` local workers with ``worker_args``, wait, return an exit status.

    Each worker is ``python -m mmtutorial.tf_nn.distributed --worker <worker_args>`` with its
    ``TF_CONFIG`` (ports from :func:`free_ports`). Prints :func:`exposure_warning` to stderr
    first, then each worker's output in order when all succeed (0). If a worker fails, or the run
    exceeds ``timeout`` seconds, stops the others and prints which worker failed and the end of
    its output (1): a worker whose peer died would otherwise wait for it forever.

    With ``private_network``, the workers run in a new network namespace of their own (Linux
    ``unshare --net``, no root needed where user namespaces are open): nothing outside it, on
    this machine or another, can reach their servers. Fails at the call if that is not possible.
    """
    workers = check_int("workers", workers, low=1)
    timeout = check_number("timeout", timeout, low=0, low_open=True)
    private_network = check_bool("private_network", private_network)
    problem = private_network_problem() if private_network else None
    if problem is not None:
        raise InvalidParameterError(
            f"private_network=True needs a private network namespace, but {problem}; run "
            "without it, on a trusted network"
        )
    print(exposure_warning(workers, private_network), file=sys.stderr, flush=True)
    if private_network:
        return _run_in_private_network(workers, worker_args, timeout)
    return _run(workers, worker_args, timeout)


def _run_in_private_network(workers: int, worker_args: Sequence[str], timeout: float) -> int:
    """:func:`_run` in a launcher of its own inside a new user and network namespace."""
    inner = [sys.executable, "-m", __name__, str(workers), repr(timeout), *worker_args]
    launcher = subprocess.Popen(
        ["unshare", "--net", "--map-root-user", "--", *inner],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its workers join its process group
    )
    try:
        out, err = launcher.communicate()  # it stops its workers at its own timeout
    finally:
        if launcher.poll() is None:  # interrupted here: stop it and its workers
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    for line in out.splitlines():
        print(line)
    for line in err.splitlines():
        print(line, file=sys.stderr)
    return launcher.returncode


def _run(workers: int, worker_args: Sequence[str], timeout: float) -> int:
    """Start the workers on free ports of this network namespace and :func:`_wait` for them."""
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


if __name__ == "__main__":  # the launcher inside the namespace of launch(private_network=True)
    _loopback_up()
    status = _run(int(sys.argv[1]), sys.argv[3:], float(sys.argv[2]))
    sys.stdout.flush()
    sys.exit(status)
