"""The tree drawn in ``behest_lab.errors``' docstring is the real class hierarchy, and errors carry context."""

from __future__ import annotations

import builtins
import inspect
import re
from typing import Any
from uuid import UUID

import pytest

from behest_lab import errors

_LINE = re.compile(r"^(?P<prefix>(?:│   |    |├── |└── )*)(?P<name>[A-Z]\w+)\s*(?P<doc>.*)$")


def _tree() -> dict[str, tuple[str | None, str]]:
    """name -> (parent name, description) parsed from the module docstring's drawing."""
    assert errors.__doc__ is not None
    nodes: dict[str, tuple[str | None, str]] = {}
    stack: list[str] = []
    for raw in errors.__doc__.splitlines():
        line = raw[4:] if raw.startswith("    ") else None
        if line is None:
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        depth = len(m["prefix"]) // 4
        del stack[depth:]
        nodes[m["name"]] = (stack[-1] if stack else None, m["doc"])
        stack.append(m["name"])
    return nodes


TREE = _tree()

#: One instance of every exception, built through its public constructor.
EXAMPLES: dict[str, Any] = {
    "BehestLabError": errors.BehestLabError("x"),
    "StoreError": errors.StoreError("x"),
    "NotFoundError": errors.NotFoundError(UUID(int=1), "session"),
    "AlreadyExistsError": errors.AlreadyExistsError(UUID(int=2), "message"),
    "BackendError": errors.BackendError("duckdb", "boom"),
    "MissingExtensionError": errors.MissingExtensionError("ducklake", "duckdb-extension-ducklake"),
    "CommitConflictError": errors.CommitConflictError(5, "conflict"),
    "ConnectionFailedError": errors.ConnectionFailedError("lake", "cannot open"),
    "SerializationError": errors.SerializationError("metadata: not JSON"),
    "MigrationError": errors.MigrationError("too new", found=3, supported=1),
    "DataCorruptionError": errors.DataCorruptionError(
        "messages.content", "bad JSON", path="/s/data/m.parquet", table="messages"
    ),
    "ReadOnlyStoreError": errors.ReadOnlyStoreError("snapshot 3 is read-only"),
    "VectorDimensionError": errors.VectorDimensionError(3, [4, 2, 4]),
    "ReportError": errors.ReportError("no store in 'x'"),
    "InterchangeError": errors.InterchangeError("bad row", path="a.db", table="messages", line=7, row_id="r1"),
    "SourceError": errors.SourceError("bad row", source="sqlite", location="/a.db", table="messages", key="r1", row=7),
}


def test_tree_has_the_documented_root_and_shape() -> None:
    assert TREE["BehestLabError"][0] is None
    assert TREE["StoreError"][0] == "BehestLabError"
    assert TREE["NotFoundError"][0] == "StoreError"
    assert TREE["MissingExtensionError"][0] == "BackendError"
    assert TREE["VectorDimensionError"][0] == "BehestLabError"


def test_tree_lists_every_exception_class_of_the_module() -> None:
    defined = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == errors.__name__
    }
    assert set(TREE) == defined
    assert set(errors.__all__) == defined
    assert set(EXAMPLES) == defined


@pytest.mark.parametrize("name", sorted(TREE))
def test_drawn_parent_is_the_real_parent(name: str) -> None:
    cls = getattr(errors, name)
    parent, _ = TREE[name]
    if parent is None:
        assert cls.__mro__[1] is Exception
        return
    parent_cls = getattr(errors, parent)
    assert cls.__mro__[1] is parent_cls  # the drawn parent is the first base, not just some ancestor
    our_bases = [b for b in cls.__bases__ if b.__module__ == errors.__name__]
    assert our_bases == [parent_cls]


@pytest.mark.parametrize("name", sorted(TREE))
def test_also_notes_are_real_bases(name: str) -> None:
    doc = TREE[name][1]
    for builtin in re.findall(r"also (\w+)", doc):
        assert issubclass(getattr(errors, name), getattr(builtins, builtin))


@pytest.mark.parametrize("name", sorted(TREE))
def test_documented_attributes_are_carried(name: str) -> None:
    instance = EXAMPLES[name]
    assert isinstance(instance, getattr(errors, name))
    for attr in re.findall(r"\.(\w+)", TREE[name][1]):
        assert hasattr(instance, attr), f"{name}.{attr}"
    assert str(instance)


def test_attribute_values() -> None:
    nf = EXAMPLES["NotFoundError"]
    assert (nf.id, isinstance(nf, LookupError)) == (UUID(int=1), True)
    assert str(UUID(int=1)) in str(nf)
    assert EXAMPLES["AlreadyExistsError"].id == UUID(int=2)
    assert EXAMPLES["BackendError"].backend == "duckdb"
    assert EXAMPLES["MissingExtensionError"].package == "duckdb-extension-ducklake"
    assert "duckdb-extension-ducklake==" in str(EXAMPLES["MissingExtensionError"])
    assert EXAMPLES["CommitConflictError"].attempts == 5
    assert EXAMPLES["ConnectionFailedError"].backend == "lake"
    mig = EXAMPLES["MigrationError"]
    assert (mig.found, mig.supported) == (3, 1)
    dc = EXAMPLES["DataCorruptionError"]
    assert (dc.field, dc.path, dc.table) == ("messages.content", "/s/data/m.parquet", "messages")
    assert "/s/data/m.parquet" in str(dc)
    assert errors.DataCorruptionError("x", "y").path is None
    vd = EXAMPLES["VectorDimensionError"]
    assert (vd.dimension, vd.present, isinstance(vd, ValueError)) == (3, [2, 4], True)
    ie = EXAMPLES["InterchangeError"]
    assert (ie.path, ie.table, ie.line, ie.row_id, ie.reason) == ("a.db", "messages", 7, "r1", "bad row")
    assert str(ie) == "a.db, table messages, line 7, row r1: bad row"
    assert str(errors.InterchangeError("plain")) == "plain"
