"""Secrets at rest and the outbound-URL guard (the shared pieces; their users test their own routes)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.ext.asyncio import create_async_engine

from ghgwatch.security import crypto, egress
from ghgwatch.settings import build_settings


def test_seal_round_trip_and_rotation() -> None:
    old, new = crypto.generate_key().encode(), crypto.generate_key().encode()
    sealed = crypto.SecretCipher([old]).seal("s3cret")
    assert sealed.startswith(crypto.PREFIX) and "s3cret" not in sealed
    rotated = crypto.SecretCipher([new, old])
    assert rotated.unseal(sealed) == "s3cret"
    assert rotated.unseal("legacy-plain") == "legacy-plain"
    with pytest.raises(crypto.SecretKeyError):
        crypto.SecretCipher([new]).unseal(sealed)


def test_embedded_key_is_kept_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = build_settings(data_dir=tmp_path)
    first = crypto.cipher_from_settings(settings)
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600
    assert crypto.cipher_from_settings(settings).unseal(first.seal("x")) == "x"
    passphrase = build_settings(data_dir=tmp_path, security={"secrets_key": "a passphrase, not a Fernet key"})
    assert crypto.cipher_from_settings(passphrase).unseal(crypto.cipher_from_settings(passphrase).seal("y")) == "y"


async def test_encrypted_column_stores_ciphertext(tmp_path) -> None:  # type: ignore[no-untyped-def]
    crypto.install_cipher(crypto.SecretCipher([crypto.generate_key().encode()]))
    meta = MetaData()
    table = Table("t", meta, Column("id", Integer, primary_key=True),
                  Column("secret", crypto.EncryptedString(300)))
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
        await conn.execute(table.insert().values(id=1, secret="hunter2"))
        raw = (await conn.exec_driver_sql("SELECT secret FROM t")).scalar_one()
        assert raw.startswith(crypto.PREFIX) and "hunter2" not in raw
        assert (await conn.execute(select(table.c.secret))).scalar_one() == "hunter2"
    await engine.dispose()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/x", "http://10.1.2.3/x",
    "http://192.168.0.5/x", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/x", "http://[::ffff:127.0.0.1]/",
    "ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/", "http:///nohost", "http://[bad/",
])
async def test_internal_and_malformed_targets_are_refused(url: str) -> None:
    with pytest.raises(egress.UnsafeTarget):
        await egress.check_url(url)


async def test_public_literal_and_allowed_private_pass() -> None:
    await egress.check_url("https://93.184.216.34/hook")
    await egress.check_url("http://127.0.0.1:9/hook", allow_private=True)
