"""Configuration: TOML file in the agency folder, environment variables win."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.core.config import load_settings, write_settings_file
from engine.core.errors import ConfigError
from tests_support import refused


def test_defaults_keep_everything_in_the_agency_folder(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'vanthu.db'}"
    assert settings.effective_store_url == f"file://{tmp_path / 'store'}"
    assert settings.steps_runner == "inline"


def test_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_settings_file(tmp_path, {"store_url": "file:///srv/a", "steps_runner": "worker"})
    monkeypatch.setenv("VANTHU_STORE_URL", "s3://k:s@127.0.0.1:9000/b?secure=false")
    settings = load_settings(tmp_path)
    assert settings.effective_store_url.startswith("s3://")
    assert settings.steps_runner == "worker"


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "vanthu.toml").write_text('store_url = "unterminated\n', encoding="utf-8")
    with refused("config.file_unreadable", ConfigError, file=str(tmp_path / "vanthu.toml")):
        load_settings(tmp_path)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "vanthu.toml").write_text('databse_url = "sqlite://"\n', encoding="utf-8")
    with refused("config.invalid", ConfigError, file=str(tmp_path / "vanthu.toml")) as caught:
        load_settings(tmp_path)
    assert "databse_url" in caught.value.message_en  # the key is named, in both languages
