"""One typed Settings object: a TOML file in the agency's home folder plus VANTHU_* variables.

Precedence (highest first): explicit overrides, environment variables, ``<home>/vanthu.toml``,
the defaults below, which place everything inside the home folder (the embedded setup).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.core.errors import ConfigError
from workflows import DEFINITIONS_DIR

CONFIG_FILE = "vanthu.toml"


class Settings(BaseSettings):
    """Where Vanthu keeps its data and how it runs automated steps."""

    model_config = SettingsConfigDict(env_prefix="VANTHU_", extra="forbid")

    home: Path = Field(description="The agency folder: configuration, SQLite file, folder store.")
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite in the home folder.")
    store_url: str = Field("", description="file:///path or s3://key:secret@host:port/bucket.")
    pki_dir: Path | None = Field(None, description="Keys and certificates; default <home>/pki.")
    trust_roots: list[Path] = Field(
        default_factory=list, description="Trusted root certificates; default the PKI's root."
    )
    steps_runner: Literal["inline", "worker"] = Field(
        "inline",
        description="inline: automated steps run right after the action that queued them; "
        "worker: they wait for `vanthu worker` (Prefect).",
    )
    soffice: str = "soffice"
    max_upload_bytes: int = 20 * 1024 * 1024
    step_max_attempts: int = 5
    workflows_dir: Path | None = Field(None, description="Definitions; default the shipped ones.")
    leader_signing: Literal["server", "agent"] = Field(
        "server",
        description="server: the leader's personal key (PKCS#12) is on the server; agent: the "
        "server prepares, `vanthu sign-agent` beside the leader's token signs the digest.",
    )
    tsa_url: str | None = Field(
        None, description="RFC 3161 timestamp server; default the PKI's own (the DEMO TSA)."
    )
    retention_file: Path | None = Field(
        None, description="The agency's retention list (YAML); default engine/data/retention.yaml."
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'vanthu.db'}"

    @property
    def effective_store_url(self) -> str:
        return self.store_url or f"file://{self.home / 'store'}"

    @property
    def effective_pki_dir(self) -> Path:
        return self.pki_dir or self.home / "pki"

    @property
    def effective_workflows_dir(self) -> Path:
        return self.workflows_dir or DEFINITIONS_DIR


def load_settings(home: Path | None = None, **overrides: Any) -> Settings:
    """Read ``<home>/vanthu.toml`` (if any), then the environment, then ``overrides``."""
    home = (home or Path(os.environ.get("VANTHU_HOME", "."))).expanduser().resolve()
    file_values: dict[str, Any] = {}
    config_path = home / CONFIG_FILE
    if config_path.exists():
        try:
            file_values = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"không đọc được tệp cấu hình: {exc}",
                f"cannot read the configuration file: {exc}",
                code="config.file_unreadable",
                file=str(config_path),
            ) from exc
    env_names = {f"VANTHU_{name.upper()}" for name in Settings.model_fields}
    for key in list(file_values):
        if f"VANTHU_{key.upper()}" in os.environ and f"VANTHU_{key.upper()}" in env_names:
            del file_values[key]  # the environment wins over the file
    try:
        return Settings(**{**file_values, **overrides, "home": home})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"cấu hình không hợp lệ: {problems}",
            f"the configuration is not valid: {problems}",
            code="config.invalid",
            file=str(config_path),
        ) from exc


def write_settings_file(home: Path, values: dict[str, str]) -> Path:
    """Write a minimal vanthu.toml (string values only) for a new agency folder."""
    lines = ["# Cấu hình Vanthu. Biến môi trường VANTHU_* được ưu tiên hơn tệp này."]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    path = home / CONFIG_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def create_home(home: Path, *, database_url: str = "", store_url: str = "") -> Path:
    """A new agency folder with its vanthu.toml (an existing file is left as it is)."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"không tạo được thư mục cơ quan {home}: {exc.strerror}",
            f"cannot create the agency folder {home}: {exc.strerror}",
            code="config.home_unwritable",
        ) from exc
    values = {k: v for k, v in {"database_url": database_url, "store_url": store_url}.items() if v}
    if not (home / CONFIG_FILE).exists():
        write_settings_file(home, values)
    return home
