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
        "One head form in both, ``{head: units}``: linear outputs (logits for cross-entropy); "
        "``tf_nn`` takes it (and Keras' ``(units, activation)``, for readers of the Keras "
        "guides). Still to come: the losses belong to training in both (``Trainer``), not to "
        "the model.",
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
    status = {"same": "**same** (tested)", "differs": "**differs**", "decided": "**decided**"}
    for clause in clauses:
        lines += [
            f"   * - {clause.concern}",
            f"     - {clause.numpy_nn}",
            f"     - {clause.tf_nn}",
            f"     - {status[clause.status]}" + (f": {clause.note}" if clause.note else ""),
        ]
    return "\n".join(lines) + "\n"


__doc__ = f"{__doc__}\n{_table(ENGINE_CONTRACT)}"
