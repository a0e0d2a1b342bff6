"""The article's network generalised: M modalities → encoders → concat → shared layer → I heads.

Used by chapters 1, 2, 3a, 3b and 4. Every gradient is computed by the hand-written layers in
``layers.py``; after :meth:`MultimodalNet.backward` the network also reports the gradient
reaching each modality and each head's share of the gradient at the shared layer.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._checks import (
    InvalidParameterError,
    check_choice,
    check_dims,
    check_dtype,
    check_finite,
    check_inputs,
    check_int,
    check_keys,
    check_labels,
    check_mapping,
    check_number,
    check_rng,
    check_shape,
)
from ..perturb import perturb_from_environment
from ..seeds import stream
from .layers import Concat, Dense, ReLU
from .losses import HalfSquaredError, MeanSquaredError, SoftmaxCrossEntropy

LOSSES = {
    "half_squared_error": HalfSquaredError,
    "mse": MeanSquaredError,
    "xent": SoftmaxCrossEntropy,
}


class MultimodalNet:
    """A multi-input, multi-output network trained with hand-written backprop.

    ``inputs[m]`` → (optional encoder ``Dense + ReLU`` per modality) → ``Concat`` (the fusion
    layer) → ``shared`` ``Dense + ReLU`` → one head ``Dense`` (+ ReLU) per output → one loss per
    head ``i``, combined as ``L = Σ_i λ_i L_i`` with ``λ_i = loss_weights[i]``.

    Parameters
    ----------
    modality_dims : dict[str, int]
        Feature count of each modality input, in fusion order.
    head_dims : dict[str, int]
        Output width of each head (the number of classes for an ``"xent"`` head).
    encoder_units : int, dict[str, int] or None
        Width of each modality's encoder; ``None`` concatenates the raw inputs (the article).
    shared_units : int
        Width of the shared layer.
    head_activation : {"relu", None}
        Activation of the regression heads; the article uses ReLU. Classification (``"xent"``)
        heads always output logits, since the softmax lives in the loss.
    losses : dict[str, {"half_squared_error", "mse", "xent"}], optional
        Loss of each head (see ``losses.py``); heads not named use ``"half_squared_error"``,
        the article's batch mean of ``½‖ŷ − y‖²`` (prediction ``ŷ``, target ``y``). ``"mse"`` is
        Keras's mean squared error, and ``"xent"`` softmax cross-entropy on integer labels (at least
        two classes).
    loss_weights : dict[str, float], optional
        Weight of each head's loss; heads not named weigh 1.
    init : {"he", "glorot"}
        Weight initialisation of every Dense layer.
    seed : int or numpy.random.Generator
        Source of the initial weights: an int seeds the initial-weights stream
        (:mod:`mmtutorial.seeds`); a generator is drawn from as it is.
    dtype : float32 or float64
        A NumPy dtype or its name.

    Notes
    -----
    Parameters are named ``"<layer>/W"`` and ``"<layer>/b"`` with layers ``"encoder_<modality>"``,
    ``"shared"`` and ``"head_<head>"``. After :meth:`backward`:

    * :meth:`gradients` holds ``dL/dθ`` for every parameter;
    * :meth:`input_gradients` holds ``dL/dx_m`` for each modality, shape ``(batch, d_m)``;
    * :meth:`fusion_gradients` holds each modality's slice of ``dL/d(concat)``: the *only* path
      by which a modality (and its encoder) receives gradient;
    * :meth:`head_gradients_at_shared` holds, per head ``i``, ``λ_i · dL_i/dh`` at the shared
      layer's output ``h`` (after its ReLU); their sum is :meth:`shared_gradient`.

    Examples
    --------
    >>> net = MultimodalNet({"pix": 3, "fou": 2}, {"y": 1}, shared_units=4, seed=0)
    >>> x = {"pix": np.ones((5, 3)), "fou": np.zeros((5, 2))}
    >>> total, per_head = net.loss(x, {"y": np.ones((5, 1))})
    >>> net.backward()
    >>> sorted(net.gradients())
    ['head_y/W', 'head_y/b', 'shared/W', 'shared/b']
    >>> net.input_gradients()["pix"].shape
    (5, 3)
    >>> net.copy(dtype="float32").parameters()["shared/W"].dtype
    dtype('float32')
    """

    def __init__(
        self,
        modality_dims: Mapping[str, int],
        head_dims: Mapping[str, int],
        *,
        encoder_units: int | Mapping[str, int] | None = None,
        shared_units: int = 20,
        head_activation: str | None = "relu",
        losses: Mapping[str, str] | None = None,
        loss_weights: Mapping[str, float] | None = None,
        init: str = "he",
        seed: int | np.random.Generator = 0,
        dtype: np.dtype | str | type = np.float64,
    ) -> None:
        self.modality_dims = check_dims("modality_dims", modality_dims)
        self.head_dims = check_dims("head_dims", head_dims)
        self.modalities = list(self.modality_dims)
        self.heads = list(self.head_dims)
        self.shared_units = check_int("shared_units", shared_units, low=1)
        self.dtype = check_dtype("dtype", dtype)
        self.head_activation = check_choice("head_activation", head_activation, ("relu", None))
        self.losses = self._check_losses(losses)
        self.loss_weights = self._check_loss_weights(loss_weights)
        if isinstance(encoder_units, Mapping):
            check_keys(
                "encoder_units", encoder_units, self.modalities, what="modalities", exact=True
            )
            encoder_units = {m: encoder_units[m] for m in self.modalities}
        elif encoder_units is not None:
            encoder_units = dict.fromkeys(self.modalities, encoder_units)
        if encoder_units is not None:
            encoder_units = {
                m: check_int(f"encoder_units[{m!r}]", units, low=1)
                for m, units in encoder_units.items()
            }
        self.encoder_units = encoder_units
        self._config = dict(
            modality_dims=self.modality_dims,
            head_dims=self.head_dims,
            encoder_units=encoder_units,
            shared_units=self.shared_units,
            head_activation=head_activation,
            losses=self.losses,
            loss_weights=self.loss_weights,
            init=init,
            dtype=self.dtype.name,
        )
        rng = check_rng("seed", seed)  # a generator as it is; a bad seed refused
        if not isinstance(seed, np.random.Generator):
            rng = stream(int(seed), "init")
        self._build(rng, init)
        moved = perturb_from_environment(list(self.parameters().values()))  # make nbval-sweep
        if moved is not None:
            for value, new in zip(self.parameters().values(), moved, strict=True):
                value[...] = new
        self._forget_batch()

    def _forget_batch(self) -> None:
        """Drop everything computed from a batch, so no result of an older batch is returned."""
        self._cache: dict | None = None
        self._input_grads: dict[str, np.ndarray] = {}
        self._fusion_grads: dict[str, np.ndarray] = {}
        self.head_grads_at_shared: dict[str, np.ndarray] = {}

    def _check_losses(self, losses: Mapping[str, str] | None) -> dict[str, str]:
        losses = check_mapping(
            "losses", losses or {}, keys=self.heads, what="heads", exact=False, allow_empty=True
        )
        for head, kind in losses.items():
            check_choice(f"losses[{head!r}]", kind, sorted(LOSSES))
            if kind == "xent" and self.head_dims[head] < 2:
                raise InvalidParameterError(
                    f"head {head!r} has the loss 'xent', which needs head_dims[{head!r}] >= 2 "
                    f"classes, got {self.head_dims[head]} (one class: the loss is always 0)"
                )
        return {h: losses.get(h, "half_squared_error") for h in self.heads}

    def _check_loss_weights(self, weights: Mapping[str, float] | None) -> dict[str, float]:
        weights = check_mapping(
            "loss_weights",
            weights or {},
            keys=self.heads,
            what="heads",
            exact=False,
            allow_empty=True,
        )
        return {
            h: check_number(f"loss_weights[{h!r}]", weights.get(h, 1.0), low=0) for h in self.heads
        }

    def copy(self, **overrides: object) -> MultimodalNet:
        """Return a new network with the same weights and ``get_config()`` updated by ``overrides``.

        The weights are copied (cast to the new ``dtype``), so training the copy leaves this
        network as it is. Overrides may change anything that keeps every weight's shape
        (``loss_weights``, ``losses``, ``head_activation``, ``dtype``); others fail.

        Examples
        --------
        >>> net = MultimodalNet({"a": 3}, {"y": 2}, shared_units=4, seed=0)
        >>> twin = net.copy(loss_weights={"y": 0.5})
        >>> bool(np.array_equal(twin.parameters()["shared/W"], net.parameters()["shared/W"]))
        True
        """
        config = self.get_config()
        check_keys("copy overrides", overrides, config, what="get_config() keys", exact=False)
        twin = MultimodalNet(**(config | overrides))
        for name, value in self.parameters().items():
            target = twin.parameters().get(name)
            if target is None or target.shape != value.shape:
                shape = None if target is None else target.shape
                raise InvalidParameterError(
                    f"copy overrides {sorted(overrides)} must keep every weight's shape: "
                    f"{name!r} is {value.shape} here, {shape} in the copy"
                )
            target[...] = value
        return twin

    def _build(self, rng: np.random.Generator, init: str) -> None:
        kw = dict(rng=rng, init=init, dtype=self.dtype)
        self.layers: dict[str, Dense] = {}
        self.encoder_relus: dict[str, ReLU] = {}
        fused = 0
        for m in self.modalities:
            if self.encoder_units is None:
                fused += self.modality_dims[m]
                continue
            units = self.encoder_units[m]
            self.layers[f"encoder_{m}"] = Dense(
                self.modality_dims[m], units, name=f"encoder_{m}", **kw
            )
            self.encoder_relus[m] = ReLU()
            fused += units
        self.fusion = Concat()
        self.layers["shared"] = Dense(fused, self.shared_units, name="shared", **kw)
        self.shared_relu = ReLU()
        self.head_relus: dict[str, ReLU | None] = {}
        self.loss_fns: dict[str, HalfSquaredError | MeanSquaredError | SoftmaxCrossEntropy] = {}
        for h in self.heads:
            self.layers[f"head_{h}"] = Dense(
                self.shared_units, self.head_dims[h], name=f"head_{h}", **kw
            )
            relu = self.losses[h] != "xent" and self.head_activation == "relu"
            self.head_relus[h] = ReLU() if relu else None
            self.loss_fns[h] = LOSSES[self.losses[h]]()

    def get_config(self) -> dict:
        """Return the constructor arguments (without the seed), e.g. to rebuild the network."""
        return dict(self._config)

    def parameters(self) -> dict[str, np.ndarray]:
        """Return ``{"<layer>/W" | "<layer>/b": array}``; the arrays are live (update in place)."""
        return {f"{n}/{k}": v for n, layer in self.layers.items() for k, v in layer.params.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        """Return the gradients filled by :meth:`backward`, keyed like :meth:`parameters`."""
        self._after_backward(self.head_grads_at_shared)
        return {f"{n}/{k}": v for n, layer in self.layers.items() for k, v in layer.grads.items()}

    def forward(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Return each head's output ``(batch, head_dims[h])`` (logits for ``"xent"`` heads)."""
        self._forget_batch()
        x = check_inputs("inputs", inputs, self.modality_dims, self.dtype)
        encoded = []
        for m in self.modalities:
            if self.encoder_units is None:
                encoded.append(x[m])
            else:
                z = self.layers[f"encoder_{m}"].forward(x[m])
                encoded.append(self.encoder_relus[m].forward(z))
        fused = self.fusion.forward(encoded)
        hidden = self.shared_relu.forward(self.layers["shared"].forward(fused))
        outputs = {}
        for h in self.heads:
            out = self.layers[f"head_{h}"].forward(hidden)
            relu = self.head_relus[h]
            outputs[h] = relu.forward(out) if relu is not None else out
        self._cache = {"outputs": outputs, "batch": fused.shape[0], "losses": False}
        return outputs

    def loss(
        self, inputs: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray]
    ) -> tuple[float, dict[str, float]]:
        """Run forward and return ``(Σ_h loss_weights[h] · L_h, {h: L_h})``; ready for backward."""
        outputs = self.forward(inputs)
        y = self._check_targets(targets, self._cache["batch"])
        per_head = {h: self.loss_fns[h].forward(y[h], outputs[h]) for h in self.heads}
        total = sum(self.loss_weights[h] * per_head[h] for h in self.heads)
        self._cache["losses"] = True
        return float(total), per_head

    def _check_targets(self, targets: object, batch: int) -> dict[str, np.ndarray]:
        """Return ``targets`` per head: labels ``(batch,)`` for ``"xent"``, else ``(batch, k)``."""
        targets = check_mapping("targets", targets, keys=self.heads, what="heads")
        checked = {}
        for h, width in self.head_dims.items():
            name = f"targets[{h!r}]"
            if self.losses[h] == "xent":
                checked[h] = check_labels(name, targets[h], batch, width)
            else:
                y = check_finite(name, check_shape(name, targets[h], (batch, width)))
                checked[h] = y.astype(self.dtype, copy=False)
        return checked

    def backward(self) -> None:
        """Backpropagate the last :meth:`loss`; fill every gradient (see the class Notes)."""
        if self._cache is None or not self._cache["losses"]:
            raise RuntimeError("call loss(inputs, targets) before backward()")
        self.head_grads_at_shared = {}
        for h in self.heads:
            grad = self.loss_weights[h] * self.loss_fns[h].backward()  # dL/dŷ_i = λ_i dL_i/dŷ_i
            relu = self.head_relus[h]
            if relu is not None:
                grad = relu.backward(grad)
            self.head_grads_at_shared[h] = self.layers[f"head_{h}"].backward(grad)
        d_hidden = sum(self.head_grads_at_shared.values())  # dL/dh = Σ_i λ_i dL_i/dh: heads add up
        d_fused = self.layers["shared"].backward(self.shared_relu.backward(d_hidden))
        pieces = self.fusion.backward(d_fused)
        self._fusion_grads = dict(zip(self.modalities, pieces, strict=True))
        self._input_grads = {}
        for m, grad in self._fusion_grads.items():
            if self.encoder_units is not None:
                grad = self.encoder_relus[m].backward(grad)
                grad = self.layers[f"encoder_{m}"].backward(grad)
            self._input_grads[m] = grad

    def _after_backward(self, what: dict) -> dict[str, np.ndarray]:
        if not what:
            raise RuntimeError("call loss(...) and backward() first (again after each forward)")
        return dict(what)

    def input_gradients(self) -> dict[str, np.ndarray]:
        """Return ``{modality: dL/dx_m}``, each ``(batch, modality_dims[m])``."""
        return self._after_backward(self._input_grads)

    def fusion_gradients(self) -> dict[str, np.ndarray]:
        """Return each modality's slice of ``dL/d(concat)``, ``(batch, encoded width)``."""
        return self._after_backward(self._fusion_grads)

    def head_gradients_at_shared(self) -> dict[str, np.ndarray]:
        """Return ``{head i: λ_i dL_i/dh}`` at the shared output ``h``, each ``(batch, shared)``."""
        return self._after_backward(self.head_grads_at_shared)

    def shared_gradient(self) -> np.ndarray:
        """Return ``dL/dh`` at the shared layer's output: the sum of the heads' contributions."""
        return sum(self.head_gradients_at_shared().values())

    def activation_pattern(self) -> dict[str, np.ndarray]:
        """Return which ReLU units were active (``x > 0``) in the last forward pass, per layer.

        A finite-difference step that changes this pattern has crossed a ReLU kink, where the
        loss is not differentiable: the gradient check uses it to refuse such steps.
        """
        relus = {f"encoder_{m}": r for m, r in self.encoder_relus.items()}
        relus["shared"] = self.shared_relu
        relus.update({f"head_{h}": r for h, r in self.head_relus.items() if r is not None})
        if any(r.mask is None for r in relus.values()):
            raise RuntimeError("call forward(...) or loss(...) first")
        return {name: r.mask.copy() for name, r in relus.items()}

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Return the heads' outputs: logits ``(batch, classes)`` for ``"xent"`` heads, as a
        ``tf_nn`` model gives them (a softmax turns them into probabilities), the predictions
        themselves for the others. The same as :meth:`forward`, under the name Keras uses."""
        return self.forward(inputs)


def article_network(
    *, seed: int | np.random.Generator = 0, dtype: np.dtype | str | type = np.float64
) -> MultimodalNet:
    """Build the article's network: ``x1, x2`` (10 each) → concat → 20 ReLU → ``y1, y2`` (10 ReLU).

    Each head has the article's loss ``½‖ŷ − y‖²`` (averaged over the batch); the total is their
    sum. Weights use Glorot-uniform, the default of the article's ``tf.layers.dense``.

    Examples
    --------
    >>> net = article_network(seed=0)
    >>> sorted(net.parameters())
    ['head_y1/W', 'head_y1/b', 'head_y2/W', 'head_y2/b', 'shared/W', 'shared/b']
    >>> net.parameters()["shared/W"].shape
    (20, 20)
    """
    return MultimodalNet(
        {"x1": 10, "x2": 10},
        {"y1": 10, "y2": 10},
        shared_units=20,
        head_activation="relu",
        losses={"y1": "half_squared_error", "y2": "half_squared_error"},
        init="glorot",
        seed=seed,
        dtype=dtype,
    )
