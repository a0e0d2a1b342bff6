"""The engine contract: what the same call means in :mod:`~mmtutorial.numpy_nn` and
:mod:`~mmtutorial.tf_nn`, one row per concern (the API page's symmetry table is made from it).

A reader ports code between the engines by changing the import, as with d2l's one API written
per framework. Each row says how both engines behave today and what it is:

- ``same``: both engines behave alike; ``tests/test_engine_contract.py`` sends the same good
  and bad call to both and asserts the same outcome (a test per row, by its ``key``);
- ``differs``: a deliberate difference, with the reason;
- ``decided``: the engines still differ; the row gives the decision both will follow.

The table below is generated from :data:`ENGINE_CONTRACT` when this module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENGINE_CONTRACT", "STATUSES", "Clause"]

STATUSES = ("same", "differs", "decided")


@dataclass(frozen=True)
class Clause:
    """One row of the engine contract.

    Parameters
    ----------
    key : str
        Short identifier; a ``same`` row is tested by ``test_<key>`` in
        ``tests/test_engine_contract.py``.
    concern : str
        What the row is about, in the book's words.
    numpy_nn, tf_nn : str
        How each engine behaves today (reStructuredText).
    status : str
        One of :data:`STATUSES`.
    note : str
        Why the engines differ (``differs``), or the decision both follow (``decided``).
    """

    key: str
    concern: str
    numpy_nn: str
    tf_nn: str
    status: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")


ENGINE_CONTRACT: tuple[Clause, ...] = (
    Clause(
        "builder",
        "Build a multimodal network",
        "``MultimodalNet(modality_dims, head_dims, *, encoder_units, shared_units, losses, …)``",
        "``build_multimodal_model(modality_dims, head_specs, *, encoder_units, shared_units, …)``",
        "decided",
        "One head form in both, ``{head: units}``: linear outputs (logits for cross-entropy). "
        "Keras' ``(units, activation)`` stays accepted by ``tf_nn`` for readers of the Keras "
        "guides. The losses belong to training in both (``Trainer``), not to the model.",
    ),
    Clause(
        "defaults",
        "Default seed and dtype of the builders",
        "keyword-only ``seed=0`` and ``dtype=float64`` (``article_network(*, seed, dtype)``)",
        "keyword-only ``seed=0`` and ``dtype='float64'`` (``article_model(*, seed, dtype)``); "
        "``make_dataset`` float64 too, and ``train`` casts data to the model's dtype",
        "same",
        "A printed training result must survive one rounding (float32 training is chaotic), so "
        "float32 is passed explicitly where float32 is the lesson.",
    ),
    Clause(
        "training",
        "Train a network",
        "``train(net, data, optimizer, *, steps, batch_size, seed, …)`` on a ``MultimodalData``",
        "``Trainer(model, optimizer, *, losses, …).fit(dataset, epochs)`` and ``train(…)``, "
        "on a ``tf.data.Dataset`` from ``make_dataset``",
        "decided",
        "``Trainer(model, optimizer, *, losses, …).fit(data, epochs=…)`` in both, ``train(…)`` "
        "the one-shot wrapper, ``data`` a ``MultimodalData`` in both (``tf_nn`` also takes a "
        "``tf.data.Dataset``, for readers with their own pipeline). ``numpy_nn.train`` keeps "
        "``steps=`` for chapter 3b's per-step runs.",
    ),
    Clause(
        "history",
        "What a run records: ``History``",
        "one entry per step (``unit='step'``); ``eval_loss`` with ``eval_data``; "
        "``grad_norms`` empty without encoders",
        "one entry per epoch (``unit='epoch'``); per-head ``metrics``; "
        "``grad_norms['input_<m>']`` without encoders",
        "decided",
        "One schema: ``loss``, ``head_losses``, ``grad_norms``, ``metrics``, ``eval_loss`` "
        "(through ``History.append``) in both; ``fit`` records epochs, ``numpy_nn.train(steps=…)`` "
        "steps, and ``History.unit`` says which.",
    ),
    Clause(
        "grad_norms",
        "Which gradient norms are recorded",
        "``grad_norms[m]``: the raw norm over encoder ``m``'s weights",
        "the same, or ``input_<m>`` (at the input) for a modality without an encoder",
        "decided",
        "Opt-in, with three keys per modality: ``m`` (raw, over the encoder's weights), "
        "``per_parameter_<m>`` (divided by the square root of their number) and ``output_<m>`` "
        "(at the encoder's output, where every modality has the same width). A raw norm grows "
        "with the input's width, so only the last two compare modalities.",
    ),
    Clause(
        "loss_order",
        "Argument order of the losses",
        "``loss.forward(y_pred, y_true)``",
        "``loss(y_true, y_pred)``, as Keras",
        "decided",
        "Keras' ``(y_true, y_pred)`` in both.",
    ),
    Clause(
        "loss_names",
        "Losses by name",
        "``'half_squared_error'``, ``'mse'``, ``'xent'``",
        "the same three names (and any Keras loss)",
        "same",
    ),
    Clause(
        "predict",
        "What a prediction is",
        "``predict()`` gives probabilities for cross-entropy heads",
        "the model gives logits",
        "decided",
        "Logits in both (what the head computes); probabilities are a softmax the caller "
        "applies, as Keras does with ``from_logits=True``.",
    ),
    Clause(
        "modality_width",
        "A modality of the wrong width",
        "refused, naming the modality and both widths",
        "refused, naming the modality and both shapes",
        "same",
    ),
    Clause(
        "target_width",
        "A target of the wrong width",
        "refused, naming the head",
        "refused, naming the head (a ``(batch, 1)`` target no longer broadcasts)",
        "same",
    ),
    Clause(
        "non_finite_data",
        "NaN or infinity in the data",
        "refused at the first batch, naming the modality",
        "refused by ``make_dataset``, naming the modality",
        "same",
    ),
    Clause(
        "empty_data",
        "Data with no sample",
        "refused",
        "refused",
        "same",
    ),
    Clause(
        "batch_size",
        "``batch_size`` larger than the data",
        "refused",
        "refused by ``make_dataset`` (it used to give one full batch)",
        "same",
    ),
    Clause(
        "shuffle",
        "Batch order",
        "shuffled every epoch by default, from ``seed``",
        "in order unless ``make_dataset(shuffle_seed=…)``",
        "decided",
        "Shuffled by default in both, from the batch-order stream of the training seed.",
    ),
    Clause(
        "non_finite_loss",
        "A loss that becomes NaN or infinite",
        "``FloatingPointError`` before the update",
        "``FloatingPointError`` after the epoch's updates",
        "decided",
        "Refused before the update in both.",
    ),
    Clause(
        "optimizer_reuse",
        "An optimizer reused on another network",
        "refused: its moments belong to the first network",
        "refused (Keras keeps the variables it was built for)",
        "same",
    ),
    Clause(
        "masks",
        "Absent modalities (``MultimodalData.mask``)",
        "ignored",
        "dropped by ``make_dataset``; honoured only by ``model(x, mask=…)``",
        "decided",
        "Honoured end to end (``standardize`` over present rows only, absent rows kept at 0, "
        "the mask fed to the model in training and evaluation), or refused by name by an "
        "engine that cannot; never ignored.",
    ),
    Clause(
        "seeds",
        "What one seed drives",
        "one ``default_rng(seed)`` stream for data, split, weights and batch order",
        "weights seeded per layer; batch order from ``shuffle_seed``",
        "decided",
        "Separate streams for data, split, initial weights, batch order and training noise, "
        "from one seed through distinct ``SeedSequence`` spawn keys: equal seeds never make "
        "the weights an image of the data.",
    ),
    Clause(
        "retrace",
        "Changing a hyperparameter between runs",
        "nothing is compiled: any change is free",
        "a new ``Trainer`` traces a new loop (1–5 s)",
        "decided",
        "The learning rate, the loss weights, the modality-dropout probability and OGM-GE's "
        "α are variables of the compiled step, so one compiled loop serves several "
        "configurations; only a change of shapes or of the model traces again.",
    ),
    Clause(
        "one_engine_options",
        "An option only one engine has",
        "``eval_data``",
        "``metrics``, ``modality_dropout``, ``ogm_ge``, ``loss_weighting``, ``strategy``, "
        "``jit_compile``, ``checkpoint_dir``",
        "decided",
        "Accepted by both signatures and refused by name by the engine that lacks it, never "
        "ignored.",
    ),
)


def _table(clauses: tuple[Clause, ...]) -> str:
    """The reStructuredText list-table of ``clauses`` (the API page's symmetry table)."""
    lines = [
        ".. list-table:: The engine contract",
        "   :header-rows: 1",
        "   :widths: 18 25 25 32",
        "",
        "   * - case",
        "     - ``numpy_nn``",
        "     - ``tf_nn``",
        "     - status",
    ]
    status = {"same": "**same** (tested)", "differs": "**differs**: ", "decided": "**decided**: "}
    for clause in clauses:
        lines += [
            f"   * - {clause.concern}",
            f"     - {clause.numpy_nn}",
            f"     - {clause.tf_nn}",
            f"     - {status[clause.status]}{clause.note}",
        ]
    return "\n".join(lines) + "\n"


__doc__ = f"{__doc__}\n{_table(ENGINE_CONTRACT)}"
