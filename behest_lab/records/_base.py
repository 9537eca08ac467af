"""The base model and the annotated field types that give records behest's wire format."""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Final, Self

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from behest_lab.records._checks import check_json, check_text
from behest_lab.records._wire import format_f32, format_f32_many, format_timestamp, parse_timestamp
from behest_lab.records.duration import from_milliseconds, milliseconds_of
from behest_lab.records.instant import Instant

U64_MAX = 2**64 - 1

# --- field types ---------------------------------------------------------------------------------------------

#: Unsigned 64-bit counter (behest's ``u64``): an integer, never a float, bool or string.
U64 = Annotated[int, Field(strict=True, ge=0, le=U64_MAX)]


#: Validation context for values a behest_lab store reads back (``Model.model_validate(values, context=STORED)``).
#: They passed every rule of these types when they were written, so the walks that only re-prove what writing
#: proved (free-form JSON and text against what serde_json accepts, ``_checks``) are skipped; types, shapes and
#: cross-field rules are still validated, so a damaged stored value still fails by name.
STORED: Final = MappingProxyType({"stored": True})


def _is_stored(info: ValidationInfo) -> bool:
    context = info.context
    return context is not None and context.get("stored") is True


def _timestamp(value: Any) -> Instant:
    # chrono's serde reads only RFC 3339 strings; a number (Unix seconds to pydantic) is refused
    if type(value) is Instant and value.tzinfo is UTC:
        return value  # already what this type makes (stores read timestamps back this way)
    if isinstance(value, str):
        return parse_timestamp(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamp must be timezone-aware (a naive datetime has no offset)")
        return Instant.from_datetime(value).astimezone(UTC)
    raise ValueError(f"expected an RFC 3339 timestamp string with an offset or an aware datetime, got {value!r}")


#: Aware UTC timestamp with nanoseconds (an ``Instant``, a ``datetime`` subclass); naive datetimes are refused;
#: JSON is serde's RFC 3339 with ``Z`` and 0, 3, 6 or 9 fraction digits.
Timestamp = Annotated[
    datetime,
    PlainValidator(_timestamp),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _duration(value: Any) -> timedelta:
    if isinstance(value, bool):
        raise ValueError("duration must be a timedelta or whole milliseconds, not a bool")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("duration must not be negative")
        if value > U64_MAX:
            raise ValueError(f"duration of {value} ms is beyond u64 milliseconds")
        return from_milliseconds(value)  # a LongDuration above what a timedelta holds
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ValueError("duration must not be negative")
        return value
    raise ValueError(f"duration must be a timedelta or an unsigned integer of milliseconds, got {value!r}")


def duration_ms(value: timedelta) -> int:
    """Whole milliseconds, truncated (Rust's ``Duration::as_millis``); exact for a ``LongDuration``."""
    return milliseconds_of(value)


#: ``std::time::Duration``: a ``timedelta`` in Python (a ``LongDuration`` beyond ``timedelta``'s range), whole
#: milliseconds (an unsigned integer) in JSON.
DurationMs = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(duration_ms, return_type=int, when_used="json"),
    WithJsonSchema({"type": "integer", "minimum": 0}),
]


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"not standard padded base64: {exc}") from None
        if base64.b64encode(raw).decode("ascii") != value:
            raise ValueError("not canonical standard base64 (padding or trailing bits)")
        return raw
    raise ValueError(f"expected bytes or a base64 string, got {type(value).__name__}")


#: ``Vec<u8>``: ``bytes`` in Python, standard padded base64 in JSON (canonical form required on input).
Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_bytes),
    PlainSerializer(lambda v: base64.b64encode(v).decode("ascii"), return_type=str, when_used="json"),
]


def _vector(value: Any) -> list[float]:
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(f"vector must be one-dimensional, got shape {value.shape}")
        with np.errstate(over="ignore"):  # overflow becomes inf, reported below as a field error, not a warning
            arr = value.astype(np.float32)
    elif isinstance(value, list | tuple):
        for i, x in enumerate(value):
            if isinstance(x, bool) or not isinstance(x, int | float | np.floating | np.integer):
                raise ValueError(f"component {i} is not a number: {x!r}")
        with np.errstate(over="ignore"):  # same: overflow is reported below, naming the component
            arr = np.asarray(value, dtype=np.float32)
    else:
        raise ValueError(f"vector must be a list of numbers, got {type(value).__name__}")
    if arr.size == 0:
        raise ValueError("vector must not be empty")
    finite = np.isfinite(arr)
    if not finite.all():
        i = int(np.argmin(finite))
        raise ValueError(f"component {i} is {value[i]!r}, not a finite float32")
    return arr.tolist()  # type: ignore[no-any-return]


def _f32(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"expected a number, got {value!r}")
    with np.errstate(over="ignore"):  # overflow is reported just below as a field error, not a warning
        f = float(np.float32(value))
    if not math.isfinite(f) and math.isfinite(float(value)):
        raise ValueError(f"{value!r} overflows float32")
    return f


#: ``Vec<f32>``: components rounded to float32, finite, non-empty.
Vector = Annotated[list[float], BeforeValidator(_vector)]
#: ``f32`` scalar (similarity scores).
F32 = Annotated[float, BeforeValidator(_f32)]


def _json(value: Any, info: ValidationInfo) -> Any:
    return value if _is_stored(info) else check_json(value)


def _text(value: str, info: ValidationInfo) -> str:
    return value if _is_stored(info) else check_text(value)


#: Free-form JSON (``serde_json::Value``): finite numbers, Unicode text, at most ``MAX_JSON_DEPTH`` levels deep
#: (``_checks`` says why); anything else is refused by name (values read back from a store: see ``STORED``).
Json = Annotated[JsonValue, BeforeValidator(_json)]

#: Text (a Rust ``String``): any Unicode characters, NUL included; a lone surrogate is refused.
Text = Annotated[str, AfterValidator(_text)]


# --- base model ----------------------------------------------------------------------------------------------

_F32_TOKEN = "\ue000f32:{}\ue000"


class BehestRecord(BaseModel):
    """Base of every record: immutable values, behest's JSON on ``model_dump_json``/``model_validate_json``.

    Python construction is strict about unknown keyword arguments (a typo fails) and fills behest's defaults;
    reading JSON follows serde: unknown keys are ignored and the keys serde requires must be present.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=False,
        ser_json_inf_nan="strings",
        use_enum_values=False,
    )

    #: Keys serde omits when the value is None / empty (``skip_serializing_if``).
    _omit_if_none: ClassVar[tuple[str, ...]] = ()
    _omit_if_empty: ClassVar[tuple[str, ...]] = ()
    #: Keys serde requires on input (no ``#[serde(default)]``, not an ``Option``).
    _wire_required: ClassVar[tuple[str, ...]] = ()
    #: Keys written only when the record has them: omitted together when none of them was given on input and
    #: all are None (behest 0.3.1's three-key ``TokenUsage`` read back keeps its shape).
    _omit_group_if_unset: ClassVar[tuple[str, ...]] = ()
    #: Fields holding f32 values (serde prints them with f32's layout).
    _f32_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get("wire"):
            missing = [k for k in cls._wire_required if k not in data]
            if missing:
                raise ValueError(f"missing field `{missing[0]}`")
            known = cls.model_fields
            data = {k: v for k, v in data.items() if k in known}
        return data

    @model_serializer(mode="wrap")
    def _to_wire(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if not info.mode_is_json() or not isinstance(data, dict):
            return data
        self._omit_keys(data)
        ctx = info.context
        if self._f32_fields and isinstance(ctx, dict) and "f32" in ctx:
            self._f32_placeholders(data, ctx["f32"])
        return data

    def _omit_keys(self, data: dict[str, Any]) -> None:
        """Drop the keys serde skips: None or empty values of the fields that say so, and an unset group."""
        for key in self._omit_if_none:
            if key in data and data[key] is None:
                del data[key]
        for key in self._omit_if_empty:
            if key in data and not data[key]:
                del data[key]
        group = self._omit_group_if_unset
        if group and not self.model_fields_set.intersection(group) and all(data.get(k) is None for k in group):
            for key in group:
                data.pop(key, None)

    def _f32_placeholders(self, data: dict[str, Any], fragments: list[str]) -> None:
        """Put a placeholder for each float32 field; its text (f32's shortest form) goes to ``fragments``."""
        for key in self._f32_fields:
            if key in data:
                fragments.append(_format_f32_value(getattr(self, key)))
                data[key] = _F32_TOKEN.format(len(fragments) - 1)

    def model_dump_json(self, **kwargs: Any) -> str:
        """The JSON behest's serde writes (compact, serde's key order, omissions and number layout)."""
        fragments: list[str] = []
        context = dict(kwargs.pop("context", None) or {})
        context["f32"] = fragments
        out = super().model_dump_json(context=context, **kwargs)
        for i, frag in enumerate(fragments):
            out = out.replace(f'"{_F32_TOKEN.format(i)}"', frag, 1)
        return out

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Read behest's serde JSON: unknown keys ignored, serde's required keys enforced."""
        ctx = {"wire": True, **(context or {})}
        return super().model_validate_json(json_data, strict=strict, context=ctx, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Read a decoded JSON object (``json.loads`` of behest's JSON) with the same rules as JSON text."""
        return cls.model_validate(data, context={"wire": True})

    def _replace(self, **changes: Any) -> Self:
        """A validated copy with some fields changed (what the ``with_*`` builders return)."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update(changes)
        return type(self)(**values)


def _format_f32_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(format_f32_many(value)) + "]"
    return format_f32(value)
