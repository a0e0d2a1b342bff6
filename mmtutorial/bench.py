"""``python -m mmtutorial.bench``: 1000 training steps of the article's network, six ways.

The article's network and data (``x1, x2 → 20 → y1, y2``, 100 samples), in float32 (its speed is
the point here), Adam(0.01), full batch,
the article's loss (``reduce_mean(square(ŷ − y))`` per head, summed). Ways:

* ``package``: :meth:`mmtutorial.tf_nn.Trainer.fit`, exactly what
  :func:`~mmtutorial.tf_nn.train` runs (all 1000 one-batch epochs in one compiled graph loop);
* ``package_xla``: the same with ``jit_compile=True`` (the epochs compiled by XLA);
* ``eager``: a plain eager ``tf.GradientTape`` loop;
* ``fit_per_step``: ``model.fit(epochs=1)`` called once per step, as the article's loop steps;
* ``tf1_session``: the article's TF1 code, minimally fixed (:func:`tf1_article_program`, the one
  place the book's chapter 4 prints it from);
* ``numpy``: :func:`mmtutorial.numpy_nn.train` with its hand-written backprop and Adam;
* ``floor_xla``: the floor, the fastest TensorFlow itself runs this network
  (:func:`floor_program`): one ``tf.function(jit_compile=True)`` holding a ``tf.while_loop``
  over all the steps, the same maths and Adam written in raw ops, no Keras, nothing recorded.

Each way is warmed up once (tracing, XLA compiling, graph building and session start are not
timed),
then timed ``--repeats`` times from the same initial state, the ways taking turns so that a
change in the machine's load hits all of them alike; the median is printed, then the ratios
``package_xla/floor_xla`` (how far the package's compiled loop is from the floor),
``package_xla/tf1_session`` and ``package/tf1_session``. ``eager`` and ``fit_per_step`` cost the
same Python work every step and take minutes, so they are timed over ``--slow-steps`` (100)
steps, scaled to 1000. Chapter 4 and ``make bench`` report these numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from mmtutorial._checks import check_choice, check_int
from mmtutorial.data import MultimodalData, article_data
from mmtutorial.numpy_nn import Adam as NumpyAdam
from mmtutorial.numpy_nn import article_network
from mmtutorial.numpy_nn import train as numpy_train
from mmtutorial.tf_nn import Trainer, article_model
from mmtutorial.tf_nn._tf import keras, tf

__all__ = [
    "SLOW_WAYS",
    "WAYS",
    "TF1Program",
    "floor_program",
    "main",
    "tf1_article_program",
    "tf1_dense",
    "time_way",
]

LOSSES = {"y1": "mse", "y2": "mse"}


def _restorer(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> Callable[[], None]:
    """Return a function that puts the weights and the optimizer's state back as they are now."""
    optimizer.build(model.trainable_variables)
    saved = [(v, v.numpy()) for v in [*model.variables, *optimizer.variables]]

    def restore() -> None:
        for variable, value in saved:
            variable.assign(value)

    return restore


def package(jit_compile: bool = False) -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for the package's compiled loop (with XLA if ``jit_compile``)."""
    model, adam = article_model(seed=0, dtype="float32"), keras.optimizers.Adam(0.01)
    trainer = Trainer(model, adam, losses=LOSSES, jit_compile=jit_compile)
    data = article_data()  # as chapter 4 passes it: one full batch, drawn once per fit
    return _restorer(model, adam), lambda steps: trainer.fit(data, epochs=steps)


def package_xla() -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for the package's loop compiled by XLA (``jit_compile=True``)."""
    return package(jit_compile=True)


def eager() -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for a plain eager ``GradientTape`` loop."""
    model, adam = article_model(seed=0, dtype="float32"), keras.optimizers.Adam(0.01)
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
    model, adam = article_model(seed=0, dtype="float32"), keras.optimizers.Adam(0.01)
    model.compile(optimizer=adam, loss=LOSSES)
    data = article_data()

    def run(steps: int) -> None:
        for _ in range(steps):
            model.fit(data.inputs, data.targets, batch_size=100, epochs=1, verbose=0)

    return _restorer(model, adam), run


def tf1_dense(inputs: tf.Tensor, units: int, name: str) -> tf.Tensor:
    """``tf.layers.dense(inputs, units, activation=tf.nn.relu)``, which Keras 3 removed.

    Written out with ``get_variable`` (Glorot-uniform kernel by default) and ``matmul``, as
    ``tf.layers.dense`` initialised them; used inside a ``tf.compat.v1`` graph.
    """
    v1 = tf.compat.v1
    with v1.variable_scope(name):
        kernel = v1.get_variable("kernel", [inputs.shape[1], units], tf.float32)
        bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
    return tf.nn.relu(tf.matmul(inputs, kernel) + bias)


class TF1Program(NamedTuple):
    """What :func:`tf1_article_program` returns: run ``init``, then ``train_op`` with ``feed``."""

    session: Any
    init: Any
    train_op: Any
    losses: tuple[Any, Any]
    feed: dict


def tf1_article_program(data: MultimodalData, seed: int = 0) -> TF1Program:
    """The article's TF1 program, minimally fixed, in its own ``tf.Graph`` via ``tf.compat.v1``.

    The fixes: ``tf.compat.v1`` names, :func:`tf1_dense` for ``tf.layers.dense``, a graph seed
    (required with op determinism on), and named target placeholders fed with the targets (the
    article feeds its outputs). Chapter 4 prints this function; ``tf1_session`` times it.

    Examples
    --------
    >>> program = tf1_article_program(article_data())
    >>> program.session.run(program.init)
    >>> losses = program.session.run(program.losses, feed_dict=program.feed)
    >>> [f"{loss:.2f}" for loss in losses]
    ['...', '...']
    """
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)  # the graph's own seed: reproducible initial weights
        input1 = v1.placeholder(tf.float32, shape=[None, 10])
        input2 = v1.placeholder(tf.float32, shape=[None, 10])
        target1 = v1.placeholder(tf.float32, shape=[None, 10])  # named, so they can be fed
        target2 = v1.placeholder(tf.float32, shape=[None, 10])
        hidden = tf1_dense(tf.concat([input1, input2], axis=1), 20, "hidden")
        output1, output2 = tf1_dense(hidden, 10, "output1"), tf1_dense(hidden, 10, "output2")
        loss1 = tf.reduce_mean(tf.square(output1 - target1))
        loss2 = tf.reduce_mean(tf.square(output2 - target2))
        train_op = v1.train.AdamOptimizer(learning_rate=0.01).minimize(loss1 + loss2)
        init = v1.global_variables_initializer()
    feed = {input1: data.inputs["x1"], input2: data.inputs["x2"]}
    feed |= {target1: data.targets["y1"], target2: data.targets["y2"]}  # targets, not outputs
    return TF1Program(v1.Session(graph=graph), init, train_op, (loss1, loss2), feed)


def tf1_session() -> tuple[Callable[[], None], Callable[[int], tuple[float, float]]]:
    """Return ``(reset, run)`` for :func:`tf1_article_program`; ``run`` returns the last losses."""
    program = tf1_article_program(article_data())

    def run(steps: int) -> tuple[float, float]:
        for _ in range(steps):
            _, loss1, loss2 = program.session.run(
                [program.train_op, *program.losses], feed_dict=program.feed
            )
        return float(loss1), float(loss2)

    return lambda: program.session.run(program.init), run


def numpy() -> tuple[Callable[[], None], Callable[[int], None]]:
    """Return ``(reset, run)`` for the from-scratch NumPy network and Adam."""
    data, state = article_data(), {}

    def reset() -> None:
        state["net"], state["adam"] = article_network(seed=0, dtype=np.float32), NumpyAdam(0.01)

    return reset, lambda steps: numpy_train(state["net"], data, state["adam"], steps=steps)


#: Adam's constants, Keras' defaults (the ``floor_xla`` way writes Adam out with them).
ADAM = {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}


def floor_program(dtype: str = "float32", seed: int = 0) -> Callable[[int], tuple[Any, Any]]:
    """The floor: the article's network trained by one XLA computation, nothing but the maths.

    Returns ``run(steps) -> (losses, weights)``: ``steps`` full-batch Adam steps from
    :func:`~mmtutorial.tf_nn.article_model`'s initial weights (``seed``) on
    :func:`~mmtutorial.data.article_data`, all inside one ``tf.function(jit_compile=True)``
    holding a ``tf.while_loop``, with the weights and Adam's moments as loop variables: no Keras
    layer, optimizer, dataset or record. ``losses`` are the two heads' mean squared errors at
    the last step (before its update); ``weights`` the final kernels and biases. The same maths
    as the package's loop (a test holds their losses equal in float64), so
    ``package_xla/floor_xla`` measures only the package's overhead.

    Examples
    --------
    >>> losses, weights = floor_program()(3)
    >>> losses.shape, len(weights)
    (TensorShape([2]), 6)
    """
    model, data = article_model(seed=seed, dtype=dtype), article_data()
    x = tf.constant(np.concatenate([data.inputs["x1"], data.inputs["x2"]], axis=1), dtype)
    y1, y2 = (tf.constant(data.targets[h], dtype) for h in ("y1", "y2"))
    layers = [model.get_layer(name) for name in ("shared", "head_y1", "head_y2")]
    initial = [tf.constant(w) for layer in layers for w in (layer.kernel, layer.bias)]
    b1, b2, eps = (tf.constant(ADAM[k], dtype) for k in ("beta_1", "beta_2", "epsilon"))
    # As Keras computes them: the rate and the betas of the bias correction through float32.
    rounded = (
        tf.cast(tf.constant(ADAM[k], tf.float32), dtype)
        for k in ("learning_rate", "beta_1", "beta_2")
    )
    lr, b1_32, b2_32 = rounded

    def losses(w: list) -> tuple[tf.Tensor, tf.Tensor]:
        hidden = tf.nn.relu(x @ w[0] + w[1])
        out1, out2 = tf.nn.relu(hidden @ w[2] + w[3]), tf.nn.relu(hidden @ w[4] + w[5])
        return tf.reduce_mean(tf.square(out1 - y1)), tf.reduce_mean(tf.square(out2 - y2))

    def adam_step(t: tf.Tensor, w: list, m: list, v: list, _: tf.Tensor) -> tuple:
        with tf.GradientTape() as tape:
            tape.watch(w)
            loss1, loss2 = losses(w)
            total = loss1 + loss2
        grads = tape.gradient(total, w)
        step = tf.cast(t + 1, dtype)
        alpha = lr * tf.sqrt(1 - b2_32**step) / (1 - b1_32**step)  # bias-corrected rate
        m = [mi + (g - mi) * (1 - b1) for mi, g in zip(m, grads, strict=True)]
        v = [vi + (tf.square(g) - vi) * (1 - b2) for vi, g in zip(v, grads, strict=True)]
        w = [wi - mi * alpha / (tf.sqrt(vi) + eps) for wi, mi, vi in zip(w, m, v, strict=True)]
        return t + 1, w, m, v, tf.stack([loss1, loss2])

    @tf.function(jit_compile=True)
    def run(steps: tf.Tensor) -> tuple[Any, Any]:
        zeros = [tf.zeros_like(w) for w in initial]
        state = (tf.constant(0), initial, zeros, zeros, tf.zeros([2], dtype))
        _, w, _, _, last = tf.while_loop(lambda t, *_: t < steps, adam_step, state)
        return last, w

    return lambda steps: run(tf.constant(steps))


def floor_xla() -> tuple[Callable[[], None], Callable[[int], Any]]:
    """Return ``(reset, run)`` for :func:`floor_program` (its state starts afresh every run)."""
    run = floor_program()
    return lambda: None, lambda steps: [t.numpy() for t in tf.nest.flatten(run(steps))]


#: Ways whose every step costs the same Python-level work (no compiled loop): they are timed
#: over ``--slow-steps`` steps and their medians scaled to ``--steps``, to keep the run short.
SLOW_WAYS = ("eager", "fit_per_step")

WAYS = {
    "package": package,
    "package_xla": package_xla,
    "eager": eager,
    "fit_per_step": fit_per_step,
    "tf1_session": tf1_session,
    "numpy": numpy,
    "floor_xla": floor_xla,
}


def time_way(way: str, steps: int = 1000, repeats: int = 5) -> list[float]:
    """Return the seconds of ``repeats`` timed runs of ``steps`` steps, after a short warm-up.

    Examples
    --------
    >>> len(time_way("package", steps=10, repeats=2))
    2
    >>> time_way("graph")
    Traceback (most recent call last):
    ...
    mmtutorial._checks.InvalidParameterError: way must be one of ('package', ...), got 'graph'
    """
    check_choice("way", way, WAYS)
    check_int("steps", steps, low=1)
    check_int("repeats", repeats, low=1)
    reset, run = WAYS[way]()
    _warm_up(reset, run, 10 if way in SLOW_WAYS else steps)
    return [_seconds(reset, run, steps) for _ in range(repeats)]


def _warm_up(reset: Callable[[], None], run: Callable[[int], None], steps: int) -> None:
    reset()
    run(steps)  # traces, compiles, builds or starts whatever the way needs, once


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
    plan = {
        way: (min(args.slow_steps, args.steps), args.slow_repeats)
        if way in SLOW_WAYS  # constant cost per step: time fewer steps, scale to --steps
        else (args.steps, args.repeats)
        for way in args.ways
    }
    for way, (reset, run) in runs.items():
        _warm_up(reset, run, 10 if way in SLOW_WAYS else plan[way][0])
    times: dict[str, list[float]] = {way: [] for way in args.ways}
    for r in range(max(repeats for _, repeats in plan.values())):
        for way, (reset, run) in runs.items():  # interleaved: every way sees the same load
            steps, repeats = plan[way]
            if r < repeats:
                times[way].append(_seconds(reset, run, steps) * args.steps / steps)
    medians = {way: statistics.median(values) for way, values in times.items()}
    for way, median in medians.items():
        print(f"bench {way}: median {median:.3f} s", flush=True)
    if "package_xla" in medians and "floor_xla" in medians:
        print(f"ratio package_xla/floor_xla: {medians['package_xla'] / medians['floor_xla']:.2f}")
    for way in ("package_xla", "package"):  # the default loop's ratio stays the last line
        if way in medians and "tf1_session" in medians:
            print(f"ratio {way}/tf1_session: {medians[way] / medians['tf1_session']:.2f}")
    return medians


if __name__ == "__main__":
    main()
