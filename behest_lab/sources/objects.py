"""Read behest's artifact stores: disk (``file:///root`` or a path) and S3-compatible (``s3://bucket/prefix``).

behest's object layout (its ``object/artifact.rs``; README "Redis, MongoDB, artifact stores, Qdrant, SurrealDB"):
every artifact is two objects, its raw bytes at ``artifacts/{id}`` and the whole ``Artifact`` as serde JSON
(``data`` in standard base64 included) at ``metadata/{id}.json``. behest's ``get`` reads the JSON and replaces
``data`` with the raw object's bytes; its ``list_by_session`` returns the JSON as stored and silently skips JSON it
cannot parse.

behest_lab reads every ``metadata/*.json`` and, like ``get``, takes the bytes from ``artifacts/{id}``: those are
what behest serves. When that object is missing, the base64 ``data`` of the JSON is kept (what ``list_by_session``
would return) and ``missing_data`` counts it. JSON that does not parse as an ``Artifact`` is a ``SourceError``
naming the object (behest would skip it silently; ``--skip-bad`` skips it here). Objects outside ``metadata/`` and
``artifacts/`` are ignored.

Artifacts have no session record of their own: they come as bundles with ``session`` None, one bundle per
``session_id`` (artifacts without a session in a bundle of their own), in the order of their object names.
S3 is read with boto3; credentials come from ``S3Options`` (``behest_lab.S3Options``) or boto3's usual chain
(environment, profile).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit
from uuid import UUID

import pyarrow as pa
import pydantic

from behest_lab.errors import SourceError
from behest_lab.interchange import Bundle
from behest_lab.records import Artifact
from behest_lab.sources._kv import error, provenance, scrub, secrets_of, short_reason
from behest_lab.sources.base import BadRowHandler, Want, fingerprint, fingerprint_table, redact_url

if TYPE_CHECKING:
    from behest_lab import S3Options

__all__ = ["ObjectSource"]

_META = "metadata/"
_DATA = "artifacts/"


class ObjectSource:
    """behest's disk or S3 artifact store, read in full.

    Attributes:
        kind: ``"objects"``.
        store: ``"disk"`` or ``"s3"``.
        location: the root folder, or the ``s3://bucket/prefix`` URL (it never holds a secret).
        missing_data: artifacts whose raw object was missing (their JSON's ``data`` was kept).
    """

    kind = "objects"

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is a folder in behest's artifact layout (it has a ``metadata`` folder of ``*.json``)."""
        folder = path / "metadata"
        return folder.is_dir() and any(p.name.endswith(".json") for p in folder.iterdir())

    def __init__(self, target: str | Path, *, s3: S3Options | None = None, batch: int = 500) -> None:
        """Open the store at ``target``; for S3, check the bucket answers.

        Args:
            target: ``file:///root``, a folder path, or ``s3://bucket/prefix``.
            s3: endpoint and credentials for S3 (None: boto3's environment and profiles).
            batch: how many artifacts one bundle holds at most.

        Raises:
            SourceError: the folder does not exist, or the bucket cannot be listed.
        """
        text = str(target)
        self.missing_data = 0
        self._batch = max(1, batch)
        self._secrets = secrets_of(text)
        if s3 is not None:
            self._secrets += s3.secret_values()
        self._client: Any = None
        if text.startswith("s3://"):
            self.store = "s3"
            parts = urlsplit(text)
            self._bucket = parts.netloc
            prefix = parts.path.strip("/")
            self._prefix = f"{prefix}/" if prefix else ""
            self.location = redact_url(f"s3://{self._bucket}/{self._prefix}")
            self._connect(s3)
        else:
            self.store = "disk"
            root = Path(unquote(urlsplit(text).path)) if text.startswith("file://") else Path(text)
            self._root = root
            self.location = str(root)
            if not root.is_dir():
                raise self._error("not a folder")

    def __repr__(self) -> str:
        """``ObjectSource('s3://bucket/prefix/')``."""
        return f"ObjectSource({self.location!r})"

    def __enter__(self) -> Self:
        """The source itself."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Release the S3 client."""
        self.close()

    def close(self) -> None:
        """Release the S3 client (idempotent)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- reading ------------------------------------------------------------------------------------------------

    def object_names(self) -> list[str]:
        """The names below ``metadata/`` that end in ``.json``, relative to the root, sorted.

        Raises:
            SourceError: the bucket cannot be listed.
        """
        if self.store == "disk":
            folder = self._root / "metadata"
            if not folder.is_dir():
                return []
            return sorted(f"{_META}{p.name}" for p in folder.iterdir() if p.is_file() and p.name.endswith(".json"))
        return sorted(k for k in self._list(_META) if k.endswith(".json"))

    def fingerprints(self) -> pa.Table:
        """One row per ``metadata/*.json`` object: its artifact id (the object name), session and a content hash.

        The hash covers the metadata JSON and the raw object's size and modification stamp (S3: its ETag), so a
        rewritten artifact is noticed without downloading its bytes.

        Raises:
            SourceError: the store cannot be listed.
        """
        stamps = self._stamps(_DATA)
        rows: list[tuple[str, str, str | None, int]] = []
        for name in self.object_names():
            raw = self._read(name)
            stem = name[len(_META) : -len(".json")]
            session: str | None = None
            try:
                value = json.loads(raw or b"")
                if isinstance(value, dict) and isinstance(value.get("session_id"), str):
                    session = value["session_id"]
            except ValueError:
                pass
            rows.append(("artifacts", stem, session, fingerprint(raw, stamps.get(f"{_DATA}{stem}"))))
        return fingerprint_table(rows)

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Bundles of artifacts (``session`` None), grouped by ``session_id``, with provenance for each.

        ``want`` selects by artifact id (``want.rows["artifacts"]``) and by session; an object that is not a behest
        artifact goes to ``on_bad``.

        Raises:
            SourceError: the store cannot be listed or read.
        """
        groups: dict[UUID | None, list[tuple[Artifact, str]]] = {}
        for name in self.object_names():
            stem = name[len(_META) : -len(".json")]
            try:
                artifact = self._artifact(name)
            except SourceError as exc:
                on_bad(exc)
                continue
            if want is not None and not (
                want.wants("artifacts", stem)
                or want.wants("artifacts", str(artifact.id))
                or str(artifact.session_id) in want.sessions
            ):
                continue
            groups.setdefault(artifact.session_id, []).append((artifact, name))
        for items in groups.values():
            for start in range(0, len(items), self._batch):
                chunk = items[start : start + self._batch]
                yield Bundle(
                    session=None,
                    artifacts=[a for a, _ in chunk],
                    provenance=[provenance(a.id, "artifacts", self.kind, self.location, n) for a, n in chunk],
                )

    def bundles(self) -> Iterator[Bundle]:
        """Every artifact as ``read`` gives them, raising at the first bad object.

        Raises:
            SourceError: an object cannot be read, or its JSON is not behest's ``Artifact``.
        """
        yield from self.read(None, _raise)

    def _stamps(self, below: str) -> dict[str, str]:
        """Object name -> a change stamp (size and mtime on disk, size and ETag on S3) for names below ``below``."""
        if self.store == "disk":
            folder = self._root / below.rstrip("/")
            if not folder.is_dir():
                return {}
            out = {}
            for p in folder.iterdir():
                st = p.stat()
                out[f"{below}{p.name}"] = f"{st.st_size}:{st.st_mtime_ns}"
            return out
        return dict(self._list_stamped(below))

    def _artifact(self, name: str) -> Artifact:
        raw = self._read(name)
        if raw is None:
            raise self._error("the object vanished while reading", key=name)
        try:
            artifact = Artifact.model_validate_json(raw)
        except (ValueError, pydantic.ValidationError) as exc:
            raise self._error(f"not a behest artifact: {short_reason(exc)}", key=name) from None
        stem = name[len(_META) : -len(".json")]
        data = self._read(f"{_DATA}{stem}")
        if data is None:
            self.missing_data += 1
            return artifact
        return artifact.model_copy(update={"data": data}) if data != artifact.data else artifact

    # --- storage ------------------------------------------------------------------------------------------------

    def _read(self, name: str) -> bytes | None:
        if self.store == "disk":
            path = self._root / name
            try:
                return path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise self._error(f"cannot read: {exc}", key=name) from None
        import botocore.exceptions  # type: ignore[import-untyped]

        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._prefix + name)
            return bytes(response["Body"].read())
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._error(f"cannot read: {exc}", key=name) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._error(f"cannot read: {exc}", key=name) from None

    def _list(self, below: str) -> list[str]:
        return [name for name, _ in self._list_stamped(below)]

    def _list_stamped(self, below: str) -> list[tuple[str, str]]:
        import botocore.exceptions

        names: list[tuple[str, str]] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=self._prefix + below
            )
            for page in pages:
                names += [
                    (o["Key"][len(self._prefix) :], f"{o.get('Size')}:{o.get('ETag')}")
                    for o in page.get("Contents", [])
                ]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._error(f"cannot list the bucket: {exc}") from None
        return names

    def _connect(self, s3: S3Options | None) -> None:
        import boto3  # type: ignore[import-untyped]
        import botocore.config  # type: ignore[import-untyped]

        kwargs: dict[str, Any] = {}
        if s3 is not None:
            if s3.endpoint:
                scheme = "http" if s3.use_ssl is False else "https"
                kwargs["endpoint_url"] = f"{scheme}://{s3.endpoint}"
            if s3.key_id:
                kwargs["aws_access_key_id"] = s3.key_id
            if s3.secret is not None:
                kwargs["aws_secret_access_key"] = s3.secret.get_secret_value()
            if s3.session_token is not None:
                kwargs["aws_session_token"] = s3.session_token.get_secret_value()
            if s3.region:
                kwargs["region_name"] = s3.region
            style = "path" if (s3.url_style or ("path" if s3.endpoint else "virtual")) == "path" else "virtual"
            kwargs["config"] = botocore.config.Config(s3={"addressing_style": style}, retries={"max_attempts": 2})
        self._client = boto3.client("s3", **kwargs)
        self._list(_META)  # fails early on a wrong endpoint, bucket or key

    def _error(self, message: str, *, key: str | None = None) -> SourceError:
        table = "artifacts" if key is not None else None
        return error(scrub(message, self._secrets), source=self.kind, location=self.location, table=table, key=key)


def _raise(exc: SourceError) -> None:
    raise exc
