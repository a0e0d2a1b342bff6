"""Tests of early stopping in mmtutorial.numpy_nn.train (EarlyStopping: patience, monitor,
min_delta, restore_best_weights) and of its bad-input errors (chapter 6)."""

import numpy as np
import pytest

from mmtutorial._checks import InvalidParameterError
from mmtutorial.data import article_data
from mmtutorial.numpy_nn import SGD, Adam, EarlyStopping, article_network, train


def _memorising_run(**rule):
    """Adam on the article's random data: the held-out loss has a minimum, then rises."""
    net = article_network(seed=0)
    history = train(
        net,
        article_data(seed=0),
        Adam(0.01),
        steps=1000,
        eval_data=article_data(seed=1),
        early_stopping=EarlyStopping(**rule),
    )
    return net, history


def test_stops_patience_steps_after_the_best_held_out_loss():
    _, history = _memorising_run(patience=30)
    best_step = int(np.argmin(history.eval_loss)) + 1
    assert len(history) == best_step + 30 < 1000
    assert len(history.loss) == len(history.eval_loss) == len(history.head_losses["y1"])
    assert min(history.eval_loss[best_step:]) >= history.eval_loss[best_step - 1]


def test_the_stopped_run_equals_the_full_run_up_to_its_stop():
    _, stopped = _memorising_run(patience=30)
    full = train(
        article_network(seed=0),
        article_data(seed=0),
        Adam(0.01),
        steps=len(stopped),
        eval_data=article_data(seed=1),
    )
    assert stopped.loss == full.loss and stopped.eval_loss == full.eval_loss


def test_restore_best_weights_gives_the_best_held_out_loss():
    fresh = article_data(seed=1)
    restored, history = _memorising_run(patience=30)
    kept, _ = _memorising_run(patience=30, restore_best_weights=False)
    best = min(history.eval_loss)
    assert restored.loss(fresh.inputs, fresh.targets)[0] == best
    assert kept.loss(fresh.inputs, fresh.targets)[0] == history.eval_loss[-1] > best


def test_min_delta_stops_earlier():
    _, plain = _memorising_run(patience=30)
    _, coarse = _memorising_run(patience=30, min_delta=0.05)
    assert len(coarse) < len(plain)


def test_monitoring_the_training_loss_needs_no_eval_data():
    history = train(
        article_network(seed=0),
        article_data(seed=0),
        SGD(0.01),
        steps=200,
        early_stopping=EarlyStopping(patience=5, monitor="loss"),
    )
    assert len(history) == 200  # full-batch SGD at a small rate lowers the loss every step
    assert history.eval_loss == []


def test_a_patient_rule_runs_every_step_and_logs_no_stop(capsys):
    history = train(
        article_network(seed=0),
        article_data(seed=0),
        SGD(0.01),
        steps=20,
        eval_data=article_data(seed=1),
        early_stopping=EarlyStopping(patience=50),
        log_every=10,
    )
    assert len(history) == 20
    assert "early stop" not in capsys.readouterr().out


def test_the_log_names_the_stop_and_the_best_step(capsys):
    _, history = _memorising_run(patience=10)
    train(
        article_network(seed=0),
        article_data(seed=0),
        Adam(0.01),
        steps=1000,
        eval_data=article_data(seed=1),
        early_stopping=EarlyStopping(patience=10),
        log_every=1000,
    )
    lines = capsys.readouterr().out.splitlines()
    best = int(np.argmin(history.eval_loss)) + 1
    assert lines[0].startswith(f"step {len(history):4d}/1000")
    assert lines[1].startswith(f"early stop at step {len(history)}: best eval_loss")
    assert lines[1].endswith(f"at step {best}, its weights restored")


@pytest.mark.parametrize("patience", [0, -3, 2.5, None, True])
def test_patience_below_one_or_not_an_int_is_refused(patience):
    with pytest.raises(InvalidParameterError, match="patience must be an int >= 1, got"):
        EarlyStopping(patience=patience)


def test_monitoring_a_quantity_the_loop_does_not_record_is_refused():
    with pytest.raises(InvalidParameterError, match=r"monitor must be one of \('eval_loss', "):
        EarlyStopping(patience=5, monitor="val_accuracy")


def test_monitoring_eval_loss_without_eval_data_is_refused():
    net = article_network(seed=0)
    before = net.parameters()["shared/W"].copy()
    with pytest.raises(InvalidParameterError, match="records only with eval_data"):
        train(net, article_data(seed=0), SGD(0.01), steps=5, early_stopping=EarlyStopping(3))
    assert np.array_equal(net.parameters()["shared/W"], before)  # refused before any step


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        ({"min_delta": -0.1}, "min_delta must be a finite number >= 0"),
        ({"restore_best_weights": 1}, "restore_best_weights must be a bool"),
    ],
)
def test_other_bad_rules_are_refused(rule, match):
    with pytest.raises(InvalidParameterError, match=match):
        EarlyStopping(patience=5, **rule)


def test_early_stopping_must_be_an_early_stopping():
    with pytest.raises(InvalidParameterError, match="early_stopping must be None or an"):
        train(
            article_network(seed=0),
            article_data(seed=0),
            SGD(0.01),
            steps=5,
            eval_data=article_data(seed=1),
            early_stopping=10,
        )
