"""Tests of mmtutorial._checks (one exception, messages naming the argument, expected and
received) and of mmtutorial.history.History, the record both engines' train functions return."""

import numpy as np
import pytest

from mmtutorial import _checks as checks
from mmtutorial._checks import InvalidParameterError
from mmtutorial.history import History


def test_invalid_parameter_error_is_both_a_value_and_a_type_error():
    with pytest.raises(ValueError):
        checks.check_int("n", "3")
    with pytest.raises(TypeError):
        checks.check_int("n", "3")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: checks.check_int("n", True), "n must be an int, got True"),
        (lambda: checks.check_int("n", 1.0), "n must be an int, got 1.0"),
        (lambda: checks.check_int("n", 0, low=1), "n must be an int >= 1, got 0"),
        (lambda: checks.check_int("n", 5, high=4), "n must be an int <= 4, got 5"),
        (lambda: checks.check_int("n", 5, low=1, high=4), "n must be an int >= 1 and <= 4, got 5"),
        (lambda: checks.check_number("x", "1"), "x must be a finite number, got '1'"),
        (lambda: checks.check_number("x", np.bool_(True)), "x must be a finite number, got np.Tr"),
        (lambda: checks.check_number("x", np.inf), "x must be a finite number, got inf"),
        (lambda: checks.check_number("x", -1, low=0), "x must be a finite number >= 0, got -1"),
        (lambda: checks.check_number("x", 0, low=0, low_open=True), "x must be .* > 0, got 0"),
        (lambda: checks.check_number("x", 1.5, high=1), "x must be .* <= 1, got 1.5"),
        (lambda: checks.check_number("x", 1, high=1, high_open=True), "x must be .* < 1, got 1"),
        (lambda: checks.check_seed(-1), "seed must be an int >= 0, got -1"),
        (lambda: checks.check_seed(None), "seed must be an int >= 0, got None"),
        (lambda: checks.check_seed("1", "split_seed"), "split_seed must be an int >= 0, got '1'"),
        (lambda: checks.check_rng("rng", 0.5), "rng must be an int >= 0 or a numpy.random.Gen"),
        (lambda: checks.check_rng("rng", -2), "rng must be an int >= 0 or a numpy.random.Gen"),
        (lambda: checks.check_dtype("dtype", "float16"), "dtype must be float32 or float64"),
        (lambda: checks.check_dtype("dtype", "nonsense"), "got 'nonsense'"),
        (lambda: checks.check_dtype("dtype", None), "got None"),
        (lambda: checks.check_choice("mode", "max", ("sum", "mean")), r"\('sum', 'mean'\)"),
        (lambda: checks.check_choice("mode", ["sum"], ("sum",)), r"got \['sum'\]"),
        (lambda: checks.check_bool("flag", 1), "flag must be a bool, got 1"),
        (lambda: checks.check_instance("x", 1, str, "a str"), "x must be a str, got 1"),
        (lambda: checks.check_mapping("d", [1]), r"d must be a non-empty dict, got \[1\]"),
        (lambda: checks.check_mapping("d", 3, allow_empty=True), "d must be a dict, got 3"),
        (lambda: checks.check_dims("dims", {1: 2}), "dims keys must be str, got 1"),
        (lambda: checks.check_dims("dims", {"a": 0}), r"dims\['a'\] must be an int >= 1, got 0"),
        (lambda: checks.check_finite("g", np.array(["a"])), "g must be numeric, got dtype <U1"),
        (lambda: checks.check_finite("g", [np.inf, 1, np.nan]), "2 NaN or inf value.s. of 3"),
        (lambda: checks.check_shape("dy", np.zeros(3), (None, 3)), r"\(n, 3\), got \(3,\)"),
        (lambda: checks.check_shape("b", np.zeros((2, 1)), (2,)), r"b must have shape \(2,\)"),
        (lambda: checks.check_labels("y", [0.0], 1, 2), "y must be integer labels, got dtype"),
        (lambda: checks.check_labels("y", [0, 1], 3, 2), r"y must have shape \(3,\)"),
        (lambda: checks.check_labels("y", [-1], 1, 2), r"y must lie in \[0, 1\] .* \[-1, -1\]"),
    ],
)
def test_every_check_names_the_argument_the_expected_and_the_received(call, message):
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_checks_return_plain_python_values():
    assert type(checks.check_int("n", np.int16(4), low=4, high=4)) is int
    assert checks.check_number("x", np.float32(0.5), low=0, high=1) == 0.5
    assert checks.check_number("x", 0, low=0) == 0.0 and checks.check_number("x", 1, high=1) == 1
    assert checks.check_seed(np.uint8(0)) == 0 and checks.check_seed(None, allow_none=True) is None
    rng = np.random.default_rng(0)
    assert checks.check_rng("rng", rng) is rng
    assert checks.check_dtype("dtype", np.float32) == np.dtype("float32")
    assert checks.check_dtype("dtype", "float64") == np.dtype("float64")
    assert checks.check_bool("flag", np.bool_(False)) is False
    assert checks.check_mapping("d", {}, allow_empty=True) == {}
    np.testing.assert_array_equal(checks.check_labels("y", [1, 0], 2, 2), [1, 0])
    assert checks.check_shape("x", [[1, 2]], (1, None)).shape == (1, 2)


def test_check_keys_names_unknown_and_missing():
    message = r"d must name the heads \['a', 'b'\]: unknown \['z'\], missing \['b'\]"
    with pytest.raises(InvalidParameterError, match=message):
        checks.check_keys("d", {"a": 1, "z": 2}, ["a", "b"], what="heads", exact=True)
    checks.check_keys("d", {"a": 1}, ["a", "b"], what="heads", exact=False)


def test_long_values_are_shortened_in_messages():
    with pytest.raises(InvalidParameterError) as raised:
        checks.check_int("n", "x" * 200)
    assert len(str(raised.value)) < 100 and "..." in str(raised.value)


def test_check_inputs_checks_every_modality():
    dims, f64 = {"a": 2, "b": 1}, np.dtype("float64")
    good = {"a": np.zeros((3, 2), dtype=np.float32), "b": np.zeros((3, 1), dtype=int)}
    out = checks.check_inputs("inputs", good, dims, f64)
    assert all(x.dtype == f64 for x in out.values()) and list(out) == ["a", "b"]
    cases = [
        ({**good, "a": np.zeros(2)}, r"inputs\['a'\] must have shape \(batch, features\)"),
        ({**good, "b": np.zeros((3, 2))}, r"^inputs\['b'\] has 2 features, the model expects 1$"),
        ({**good, "b": np.zeros((2, 1))}, "modality 'b' has 2 samples, modality 'a' has 3"),
        ({"a": np.zeros((0, 2)), "b": np.zeros((0, 1))}, "must hold at least one sample"),
        ({**good, "a": np.full((3, 2), np.nan)}, r"inputs\['a'\] must be finite"),
        ({"a": good["a"]}, r"missing \['b'\]"),
    ]
    for inputs, message in cases:
        with pytest.raises(InvalidParameterError, match=message):
            checks.check_inputs("inputs", inputs, dims, f64)


# --- History ----------------------------------------------------------------------------------


def test_history_appends_nested_records():
    history = History()
    history.append({"loss": np.float32(3.0), "head_losses": {"y": 2.0}, "metrics": {"acc": 0.5}})
    history.append({"loss": 1.0, "head_losses": {"y": 1.0, "z": 0.0}, "grad_norms": {"a": 4}})
    assert history.unit == "step" and len(history) == 2
    assert history.loss == [3.0, 1.0] and type(history.loss[0]) is float
    assert history.head_losses == {"y": [2.0, 1.0], "z": [0.0]}
    assert history.metrics == {"acc": [0.5]} and history.grad_norms == {"a": [4.0]}
    assert history.eval_loss == []


def test_history_extend_adds_the_entries_append_would():
    records = [
        {"loss": 3.0, "head_losses": {"y": 2.0}, "metrics": {"acc": 0.5}, "eval_loss": 4.0},
        {"loss": np.float32(1.0), "head_losses": {"y": 1.0}, "metrics": {"acc": 1}, "eval_loss": 2},
    ]
    one_by_one, at_once = History(unit="epoch"), History(unit="epoch")
    for record in records:
        one_by_one.append(record)
    at_once.extend(
        {
            "loss": [r["loss"] for r in records],
            "head_losses": {"y": [r["head_losses"]["y"] for r in records]},
            "metrics": {"acc": [r["metrics"]["acc"] for r in records]},
            "eval_loss": [r["eval_loss"] for r in records],
        }
    )
    assert at_once == one_by_one and type(at_once.loss[1]) is float


def test_history_truncate_keeps_the_first_entries_of_every_list():
    history = History(unit="epoch")
    for i in range(4):
        history.append(
            {"loss": i, "head_losses": {"y": i}, "grad_norms": {"a": i}, "metrics": {"m": i}}
        )
        history.eval_loss.append(10 + i)
    history.truncate(2)
    assert len(history) == 2
    assert history.loss == history.head_losses["y"] == history.grad_norms["a"] == [0.0, 1.0]
    assert history.metrics["m"] == [0.0, 1.0] and history.eval_loss == [10, 11]
    history.truncate(5)
    assert len(history) == 2
    history.truncate(0)
    assert len(history) == 0 and history.metrics == {"m": []}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: h.append({"head_losses": {}}), r"record must hold 'loss', got keys"),
        (lambda h: h.append({"loss": 1, "head_loss": {}}), r"unknown \['head_loss'\]"),
        (lambda h: h.append({"loss": 1, "metrics": 2}), r"record\['metrics'\] must be a dict"),
        (lambda h: h.append([1.0]), "record must be a non-empty dict"),
        (lambda h: h.truncate(-1), "n must be an int >= 0, got -1"),
        (lambda h: h.extend({"eval_loss": [1.0]}), r"columns must hold 'loss', got keys"),
        (
            lambda h: h.extend({"loss": [1.0, 2.0], "head_losses": {"y": [1.0]}}),
            r"columns\[head_losses\['y'\]\] must have one value per entry \(2\), got 1",
        ),
        (
            lambda h: h.extend({"loss": [1.0], "eval_loss": []}),
            r"columns\[eval_loss\] must have one value per entry \(1\), got 0",
        ),
    ],
)
def test_history_refuses_malformed_records(call, message):
    history = History()
    with pytest.raises(InvalidParameterError, match=message):
        call(history)
    assert len(history) == 0


def test_history_unit_is_step_or_epoch():
    with pytest.raises(InvalidParameterError, match=r"unit must be one of \('step', 'epoch'\)"):
        History(unit="batch")
