"""The engine contract: what the same call means in :mod:`~mmtutorial.numpy_nn` and
:mod:`~mmtutorial.tf_nn`, one row per concern (the API page's symmetry table is made from it).

A reader ports code between the engines by changing the import, as with d2l's one API written
per framework. Each row says how both engines behave today and what it is:

- ``same``: both engines behave alike; ``tests/test_engine_contract.py`` sends the same good
  and bad call to both and asserts the same outcome (a test per row, by its ``key``);
- ``differs``: a deliberate difference, with the reason.

The table below is generated from :data:`ENGINE_CONTRACT` when this module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENGINE_CONTRACT", "STATUSES", "Clause"]

STATUSES = ("same", "differs")


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
        Why the engines differ (``differs``), or a remark (``same``).
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
        "differs",
        "One head form in both, ``{head: units}``: linear outputs (logits for cross-entropy); "
        "``tf_nn`` also takes Keras' ``(units, activation)``, for readers of the Keras guides. "
        "``MultimodalNet``'s regression heads default to the article's ReLU "
        "(``head_activation='relu'``, as chapter 3a derives it); pass ``None`` for linear ones. "
        "The NumPy network owns its losses, because chapter 3's backward pass starts at them; "
        "both ``Trainer`` s take ``losses=`` (``numpy_nn``'s must be the network's).",
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
        "``Trainer(net, optimizer, …).fit(data, *, epochs, batch_size, eval_data, …)``, and "
        "``train(…)`` in one call; ``steps=`` too, for chapter 3b's per-step runs",
        "the same, ``data`` a ``MultimodalData`` or, for readers with their own pipeline, a "
        "``tf.data.Dataset``",
        "same",
    ),
    Clause(
        "history",
        "What a run records: ``History``",
        "``loss``, ``head_losses``, ``grad_norms``, ``eval_loss`` through ``History.append``, "
        "one entry per epoch (``epochs=``) or per step (``steps=``), as ``History.unit`` says",
        "the same schema, one entry per epoch; and per-head ``metrics``",
        "same",
        "The same progress line, ``mmtutorial.history.progress_line``, in both.",
    ),
    Clause(
        "grad_norms",
        "Which gradient norms are recorded",
        "with ``grad_norms=True``: ``m`` (over encoder ``m``'s weights), ``per_parameter_<m>`` "
        "(divided by the square root of their number), ``output_<m>`` (at the encoder's "
        "output; at the input without an encoder)",
        "the same keys and values",
        "same",
        "A raw norm grows with the input's width, so only the last two compare modalities.",
    ),
    Clause(
        "loss_order",
        "Argument order of the losses",
        "``loss.forward(y_true, y_pred)``",
        "``loss(y_true, y_pred)``, as Keras",
        "same",
        "Keras' order in both.",
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
        "``predict()`` gives logits for cross-entropy heads",
        "the model gives logits",
        "same",
        "Probabilities are a softmax the caller applies, as with Keras' ``from_logits=True``.",
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
        "shuffled every epoch by default, from the batch-order stream of ``train(seed=0)``",
        "shuffled every epoch by default, from the batch-order stream of "
        "``make_dataset(shuffle_seed=0)``; ``shuffle_seed=None`` keeps the order",
        "same",
    ),
    Clause(
        "non_finite_loss",
        "A loss that becomes NaN or infinite",
        "``FloatingPointError`` before the update",
        "``FloatingPointError`` before the update (the step skips it; no step follows)",
        "same",
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
        "refused by ``train``, naming the modality (the network has no masking fusion)",
        "honoured by ``train``: ``make_dataset`` carries the mask and the fusion layer skips "
        "absent modalities (refused with ``ogm_ge``, ``strategy`` and ``train_contrastive``)",
        "differs",
        "Never ignored: honoured or refused by name. ``standardize`` measures over present rows "
        "only and keeps absent rows at 0, in both.",
    ),
    Clause(
        "seeds",
        "What one seed drives",
        "separate streams (:mod:`mmtutorial.seeds`) for data, split, initial weights and "
        "batch order",
        "the same streams, and one for training noise (modality dropout, OGM-GE)",
        "same",
        "From one seed through distinct ``SeedSequence`` spawn keys: equal seeds never make "
        "the weights an image of the data.",
    ),
    Clause(
        "retrace",
        "Changing a hyperparameter between runs",
        "nothing is compiled: any change is free",
        "``Trainer.configure(learning_rate=, loss_weights=, modality_dropout=, ogm_alpha=)`` "
        "changes variables of the compiled step, without a new trace",
        "differs",
        "NumPy has nothing to compile. In ``tf_nn`` only a change of shapes or of the model "
        "traces again (1–5 s).",
    ),
    Clause(
        "one_engine_options",
        "An option only one engine has",
        "``early_stopping`` and ``steps``; refuses ``metrics``, ``jit_compile``, "
        "``modality_dropout``, ``ogm_ge``, ``loss_weighting``, ``strategy``, ``encoders``, "
        "``checkpoint_dir`` by name",
        "those, and refuses ``steps`` and ``early_stopping`` by name",
        "same",
        "Accepted by both signatures, refused by name by the engine that lacks it, never ignored.",
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
    status = {"same": "**same** (tested)", "differs": "**differs**"}
    for clause in clauses:
        lines += [
            f"   * - {clause.concern}",
            f"     - {clause.numpy_nn}",
            f"     - {clause.tf_nn}",
            f"     - {status[clause.status]}" + (f": {clause.note}" if clause.note else ""),
        ]
    return "\n".join(lines) + "\n"


__doc__ = f"{__doc__}\n{_table(ENGINE_CONTRACT)}"
