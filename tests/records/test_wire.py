"""``format_f32_many`` gives exactly ``format_f32``'s text (serde_json 1.0.150's f32 layout), for whole vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from behest_lab.records import EmbeddingRecord
from behest_lab.records._wire import format_f32, format_f32_many


def _finite(bits: np.ndarray) -> np.ndarray:
    values = bits.astype(np.uint32).view(np.float32)
    return values[np.isfinite(values)]


def _first_mismatch(values: np.ndarray) -> tuple[float, str, str] | None:
    got = format_f32_many(values)
    assert len(got) == len(values)
    for value, text in zip(values.tolist(), got, strict=True):
        want = format_f32(value)
        if text != want:
            return value, text, want
    return None


def test_matches_format_f32_on_random_bit_patterns() -> None:
    # uniform over bit patterns: every exponent (subnormals included) and both signs, equally often
    bits = np.random.default_rng(20260126).integers(0, 2**32, 250_000, dtype=np.uint64)
    values = _finite(bits)
    assert len(values) > 240_000
    assert _first_mismatch(values) is None


def test_matches_format_f32_around_every_power_of_ten_and_layout_threshold() -> None:
    with np.errstate(over="ignore", under="ignore"):
        centres = np.array([10.0**e for e in range(-45, 39)] + [2.0**e for e in range(-149, 128)], dtype=np.float32)
    centres = centres[np.isfinite(centres) & (centres > 0)]
    around = [centres]
    for _ in range(3):  # three float32 steps either way
        around.append(np.nextafter(around[-1], np.float32(np.inf)))
    down = [centres]
    for _ in range(3):
        down.append(np.nextafter(down[-1], np.float32(0)))
    values = np.concatenate([*around, *down])
    extremes = np.array([0.0, np.finfo(np.float32).max, np.finfo(np.float32).smallest_subnormal], np.float32)
    values = np.concatenate([values, extremes])
    values = np.concatenate([values, -values])
    assert _first_mismatch(values) is None


def _reference_layout(value: float) -> str:
    """serde_json 1.0.150's f32 layout from its rules (positional for first-digit exponents -6..12, else
    scientific with a signed exponent), the shortest digits found by trying 1..9 significant digits."""
    f = np.float32(value)
    if f == 0:
        return "-0.0" if np.signbit(f) else "0.0"
    for precision in range(1, 10):
        sci = f"{abs(float(f)):.{precision - 1}e}"
        if np.float32(float(sci)) == abs(f):
            break
    mantissa, exp = sci.split("e")
    digits = mantissa.replace(".", "").rstrip("0")
    kk = int(exp) + 1  # position of the decimal point after the first digit
    sign = "-" if f < 0 else ""
    if 0 < kk <= 13:
        whole, frac = (digits + "0" * kk)[:kk], digits[kk:]
        return f"{sign}{whole}.{frac or '0'}"
    if -6 < kk <= 0:
        return f"{sign}0.{'0' * -kk}{digits}"
    rest = f".{digits[1:]}" if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{rest}e{'+' if kk >= 1 else '-'}{abs(kk - 1)}"


@pytest.mark.parametrize(
    "value",
    [0.1, 1e-7, 1e-6, 0.000001234, 3e10, 1e13, 9999999e6, 1e14, -0.0, 0.0, 1.5e-7, 123456789012345.0, -2.5, 1e7],
)
def test_layout_follows_the_rules(value: float) -> None:
    want = _reference_layout(value)
    assert format_f32_many([value]) == [want]
    assert format_f32(value) == want


def test_layout_examples_have_serde_json_shapes() -> None:
    texts = format_f32_many([0.1, 1e-7, 1e-6, 3e10, 1e14, -0.0, 1.5e-7])
    assert texts[:3] == ["0.1", "1e-7", "0.000001"]
    assert texts[3].endswith(".0")
    assert "e" not in texts[3]
    assert texts[4] == "1e+14"
    assert texts[5:] == ["-0.0", "1.5e-7"]


@pytest.mark.parametrize("legacy", ["1.13", "1.25"])
def test_numpy_print_options_do_not_change_the_text(legacy: str) -> None:
    values = np.array([1 / 3, 1e14, 3e10, 1e-7, 123456789012345.0, -2.5e-5], np.float32)
    with np.printoptions(legacy=legacy, precision=3):
        got = format_f32_many(values)
    assert got == [format_f32(v) for v in values.tolist()]


def test_accepts_lists_arrays_and_empty_input() -> None:
    values = [0.5, -1.25, 3.0]
    assert format_f32_many(values) == format_f32_many(np.array(values, np.float64)) == ["0.5", "-1.25", "3.0"]
    assert format_f32_many([]) == []
    assert format_f32_many(np.array([7], np.int64)) == ["7.0"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1e39])
def test_non_finite_float32_is_refused_naming_the_index(bad: float) -> None:
    with pytest.raises(ValueError, match="value 2 "):
        format_f32_many([1.0, 2.0, bad])


def test_embedding_json_uses_the_f32_layout() -> None:
    vector = [0.1, 1e-7, 3e10, 1e14, -0.0, 0.3333333432674408]
    record = EmbeddingRecord(model="m", vector=vector)
    text = record.model_dump_json()
    start = text.index('"vector":') + len('"vector":')
    assert text[start : text.index("]", start) + 1] == "[" + ",".join(format_f32(v) for v in vector) + "]"
    assert [np.float32(x) for x in json.loads(text)["vector"]] == [np.float32(v) for v in vector]
