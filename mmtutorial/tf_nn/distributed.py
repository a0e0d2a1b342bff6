"""Train on several worker processes with ``tf.distribute.MultiWorkerMirroredStrategy`` (ch. 5).

The recipe (:func:`train_job`) and the command line; the launcher that starts N local workers
(each runs the package's training loop with ``strategy=``) lives in ``_launcher``.

One machine, two workers on free ports of 127.0.0.1 (the launcher writes each one's ``TF_CONFIG``)::

    python -m mmtutorial.tf_nn.distributed --workers 2 --model digits --epochs 10 --out run

Several machines: run the worker itself, the same command on every host, each with its own
``TF_CONFIG`` naming every host and its own index (host 0 is the chief, which writes the results)::

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
    python -m mmtutorial.tf_nn.distributed --worker --model digits --epochs 10 --out run

Every worker resumes from the checkpoints the chief writes to ``--out``: on several hosts it must
be a folder every host sees (a shared file system), or a restarted cluster would have the chief
resume while the others start afresh. Every worker must also get the same ``--seed``: each draws
the same shuffled global batch and keeps its own share of it.

``--batch-size`` is the batch of one worker: N workers train on global batches of N times it,
at the same ``--learning-rate`` (adding workers changes the optimisation, not only its speed).

Security: from the moment a worker joins the cluster until it exits, its TensorFlow server
listens on every network interface of its machine (TensorFlow binds ``0.0.0.0``, whatever host
``TF_CONFIG`` names) and runs the computations it is sent, without authentication or
encryption. Anyone who can reach the port can run code as the worker's user. Run workers only on
a trusted, isolated network (TensorFlow's ``SECURITY.md``); the launcher warns when it starts.
On Linux, ``--private-network`` runs the local workers in a network namespace of their own
(``unshare``), which nothing outside it can reach.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from mmtutorial._checks import InvalidParameterError, check_int, check_number
from mmtutorial.data import article_data, load_digits, standardize, train_test_split
from mmtutorial.repro import set_seed

from ._launcher import free_ports, launch, tf_config
from ._replicas import is_chief, scope
from ._tf import keras, tf
from .data import make_dataset
from .models import article_model, build_multimodal_model
from .training import train

__all__ = ["free_ports", "launch", "main", "run_worker", "tf_config", "train_job", "weights_digest"]

MODELS = ("article", "digits")
RESULT_FILE = "result.json"
WEIGHTS_FILE = "weights.npz"


def weights_digest(weights: Sequence[np.ndarray]) -> str:
    """A short SHA-256 of the weights' bytes: equal only for bit-identical weights.

    Examples
    --------
    >>> weights_digest([np.zeros(2, np.float32)]) == weights_digest([np.zeros(2, np.float32)])
    True
    """
    digest = hashlib.sha256()
    for w in weights:
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()[:16]


def train_job(
    model: str = "article",
    *,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 0.01,
    seed: int = 0,
    strategy: Any = None,
    checkpoint_dir: str | os.PathLike | None = None,
    log_every: int = 0,
) -> tuple[Any, list[np.ndarray]]:
    """Train the article's network or the digits model; return ``(history, weights)``.

    ``"article"``: :func:`~mmtutorial.tf_nn.article_model` on :func:`mmtutorial.data.article_data`
    (MSE on both heads); ``"digits"``: ``pix`` and ``fou`` encoders (32 units) on 1500
    standardised training digits, cross-entropy and accuracy. Adam, batches of ``batch_size``
    (the *global* batch), shuffled with ``seed``. Under ``strategy`` the model is built in its
    scope. It first calls :func:`mmtutorial.repro.set_seed` with ``seed`` (TensorFlow included),
    so the same call in one process and on every worker gives the same result.

    Examples
    --------
    >>> history, weights = train_job("article", epochs=2)
    >>> len(history), len(weights)
    (2, 6)
    """
    if model not in MODELS:
        raise InvalidParameterError(f"model must be one of {list(MODELS)}, got {model!r}")
    set_seed(seed, tensorflow=True)  # the shuffle depends on TensorFlow's global seed too
    if model == "article":
        data, losses, metrics = article_data(seed=seed), {"y1": "mse", "y2": "mse"}, None
    else:
        digits = load_digits(views=("pix", "fou"))
        data, _ = standardize(*train_test_split(digits, 0.25, seed=seed, stratify="digit"))
        losses, metrics = {"digit": "xent"}, {"digit": ["accuracy"]}
    with scope(strategy):
        if model == "article":
            network = article_model(seed=seed)
        else:
            dims = {m: x.shape[1] for m, x in data.inputs.items()}
            network = build_multimodal_model(
                dims, {"digit": (10, None)}, encoder_units=32, shared_units=32, seed=seed
            )
        optimizer = keras.optimizers.Adam(learning_rate)
    history = train(
        network,
        make_dataset(data, batch_size, shuffle_seed=seed),
        optimizer,
        losses=losses,
        metrics=metrics,
        epochs=epochs,
        log_every=log_every,
        checkpoint_dir=checkpoint_dir,
        strategy=strategy,
    )
    return history, [np.asarray(w) for w in network.get_weights()]


def run_worker(options: argparse.Namespace) -> None:
    """The worker entry point: join the cluster ``TF_CONFIG`` names, train, report.

    Every worker prints its final loss and :func:`weights_digest`; the chief also writes
    ``result.json`` (history, workers, training seconds) and ``weights.npz`` to ``--out``, and
    its checkpoints to ``<out>/checkpoints``, from which every worker resumes.
    """
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    index = strategy.cluster_resolver.task_id or 0
    out = options.out
    crash = options.fail_worker == index  # test hook: dies after one epoch, its peers blocked
    start = time.perf_counter()
    history, weights = train_job(
        options.model,
        epochs=1 if crash else options.epochs,
        batch_size=options.batch_size * strategy.num_replicas_in_sync,
        learning_rate=options.learning_rate,
        seed=options.seed,
        strategy=strategy,
        checkpoint_dir=None if out is None else os.path.join(out, "checkpoints"),
        log_every=options.log_every if is_chief(strategy) else 0,
    )
    seconds = time.perf_counter() - start
    if crash:
        print(f"worker {index} crashes on purpose after epoch 1 (--fail-worker)", flush=True)
        os._exit(3)
    print(f"final loss {history.loss[-1]:.4g}  weights {weights_digest(weights)}", flush=True)
    if out is not None and is_chief(strategy):
        os.makedirs(out, exist_ok=True)
        np.savez(os.path.join(out, WEIGHTS_FILE), *weights)
        result = {
            "workers": strategy.num_replicas_in_sync,
            "seconds": seconds,
            "history": asdict(history),
        }
        with open(os.path.join(out, RESULT_FILE), "w", encoding="utf-8") as stream:
            json.dump(result, stream)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmtutorial.tf_nn.distributed",
        description="Train with MultiWorkerMirroredStrategy on local workers (or be one worker).",
        epilog=(
            "Security: while a worker runs, its TensorFlow server listens on every network "
            "interface (0.0.0.0, whatever TF_CONFIG names) and runs what it is sent without "
            "authentication: anyone who reaches the port can run code as this user. Use a "
            "trusted network, or --private-network for local workers (Linux)."
        ),
    )
    role = parser.add_mutually_exclusive_group(required=True)
    role.add_argument("--workers", type=int, help="start this many local workers (>= 1)")
    role.add_argument("--worker", action="store_true", help="be one worker (reads TF_CONFIG)")
    parser.add_argument("--model", choices=MODELS, default="article")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="per-worker batch: N workers train on global batches of N times it, at the same "
        "--learning-rate",
    )
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument(
        "--seed", type=int, default=0, help="every worker's seed: the same shuffle on all of them"
    )
    parser.add_argument("--log-every", type=int, default=0, help="chief's progress lines")
    parser.add_argument(
        "--out",
        help="folder for the chief's checkpoints and results, from which every worker resumes: "
        "on several hosts, one that every host sees (a shared file system)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds (launcher)")
    parser.add_argument(
        "--private-network",
        action="store_true",
        help="run the local workers in a private network namespace (Linux, unshare): their "
        "servers are unreachable from outside it",
    )
    # Test hook, hidden from --help: this worker exits with an error after training, so that
    # tests/test_distributed.py can check how the launcher stops the others.
    parser.add_argument("--fail-worker", type=int, default=-1, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``--workers N`` launches, ``--worker`` is one worker; returns a status.

    Examples
    --------
    >>> main(["--workers", "0"])
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: --workers must be an int >= 1, got 0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    options = _parser().parse_args(argv)
    for name, low in (("epochs", 1), ("batch_size", 1), ("seed", 0), ("log_every", 0)):
        check_int(f"--{name.replace('_', '-')}", getattr(options, name), low=low)
    check_number("--learning-rate", options.learning_rate, low=0, low_open=True)
    check_number("--timeout", options.timeout, low=0, low_open=True)
    if options.worker:
        if options.private_network:
            raise InvalidParameterError(
                "--private-network applies to the local workers of --workers N, got it with "
                "--worker (isolate a multi-host cluster with its network instead)"
            )
        if "TF_CONFIG" not in os.environ:
            raise InvalidParameterError(
                "--worker needs the environment variable TF_CONFIG naming the cluster and this "
                "worker's index, got none (use --workers N to start local workers)"
            )
        run_worker(options)
        return 0
    workers = check_int("--workers", options.workers, low=1)
    worker_args = [f"--model={options.model}"]
    for name in ("epochs", "batch_size", "learning_rate", "seed", "log_every", "fail_worker"):
        worker_args.append(f"--{name.replace('_', '-')}={getattr(options, name)!r}")
    if options.out is not None:
        worker_args.append(f"--out={os.path.abspath(options.out)}")
    return launch(
        workers, worker_args, timeout=options.timeout, private_network=options.private_network
    )


if __name__ == "__main__":
    status = main()
    # Everything is written: skip the interpreter's teardown of TensorFlow's runtime, which takes
    # seconds per worker on a busy machine while the launcher waits for every worker to exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
