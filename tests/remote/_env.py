"""The environment a "host" process gets: the store named by variables only, as ``StoreConfig.from_env`` reads them."""

from __future__ import annotations

import os
from pathlib import Path

from behest_lab import StoreConfig
from tests.services import S3_KEY_ID, S3_REGION, S3_SECRET, S3Server

ROOT = Path(__file__).resolve().parents[2]


def host_env(config: StoreConfig, s3: S3Server, cache: Path) -> dict[str, str]:
    """``os.environ`` plus ``BEHEST_LAB_CATALOG`` (no password), ``BEHEST_LAB_DATA_PATH``, ``PGPASSWORD`` and the
    ``AWS_*`` variables for the emulator; ``XDG_CACHE_HOME`` points at ``cache`` so no test writes to ``~``."""
    assert config.password is not None
    assert config.data_path is not None
    env = dict(os.environ)
    env.update(
        BEHEST_LAB_CATALOG=config.catalog,
        BEHEST_LAB_DATA_PATH=config.data_path,
        PGPASSWORD=config.password.get_secret_value(),
        AWS_ACCESS_KEY_ID=S3_KEY_ID,
        AWS_SECRET_ACCESS_KEY=S3_SECRET,
        AWS_REGION=S3_REGION,
        AWS_ENDPOINT_URL=s3.url,
        XDG_CACHE_HOME=str(cache),
        PYTHONPATH=str(ROOT),
    )
    return env
