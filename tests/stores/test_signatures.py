"""Every backend's stores satisfy the Protocols, with the Protocols' method names and parameters."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from behest_lab import ArtifactStore, EmbeddingStore, ExecutionStore, SessionStore, Store

PROTOCOLS: dict[str, type[Any]] = {
    "sessions": SessionStore,
    "embeddings": EmbeddingStore,
    "artifacts": ArtifactStore,
    "executions": ExecutionStore,
}


def _public_methods(obj: Any) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_") and callable(getattr(obj, name))}


def _protocol_methods(protocol: type[Any]) -> set[str]:
    return {name for name, value in vars(protocol).items() if not name.startswith("_") and inspect.isfunction(value)}


def _shape(fn: Any) -> list[tuple[str, Any, bool]]:
    """(name, kind, has a default) of every parameter except ``self``."""
    params = inspect.signature(fn).parameters.values()
    return [(p.name, p.kind, p.default is not inspect.Parameter.empty) for p in params if p.name != "self"]


@pytest.mark.parametrize("attribute", sorted(PROTOCOLS))
def test_store_satisfies_protocol(store: Store, attribute: str) -> None:
    assert isinstance(getattr(store, attribute), PROTOCOLS[attribute])


@pytest.mark.parametrize("attribute", sorted(PROTOCOLS))
def test_public_methods_are_the_protocols(store: Store, attribute: str) -> None:
    protocol = PROTOCOLS[attribute]
    assert _public_methods(getattr(store, attribute)) == _protocol_methods(protocol)


@pytest.mark.parametrize("attribute", sorted(PROTOCOLS))
def test_method_parameters_match_protocol(store: Store, attribute: str) -> None:
    impl = getattr(store, attribute)
    protocol = PROTOCOLS[attribute]
    for name in sorted(_protocol_methods(protocol)):
        assert _shape(getattr(impl, name)) == _shape(getattr(protocol, name)), name


def test_store_bundle_interface(store: Store) -> None:
    assert isinstance(store, Store)
    for name in ("delete_session", "write_batch", "sql", "close", "__enter__", "__exit__"):
        assert _shape(getattr(store, name)) == _shape(getattr(Store, name)), name
    assert store.__enter__() is store
