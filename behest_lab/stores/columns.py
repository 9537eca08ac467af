"""The column spec: what a table column is made of, and the conversions generated from it.

A ``Column`` names its SQL and Arrow type (a ``Kind``), where its value comes from in a record (an attribute
path, optionally put through a ``derive`` function) and which record fields it restores from a stored row. A
``TableSpec`` is the ordered columns of one table. From a spec alone come the Arrow schema, the single-row SQL
parameters (``row_params``), the bulk Arrow batch (``arrow_batch``) and the record of a row (``record_from_row``).
``behest_lab.stores.tables`` declares the specs of behest_lab's tables.

Bulk columns are built column by column from the records' field dicts; a column whose batch build shares work
with its neighbours (a message's content and text, an embedding's vector bytes) names its own ``bulk`` builder,
which keeps intermediate results in the ``Batch``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from behest_lab.errors import DataCorruptionError
from behest_lab.records import STORED
from behest_lab.records.instant import Instant, nanosecond_of

Row = Mapping[str, Any]
#: Rebuilds one record field from a stored row.
Reader = Callable[[Row], Any]

_STR = pa.string()
_TS = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_ZERO = timedelta(0)
# a UUID's 32 hex digits go to these slices of its 36-character text; the four gaps are dashes
_UUID_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
_UUID_MAX_ROWS = (2**31 - 1) // 36  # int32 string offsets


# --- JSON text ----------------------------------------------------------------------------------------------------


def _json_encoder(*, allow_nan: bool) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)``, made once.

    ``json.dumps`` with options builds a new encoder per call; calling the C encoder directly skips that. The
    values come from validated records, which cannot be circular, so the circular-reference check is off.
    """
    py = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (other Python implementations)
        return py.encode
    c = make(None, py.default, json.encoder.encode_basestring, None, ":", ",", False, False, allow_nan)

    def encode(value: Any) -> str:
        return "".join(c(value, 0))

    return encode


#: JSON text of any value (content parts, tool arguments: NaN kept as behest's JSON writes it).
encode_json = _json_encoder(allow_nan=True)
#: JSON text of a free-form value (metadata, results): NaN and infinities are not JSON, so they fail here and not
#: in DuckDB.
encode_free = _json_encoder(allow_nan=False)


def load_json(value: Any, where: str) -> Any:
    """A stored JSON value: text is parsed, anything else (None, an already decoded value) kept.

    Raises:
        DataCorruptionError: the text is not JSON (``where`` names the column).
    """
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise DataCorruptionError(where, f"invalid JSON: {exc}") from None


# --- Arrow columns from Python values -------------------------------------------------------------------------------


def strings(values: Sequence[Any]) -> pa.Array:
    """Strings or None as an Arrow string column; a column of None only is made without a pass."""
    if not isinstance(values, list):
        values = list(values)
    if values.count(None) == len(values):
        return pa.nulls(len(values), _STR)
    return pa.array(values, _STR)


def flags(values: Sequence[Any]) -> pa.Array:
    """Booleans or None; a column of False only (most messages' flags) is made without a pass."""
    if not isinstance(values, list):
        values = list(values)
    if values.count(True) == 0 and values.count(None) == 0:
        return pa.array(np.zeros(len(values), dtype=bool))
    return pa.array(values, pa.bool_())


def uuid_array(values: Sequence[Any]) -> pa.Array:
    """The canonical text of UUIDs (exactly ``str(uuid)``, lower-case with dashes); None is NULL.

    The hex digits of the whole column come from one ``bytes.hex()`` call and numpy puts in the dashes: ``str``
    per UUID would cost more than the rest of a message row.
    """
    n = len(values)
    missing = [v is None for v in values]
    if n > _UUID_MAX_ROWS:
        return pa.array([None if v is None else str(v) for v in values], _STR)
    if n and all(missing):
        return pa.nulls(n, _STR)
    raw = b"".join([b"\0" * 16 if v is None else v.int.to_bytes(16, "big") for v in values])
    digits = np.frombuffer(raw.hex().encode("ascii"), np.uint8).reshape(n, 32)
    text = np.full((n, 36), ord("-"), np.uint8)
    for i, (start, stop) in enumerate(_UUID_GROUPS):
        text[:, start + i : stop + i] = digits[:, start:stop]
    offsets = np.arange(0, 36 * n + 1, 36, dtype=np.int32)
    validity = None
    if any(missing):
        validity = pa.py_buffer(np.packbits(~np.array(missing, dtype=bool), bitorder="little"))
    return pa.Array.from_buffers(_STR, n, [validity, pa.py_buffer(offsets), pa.py_buffer(text)])


def utc_microseconds(value: datetime) -> datetime:
    """An aware datetime as the stored ``TIMESTAMPTZ`` value: UTC, cut to the microsecond (floor)."""
    return _EPOCH + timedelta(microseconds=datetime.__sub__(value, _EPOCH) // _US)


def _timestamps(values: Sequence[datetime]) -> pa.Array:
    """Aware datetimes as UTC microseconds (integer arithmetic is cheaper than Arrow's per-value tz handling)."""
    return pa.array([datetime.__sub__(v, _EPOCH) // _US for v in values], _TS)


def _instant_reader(name: str, where: str) -> Reader:
    """Reads column ``name`` with its ``<name>_ns`` column (absent or NULL: 0) as an ``Instant``; None stays None."""
    ns = f"{name}_ns"

    def read(row: Row) -> Any:
        value = row[name]
        if not isinstance(value, datetime):
            return value
        if value.utcoffset() == _ZERO:  # DuckDB's UTC as the record's own UTC: the Instant is made once
            value = value.replace(tzinfo=UTC)
        return Instant.from_datetime(value, row.get(ns) or 0)

    return read


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> Any:
    return None if value is None else str(value)  # a StrEnum member as its plain value


@dataclass(frozen=True)
class Kind:
    """A column type: its SQL and Arrow types and how values convert.

    Attributes:
        sql: The DuckDB type.
        arrow: The Arrow type.
        param: One value (from the record) to what is bound as a SQL parameter of a single-row write.
        array: The values of a batch to the Arrow column.
        reader: Makes the reader of a column of this kind, given the column's name and its ``"table.column"``
            (for error messages): the reader takes a row and returns the record's value.
    """

    sql: str
    arrow: pa.DataType
    param: Callable[[Any], Any] = _same
    array: Callable[[list[Any]], pa.Array] | None = None
    reader: Callable[[str, str], Reader] = lambda name, where: itemgetter(name)

    def to_array(self, values: list[Any]) -> pa.Array:
        """The Arrow column of ``values`` (``array`` when given, else ``pa.array`` with this type)."""
        if self.array is not None:
            return self.array(values)
        if values.count(None) == len(values):
            return pa.nulls(len(values), self.arrow)
        return pa.array(values, self.arrow)


#: A UUID: DuckDB's ``UUID``, its canonical text in Arrow and in parameters.
UUID = Kind("UUID", _STR, _text, uuid_array)
#: Text; a StrEnum member (a role, a status) is its value.
TEXT = Kind("VARCHAR", _STR, _text, strings)
#: An aware timestamp, stored as UTC microseconds; read back with its ``<name>_ns`` column as an ``Instant``.
TIMESTAMP = Kind("TIMESTAMPTZ", _TS, utc_microseconds, _timestamps, _instant_reader)
#: The nanoseconds past a timestamp's microsecond (``Instant.nanosecond``; 0 for a plain datetime).
NANOS = Kind("SMALLINT", pa.int16(), nanosecond_of, lambda vs: pa.array([nanosecond_of(v) for v in vs], pa.int16()))
#: Integers (token counters; counts and durations; dimensions).
U64 = Kind("UBIGINT", pa.uint64())
I64 = Kind("BIGINT", pa.int64())
I32 = Kind("INTEGER", pa.int32())
#: A flag; read back as a plain bool.
BOOL = Kind("BOOLEAN", pa.bool_(), array=flags, reader=lambda name, where: lambda row: bool(row[name]))
#: Bytes.
BLOB = Kind("BLOB", pa.binary())
#: Free-form JSON (metadata): None is NULL, NaN refused.
JSON_FREE = Kind(
    "JSON",
    _STR,
    lambda v: None if v is None else encode_free(v),
    lambda vs: pa.array([None if v is None else encode_free(v) for v in vs], _STR),
    lambda name, where: lambda row: load_json(row[name], where),
)
#: Any JSON value, None too (written as the JSON text ``null``), NaN as behest writes it.
JSON_VALUE = Kind(
    "JSON",
    _STR,
    encode_json,
    lambda vs: pa.array([encode_json(v) for v in vs], _STR),
    lambda name, where: lambda row: load_json(row[name], where),
)
#: JSON already written as text by the column's ``derive``.
JSON_TEXT = Kind("JSON", _STR, array=strings, reader=lambda name, where: lambda row: load_json(row[name], where))


class Batch:
    """The records of one bulk conversion, with each column's source values read once and shared work kept."""

    def __init__(self, records: list[Any], given: Mapping[str, Sequence[Any]]) -> None:
        """Hold ``records`` and the values the store gives for columns without a record source (``given``)."""
        self.records = records
        self.given = given
        # pydantic keeps the field values in the instance ``__dict__``: reading a column through it is cheaper
        # than an attribute read per record (which looks in the model class first)
        self._fields = [r.__dict__ for r in records]
        self._memo: dict[Any, Any] = {}

    def __len__(self) -> int:
        """The number of records."""
        return len(self.records)

    def values(self, path: tuple[str, ...]) -> list[Any]:
        """The values at ``path`` of every record (None where an optional step on the way is None)."""
        if not path:
            return self.records
        key = ("path", path)
        if key not in self._memo:
            if len(path) == 1:
                self._memo[key] = list(map(itemgetter(path[0]), self._fields))
            else:
                outer = self.values(path[:-1])
                if outer.count(None) == len(outer):
                    self._memo[key] = outer
                else:
                    last = path[-1]
                    self._memo[key] = [None if o is None else getattr(o, last) for o in outer]
        result: list[Any] = self._memo[key]
        return result

    def memo(self, key: str, make: Callable[[Batch], Any]) -> Any:
        """``make(self)``, computed once per batch under ``key`` (work shared by several columns)."""
        if key not in self._memo:
            self._memo[key] = make(self)
        return self._memo[key]


@dataclass(frozen=True)
class Column:
    """One table column: name, type, description, where its value comes from and what it restores.

    Attributes:
        name: The column name.
        kind: Its type and conversions.
        doc: A one-line description.
        source: The attribute path of its value in a record (``("usage", "input_tokens")``: None when ``usage``
            is None; ``()``: the record itself).
        derive: Turns the source value into the column's value (None: the value is the source value).
        bulk: Builds the column of a batch where that shares work with other columns (None: ``derive`` and
            ``kind`` over the batch's source values).
        restores: Record fields rebuilt from a stored row, each with its reader (besides ``restores_self``).
        restores_self: The column restores the record attribute of its own name through ``kind.reader``.
        given: The value is given by the store (a message's ``seq``), not read from the record.
    """

    name: str
    kind: Kind
    doc: str
    source: tuple[str, ...]
    derive: Callable[[Any], Any] | None = None
    bulk: Callable[[Batch], pa.Array] | None = None
    restores: Mapping[str, Reader] = field(default_factory=dict)
    restores_self: bool = False
    given: bool = False

    @property
    def sql(self) -> str:
        """The DuckDB type."""
        return self.kind.sql

    @property
    def arrow(self) -> pa.DataType:
        """The Arrow type."""
        return self.kind.arrow

    def value_of(self, source_value: Any) -> Any:
        """The SQL parameter of this column for a value at its ``source``."""
        if self.derive is not None:
            source_value = self.derive(source_value)
        return self.kind.param(source_value)

    def param(self, record: Any) -> Any:
        """The SQL parameter of this column for one record."""
        value = record
        for step in self.source:
            if value is None:
                break
            value = getattr(value, step)
        return self.value_of(value)

    def array(self, batch: Batch) -> pa.Array:
        """The Arrow column of a batch."""
        if self.given:
            return pa.array(batch.given[self.name], self.arrow)
        if self.bulk is not None:
            return self.bulk(batch)
        values = batch.values(self.source)
        if self.derive is not None:
            values = list(map(self.derive, values))
        return self.kind.to_array(values)


def col(
    name: str,
    kind: Kind,
    doc: str,
    *,
    source: tuple[str, ...] | None = None,
    derive: Callable[[Any], Any] | None = None,
    bulk: Callable[[Batch], pa.Array] | None = None,
    restores: Mapping[str, Reader] | None = None,
    given: bool = False,
) -> Column:
    """A column; by default its value is the record attribute of the same name, which it restores.

    Args:
        name: The column name.
        kind: Its type.
        doc: A one-line description.
        source: The attribute path of the value (default: ``(name,)``).
        derive: Turns the source value into the column's value.
        bulk: The batch builder where it shares work with other columns.
        restores: The record fields it rebuilds (default: ``name`` itself when the column holds that attribute
            as it is, else nothing).
        given: The store gives the value (no record source, nothing restored).
    """
    path = () if given else ((name,) if source is None else source)
    itself = restores is None and path == (name,) and derive is None
    return Column(name, kind, doc, path, derive, bulk, restores or {}, itself, given)


@dataclass(frozen=True)
class TableSpec:
    """One table: its columns in stored order and the record type its rows rebuild.

    Attributes:
        name: The table name.
        columns: The columns, in the order the table stores them.
        record: The record type a row rebuilds (None: the table rebuilds no record of its own).
        given_fields: Record fields the caller supplies to ``record_from_row`` (an artifact's bytes).
    """

    name: str
    columns: tuple[Column, ...]
    record: type[BaseModel] | None = None
    given_fields: tuple[str, ...] = ()

    @cached_property
    def readers(self) -> list[tuple[str, Reader]]:
        """Each restored record field with its reader, in column order."""
        out: list[tuple[str, Reader]] = []
        for c in self.columns:
            if c.restores_self:
                out.append((c.name, c.kind.reader(c.name, f"{self.name}.{c.name}")))
            out.extend(c.restores.items())
        return out

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema."""
        return pa.schema([(c.name, c.arrow) for c in self.columns])


def row_params(spec: TableSpec, record: Any, given: Mapping[str, Any] | None = None) -> list[Any]:
    """The SQL parameters of one record's row, in column order (``given``: the store's values, by column name).

    Raises:
        ValueError: A column the store gives (a message's ``seq``) is missing from ``given``.
    """
    given = given or {}
    missing = [c.name for c in spec.columns if c.given and c.name not in given]
    if missing:
        raise ValueError(f"a {spec.name} row needs {', '.join(missing)} from the store")
    return [given[c.name] if c.given else c.param(record) for c in spec.columns]


def arrow_batch(spec: TableSpec, records: list[Any], given: Mapping[str, Sequence[Any]] | None = None) -> pa.Table:
    """Records as an Arrow table with the spec's columns (``given``: the store's values, by column name)."""
    batch = Batch(records, given or {})
    return pa.Table.from_arrays([c.array(batch) for c in spec.columns], schema=spec.arrow_schema)


def record_from_row(spec: TableSpec, row: Row, **given: Any) -> Any:
    """The record of a stored row (a dict of column values, as DuckDB or Arrow give them).

    The row is validated as a stored value (``behest_lab.records.STORED``): types, shapes and cross-field rules
    are checked, the walks that only repeat what writing checked are not.

    Raises:
        DataCorruptionError: A value does not make a valid record (named ``table.field``).
    """
    if spec.record is None:
        raise KeyError(f"table {spec.name!r} rebuilds no record")
    try:
        values = {name: read(row) for name, read in spec.readers}
        values.update(given)
        return spec.record.model_validate(values, context=STORED)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise DataCorruptionError(f"{spec.name}.{loc}", err["msg"]) from None


__all__ = [
    "BLOB",
    "BOOL",
    "I32",
    "I64",
    "JSON_FREE",
    "JSON_TEXT",
    "JSON_VALUE",
    "NANOS",
    "TEXT",
    "TIMESTAMP",
    "U64",
    "UUID",
    "Batch",
    "Column",
    "Kind",
    "Reader",
    "Row",
    "TableSpec",
    "arrow_batch",
    "col",
    "encode_free",
    "encode_json",
    "flags",
    "load_json",
    "record_from_row",
    "row_params",
    "strings",
    "utc_microseconds",
    "uuid_array",
]
