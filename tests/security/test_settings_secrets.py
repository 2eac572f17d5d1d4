"""Cluster mode refuses the placeholder secrets shipped in deploy/ (issue 12, hole 8)."""

from __future__ import annotations

import pytest

from ghgwatch.settings import ConfigurationError, build_settings


def test_placeholder_secret_is_refused_in_cluster_mode() -> None:
    with pytest.raises(ConfigurationError, match="CHANGE-ME"):
        build_settings(mode="cluster", db={"url": "postgresql+asyncpg://u:p@h/db"},
                       security={"jwt_secret": "CHANGE-ME"})
    with pytest.raises(ConfigurationError, match="GHGWATCH_DB__URL"):
        build_settings(mode="cluster", db={"url": "postgresql+asyncpg://u:CHANGE-ME@h/db"},
                       security={"jwt_secret": "a-real-secret-of-enough-length"})
    with pytest.raises(ConfigurationError, match="GHGWATCH_OBSERVABILITY__METRICS_TOKEN"):
        build_settings(mode="cluster", db={"url": "postgresql+asyncpg://u:p@h/db"},
                       security={"jwt_secret": "a-real-secret-of-enough-length"},
                       observability={"metrics_token": "CHANGE-ME"})
    build_settings(mode="cluster", db={"url": "postgresql+asyncpg://u:p@h/db"},
                   security={"jwt_secret": "a-real-secret-of-enough-length"})


def test_tls_files_go_together(tmp_path: object) -> None:
    with pytest.raises(ConfigurationError, match="TLS"):
        build_settings(api={"tls_certfile": "/tmp/cert.pem"})
