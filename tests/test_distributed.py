"""Multi-worker training: ``train(strategy=...)`` and the launcher ``mmtutorial.tf_nn.distributed``.

The launches start real worker processes on free ports of 127.0.0.1; each is bounded by the
launcher's own ``--timeout``, so a hang fails the test instead of blocking it.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import article_data
from mmtutorial.tf_nn import _launcher, article_model, make_dataset, train
from mmtutorial.tf_nn._launcher import exposure_warning, private_network_problem
from mmtutorial.tf_nn._replicas import is_chief
from mmtutorial.tf_nn._tf import keras, tf
from mmtutorial.tf_nn.distributed import launch, main, train_job

TIMEOUT = "240"  # seconds per launch: generous for a loaded 2-core machine
# 100 samples in global batches of 2 × 10: whole batches only. With a smaller last batch, a
# shuffled make_dataset iterator restored from a checkpoint after some epochs (1 or 2 of 100
# samples in batches of 16 or 48, TF 2.21) does not continue the order of an uninterrupted one.
RUN = ["--model", "article", "--batch-size", "10", "--learning-rate", "0.02", "--seed", "1"]


def load_weights(out):
    saved = np.load(out / "weights.npz")
    return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def single_process(epochs):
    """One process, no strategy, global batch 2 × 10: what the two workers must reproduce."""
    return train_job("article", epochs=epochs, batch_size=20, learning_rate=0.02, seed=1)


def assert_same_weights(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    """Two workers, 2 epochs, per-worker batch 10; returns the out folder and the printed lines."""
    out = tmp_path_factory.mktemp("dist") / "run"
    capture = pytest.MonkeyPatch()
    lines = []
    capture.setattr("builtins.print", lambda *a, **k: lines.append(" ".join(map(str, a))))
    try:
        status = main(
            ["--workers", "2", "--epochs", "2", "--out", str(out), "--timeout", TIMEOUT] + RUN
        )
    finally:
        capture.undo()
    assert status == 0, lines
    return out, lines


def test_two_workers_match_one_process_with_twice_the_batch(two_worker_run):
    out, lines = two_worker_run
    digests = {
        m.group(1): m.group(2)
        for line in lines
        if (m := re.match(r"\[worker (\d)\] final loss \S+  weights (\w+)", line))
    }
    assert sorted(digests) == ["0", "1"] and digests["0"] == digests["1"]  # bit-identical
    history, weights = single_process(epochs=2)
    assert_same_weights(load_weights(out), weights)
    result = json.loads((out / "result.json").read_text())
    assert result["workers"] == 2
    np.testing.assert_allclose(result["history"]["loss"], history.loss, rtol=1e-5)
    # grad_norms is opt-in: the record all-reduce carries the losses, not the encoder gradients
    assert result["history"]["grad_norms"] == history.grad_norms == {}


def test_the_launcher_first_warns_that_the_workers_listen_on_every_interface(two_worker_run):
    _, lines = two_worker_run
    assert lines[0] == exposure_warning(2)
    for words in ("until they exit", "every network interface", "unauthenticated", "--private"):
        assert words in lines[0]
    assert "\n" not in lines[0]  # one line


def test_resumed_run_continues_like_an_uninterrupted_one(two_worker_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(two_worker_run[0], out)
    assert (
        main(["--workers", "2", "--epochs", "4", "--out", str(out), "--timeout", TIMEOUT] + RUN)
        == 0
    )
    history, weights = single_process(epochs=4)
    assert_same_weights(load_weights(out), weights)
    result = json.loads((out / "result.json").read_text())
    np.testing.assert_allclose(result["history"]["loss"], history.loss, rtol=1e-5)
    checkpoints = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert "ckpt-4.index" in checkpoints and not [n for n in checkpoints if "tmp" in n]


def test_only_the_chief_writes():
    def strategy(cluster, task_type, task_id):
        spec = tf.train.ClusterSpec(cluster)
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            spec, task_type=task_type, task_id=task_id
        )
        return SimpleNamespace(cluster_resolver=resolver)

    workers = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    assert is_chief(None)
    assert is_chief(strategy(workers, "worker", 0))
    assert not is_chief(strategy(workers, "worker", 1))
    with_chief = {"chief": ["127.0.0.1:3"], **workers}
    assert is_chief(strategy(with_chief, "chief", 0))
    assert not is_chief(strategy(with_chief, "worker", 0))


def test_a_dying_worker_stops_the_launch_with_a_message(capfd):
    args = ["--workers", "2", "--epochs", "50", "--fail-worker", "1", "--timeout", TIMEOUT]
    assert main(args + RUN) == 1
    err = capfd.readouterr().err
    assert "worker 1 of 2 exited with code 3; stopped the others" in err
    assert "crashes on purpose" in err


def test_a_launch_past_its_timeout_is_stopped(capfd):
    assert launch(2, ["--epochs", "1"], timeout=0.5) == 1
    assert "did not finish within 0.5 s; stopped them" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "0"], "--workers must be an int >= 1, got 0"),
        (["--workers", "2", "--epochs", "0"], "--epochs must be an int >= 1, got 0"),
        (["--workers", "2", "--batch-size", "-1"], "--batch-size must be an int >= 1"),
        (["--workers", "2", "--learning-rate", "0"], "--learning-rate must be a"),
        (["--workers", "2", "--timeout", "-5"], "--timeout must be a"),
        (["--worker"], "--worker needs the environment variable TF_CONFIG"),
        (["--worker", "--private-network"], "--private-network applies to the local workers"),
    ],
)
def test_bad_arguments_fail_clearly(argv, message, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        main(argv)


def test_command_line_needs_a_role_and_a_known_model(capsys):
    for argv in ([], ["--workers", "2", "--worker"], ["--workers", "2", "--model", "resnet"]):
        with pytest.raises(SystemExit) as error:
            main(argv)
        assert error.value.code == 2
    assert "invalid choice: 'resnet'" in capsys.readouterr().err
    with pytest.raises(InvalidParameterError, match="model must be one of"):
        train_job("resnet")


def listening(pid):
    """The (hex address, port) of the TCP sockets listening in the network namespace of ``pid``."""
    found = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}", encoding="ascii") as stream:
            for row in stream.read().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A":  # TCP_LISTEN
                    address, port = local.split(":")
                    found.add((address, int(port, 16)))
    return found


def descendants(pid):
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stream:
                parents[int(entry)] = int(stream.read().rsplit(")", 1)[1].split()[1])
        except OSError:  # exited meanwhile
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.skipif(private_network_problem() is not None, reason="no private network here")
def test_private_network_keeps_the_workers_servers_out_of_reach():
    command = [sys.executable, "-m", "mmtutorial.tf_nn.distributed", "--workers", "2",
               "--private-network", "--epochs", "3", "--timeout", TIMEOUT, *RUN]  # fmt: skip
    launcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ours, inside, refused = os.readlink("/proc/self/ns/net"), set(), set()
    try:
        while launcher.poll() is None:  # list the sockets while the workers run
            for pid in descendants(launcher.pid):
                try:
                    if os.readlink(f"/proc/{pid}/ns/net") != ours:
                        inside |= listening(pid)
                except OSError:  # exited meanwhile
                    continue
            for server in inside - refused:
                with pytest.raises(ConnectionRefusedError):  # from this namespace: nobody there
                    socket.create_connection(("127.0.0.1", server[1]), timeout=5).close()
                refused.add(server)
            time.sleep(0.1)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    out, err = launcher.communicate()
    assert launcher.returncode == 0, err
    assert exposure_warning(2, private_network=True) in err.splitlines()
    digests = re.findall(r"\[worker \d\] final loss \S+  weights (\w+)", out)
    assert len(digests) == 2 and len(set(digests)) == 1
    # Both workers' servers, seen from inside their namespace: bound to every interface
    # (address 0, as without the namespace), and refused from outside it.
    assert len(inside) == 2 and all(int(address, 16) == 0 for address, _ in inside)
    assert refused == inside


def test_private_network_fails_clearly_where_it_is_impossible(monkeypatch):
    monkeypatch.setattr(_launcher.shutil, "which", lambda name: None)
    with pytest.raises(InvalidParameterError, match="needs a private network namespace, but"):
        launch(2, ["--epochs", "1"], private_network=True)


@pytest.fixture(scope="module")
def strategy():
    return tf.distribute.MirroredStrategy(["/cpu:0"])


def test_strategy_option_rejects_what_it_cannot_run(strategy):
    data = make_dataset(article_data(), batch_size=50)
    losses = {"y1": "mse", "y2": "mse"}
    with pytest.raises(InvalidParameterError, match="strategy must be a tf.distribute.Strategy"):
        train(article_model(seed=0), data, "adam", losses=losses, epochs=1, strategy="mirrored")
    with pytest.raises(InvalidParameterError, match="model must be built inside"):
        train(article_model(seed=0), data, "adam", losses=losses, epochs=1, strategy=strategy)
    with strategy.scope():
        model = article_model(seed=0)
    with pytest.raises(InvalidParameterError, match="does not compile collectives"):
        train(model, data, "adam", losses=losses, epochs=1, strategy=strategy, jit_compile=True)
    outside = keras.optimizers.Adam()
    with pytest.raises(InvalidParameterError, match="optimizer must be created inside"):
        train(model, data, outside, losses=losses, epochs=1, strategy=strategy)
    for option in ({"modality_dropout": 0.5}, {"loss_weighting": "uncertainty"}):
        with pytest.raises(InvalidParameterError, match="not supported with it"):
            train(model, data, "adam", losses=losses, epochs=1, strategy=strategy, **option)


def test_one_replica_strategy_trains_like_no_strategy(strategy):
    def data():  # a fresh dataset: the same sequence of shuffles
        return make_dataset(article_data(), batch_size=32, shuffle_seed=0)

    losses = {"y1": "half_squared_error", "y2": "mse"}
    plain = article_model(seed=0)
    expected = train(plain, data(), keras.optimizers.Adam(0.01), losses=losses, epochs=3)
    with strategy.scope():
        model, optimizer = article_model(seed=0), keras.optimizers.Adam(0.01)
    history = train(model, data(), optimizer, losses=losses, epochs=3, strategy=strategy)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-6)
    assert_same_weights(model.get_weights(), plain.get_weights())


def test_a_non_finite_loss_stops_a_replica_step_before_its_update(strategy):
    data = article_data(n_samples=8)
    data.targets["y1"][:] = 1e200  # finite, but its square is not (its gradient is finite)
    with strategy.scope():  # SGD: Adam would step by g/√v = 0 (v overflows), hiding an update
        model, optimizer = article_model(seed=0), keras.optimizers.SGD(0.01)
    with pytest.raises(FloatingPointError, match="in epoch 1, before that step's update"):
        train(model, make_dataset(data), optimizer, losses={"y1": "mse"}, epochs=2,
              strategy=strategy)  # fmt: skip
    assert_same_weights(model.get_weights(), article_model(seed=0).get_weights())
