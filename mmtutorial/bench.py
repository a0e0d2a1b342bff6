"""``python -m mmtutorial.bench``: 1000 training steps of the article's network, five ways.

The article's network and data (``x1, x2 → 20 → y1, y2``, 100 samples), Adam(0.01), full batch,
the article's loss (``reduce_mean(square(ŷ − y))`` per head, summed). Ways:

* ``package``: :meth:`mmtutorial.training.Trainer.fit`, exactly what
  :func:`~mmtutorial.training.train` runs (all 1000 one-batch epochs in one compiled graph loop);
* ``eager``: a plain eager ``tf.GradientTape`` loop;
* ``fit_per_step``: ``model.fit(epochs=1)`` called once per step, as the article's loop steps;
* ``tf1_session``: the article's TF1 code, minimally fixed, through ``tf.compat.v1`` in its own
  ``tf.Graph`` (Keras 3 has no ``tf.compat.v1.layers``, so its ``dense`` layers are written out
  with ``get_variable`` and ``matmul``, with ``tf.layers.dense``'s default initialisers);
* ``numpy``: :func:`mmtutorial.numpy_nn.train` with its hand-written backprop and Adam.

Each way is warmed up with 10 steps (tracing, graph building and session start are not timed),
then timed ``--repeats`` times from the same initial state, the ways taking turns so that a
change in the machine's load hits all of them alike; the median is printed, then the ratio
``package/tf1_session``. ``eager`` and ``fit_per_step`` cost the same Python work every step and
take minutes, so they are timed over ``--slow-steps`` (100) steps, scaled to 1000. Chapter 4 and
``make bench`` report these numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from mmtutorial.data import article_data
from mmtutorial.numpy_nn import Adam as NumpyAdam
from mmtutorial.numpy_nn import article_network
from mmtutorial.numpy_nn import train as numpy_train
from mmtutorial.repro import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from mmtutorial.tf_models import article_model  # noqa: E402
from mmtutorial.training import Trainer, make_dataset  # noqa: E402

__all__ = ["SLOW_WAYS", "WAYS", "main", "time_way"]

LOSSES = {"y1": "mse", "y2": "mse"}


def _restorer(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> Callable[[], None]:
    """Return a function that puts the weights and the optimizer's state back as they are now."""
    optimizer.build(model.trainable_variables)
    saved = [(v, v.numpy()) for v in [*model.variables, *optimizer.variables]]

    def restore() -> None:
        for variable, value in saved:
            variable.assign(value)

    return restore


def package() -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for the package's compiled loop."""
    model, adam = article_model(seed=0), keras.optimizers.Adam(0.01)
    trainer, dataset = Trainer(model, LOSSES, adam), make_dataset(article_data())
    return _restorer(model, adam), lambda steps: trainer.fit(dataset, steps)


def eager() -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for a plain eager ``GradientTape`` loop."""
    model, adam = article_model(seed=0), keras.optimizers.Adam(0.01)
    data = article_data()
    x = {k: tf.constant(v, tf.float32) for k, v in data.inputs.items()}
    y = {k: tf.constant(v, tf.float32) for k, v in data.targets.items()}

    def run(steps: int) -> None:
        for _ in range(steps):
            with tf.GradientTape() as tape:
                out = model(x, training=True)
                loss = sum(tf.reduce_mean(tf.square(out[h] - y[h])) for h in y)
            grads = tape.gradient(loss, model.trainable_variables)
            adam.apply_gradients(zip(grads, model.trainable_variables, strict=True))

    return _restorer(model, adam), run


def fit_per_step() -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for ``model.fit`` called once per training step."""
    model, adam = article_model(seed=0), keras.optimizers.Adam(0.01)
    model.compile(optimizer=adam, loss=LOSSES)
    data = article_data()

    def run(steps: int) -> None:
        for _ in range(steps):
            model.fit(data.inputs, data.targets, batch_size=100, epochs=1, verbose=0)

    return _restorer(model, adam), run


def tf1_session() -> tuple[Callable[[], None], Callable[[int], tuple[float, float]]]:
    """Return ``(reset, run)`` for the article's TF1 code through ``tf.compat.v1``.

    ``run(steps)`` returns the last step's ``(loss1, loss2)``, so chapter 4 can check that the
    program it prints is the one timed here.
    """
    v1, data = tf.compat.v1, article_data()
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)  # a graph seed: required when op determinism is on (chapter 4)

        def dense(inputs: tf.Tensor, units: int, name: str) -> tf.Tensor:
            # tf.layers.dense(inputs, units, activation=tf.nn.relu), which Keras 3 removed
            with v1.variable_scope(name):
                kernel = v1.get_variable("kernel", [inputs.shape[1], units], tf.float32)
                bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
            return tf.nn.relu(tf.matmul(inputs, kernel) + bias)

        input1 = v1.placeholder(tf.float32, shape=[None, 10])
        input2 = v1.placeholder(tf.float32, shape=[None, 10])
        target1 = v1.placeholder(tf.float32, shape=[None, 10])  # the article left these unnamed
        target2 = v1.placeholder(tf.float32, shape=[None, 10])
        hidden = dense(tf.concat([input1, input2], axis=1), 20, "hidden")
        output1, output2 = dense(hidden, 10, "output1"), dense(hidden, 10, "output2")
        loss1 = tf.reduce_mean(tf.square(output1 - target1))
        loss2 = tf.reduce_mean(tf.square(output2 - target2))
        train_op = v1.train.AdamOptimizer(learning_rate=0.01).minimize(loss1 + loss2)
        init = v1.global_variables_initializer()
    session = v1.Session(graph=graph)
    feed = {input1: data.inputs["x1"], input2: data.inputs["x2"]}
    feed |= {target1: data.targets["y1"], target2: data.targets["y2"]}  # not the outputs

    def run(steps: int) -> tuple[float, float]:
        for _ in range(steps):
            _, loss1_value, loss2_value = session.run([train_op, loss1, loss2], feed_dict=feed)
        return float(loss1_value), float(loss2_value)

    return lambda: session.run(init), run


def numpy() -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for the from-scratch NumPy network and Adam."""
    data, state = article_data(), {}

    def reset() -> None:
        state["net"], state["adam"] = article_network(seed=0, dtype=np.float32), NumpyAdam(0.01)

    return reset, lambda steps: numpy_train(state["net"], state["adam"], data, steps=steps)


#: Ways whose every step costs the same Python-level work (no compiled loop): they are timed
#: over ``--slow-steps`` steps and their medians scaled to ``--steps``, to keep the run short.
SLOW_WAYS = ("eager", "fit_per_step")

WAYS = {
    "package": package,
    "eager": eager,
    "fit_per_step": fit_per_step,
    "tf1_session": tf1_session,
    "numpy": numpy,
}


def time_way(way: str, steps: int = 1000, repeats: int = 5) -> list[float]:
    """Return the seconds of ``repeats`` timed runs of ``steps`` steps, after a short warm-up.

    Examples
    --------
    >>> len(time_way("package", steps=10, repeats=2))
    2
    """
    if way not in WAYS:
        raise ValueError(f"way must be one of {sorted(WAYS)}, got {way!r}")
    reset, run = WAYS[way]()
    _warm_up(reset, run)
    return [_seconds(reset, run, steps) for _ in range(repeats)]


def _warm_up(reset: Callable[[], None], run: Callable[[int], None]) -> None:
    reset()
    run(10)  # traces, builds or starts whatever the way needs, once


def _seconds(reset: Callable[[], None], run: Callable[[int], None], steps: int) -> float:
    reset()
    start = time.perf_counter()
    run(steps)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print one ``bench <way>: median <s> s`` line per way and the ratio."""
    parser = argparse.ArgumentParser(prog="python -m mmtutorial.bench", description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow-steps", type=int, default=100, help="steps timed for slow ways")
    parser.add_argument("--slow-repeats", type=int, default=3, help="repeats of slow ways")
    parser.add_argument("--ways", nargs="+", choices=sorted(WAYS), default=list(WAYS))
    args = parser.parse_args(argv)
    runs = {way: WAYS[way]() for way in args.ways}
    for reset, run in runs.values():
        _warm_up(reset, run)
    plan = {
        way: (min(args.slow_steps, args.steps), args.slow_repeats)
        if way in SLOW_WAYS  # constant cost per step: time fewer steps, scale to --steps
        else (args.steps, args.repeats)
        for way in args.ways
    }
    times: dict[str, list[float]] = {way: [] for way in args.ways}
    for r in range(max(repeats for _, repeats in plan.values())):
        for way, (reset, run) in runs.items():  # interleaved: every way sees the same load
            steps, repeats = plan[way]
            if r < repeats:
                times[way].append(_seconds(reset, run, steps) * args.steps / steps)
    medians = {way: statistics.median(values) for way, values in times.items()}
    for way, median in medians.items():
        print(f"bench {way}: median {median:.3f} s", flush=True)
    if "package" in medians and "tf1_session" in medians:
        print(f"ratio package/tf1_session: {medians['package'] / medians['tf1_session']:.2f}")
    return medians


if __name__ == "__main__":
    main()
