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

from engine.core import office
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
    government_trust: bool = Field(
        False,
        description="Also trust the government's list shipped with Vanthu (the specialised "
        "CA's roots and Vietnam National Root CA), beside the agency's own roots.",
    )
    steps_runner: Literal["inline", "worker"] = Field(
        "inline",
        description="inline: automated steps run right after the action that queued them; "
        "worker: they wait for `vanthu worker` (Prefect).",
    )
    soffice: str = "soffice"
    max_upload_bytes: int = 20 * 1024 * 1024
    step_max_attempts: int = 5
    step_lease_seconds: int = Field(
        120,
        ge=5,
        le=24 * 3600,
        description="How long a worker holds a claimed automated step before another worker may "
        "take it; a running worker renews it every third of this, so a worker killed mid-step is "
        "replaced, on any machine, this long after it died.",
    )
    prefect_api_url: str = Field(
        "",
        description="The Prefect server `vanthu worker` reports its flow and task runs to "
        "(http://HOST:4200/api, see `vanthu prefect-server`); empty: PREFECT_API_URL from the "
        "environment, else Prefect's ephemeral mode inside the agency folder (embedded).",
    )
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
    procedures_file: Path | None = Field(
        None,
        description="The agency's one-stop procedures (YAML); default "
        "engine/onestop/data/procedures.yaml (samples).",
    )
    onestop_forms_dir: Path | None = Field(
        None,
        description="The agency's own one-stop form templates (DOCX named after the legal form, "
        "`vanthu onestop forms --out DIR` writes the shipped ones); default the shipped forms.",
    )
    lookup_url: str = Field(
        "http://127.0.0.1:8000/tra-cuu",
        description="The public dossier look-up page as citizens reach it: the receipt's QR code "
        "points to <lookup_url>?ma=CODE.",
    )
    totp_for_signers: bool = Field(
        False, description="Leaders (who sign) need a TOTP second factor to log in to the web."
    )
    session_idle_minutes: int = Field(
        30, ge=1, le=24 * 60, description="A web session unused this long ends (log in again)."
    )
    insecure_cookies: bool = Field(
        False,
        description="Send the session cookie over plain http too (tests, 127.0.0.1 only); "
        "by default it is Secure, for a TLS reverse proxy.",
    )
    office_server: bool = Field(
        True,
        description="Keep one LibreOffice running per process for conversions (unoserver, "
        "about 0.25 s a DOCX instead of 1.2 s); false: start soffice for each file.",
    )
    office_python: str = Field(
        "",
        description="The python that runs unoserver (it needs python3-uno); default the "
        "project's .venv-uno, else /usr/bin/python3.",
    )
    smtp_host: str = Field(
        "",
        description="The mail server deadline reminders go through; empty: no e-mail (reminders "
        "are still shown in the inbox). User and password: VANTHU_SMTP_USER, "
        "VANTHU_SMTP_PASSWORD in the environment.",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="The mail server's port.")
    smtp_from: str = Field(
        "vanthu@localhost", description="The sender address of reminder e-mails."
    )
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    reminder_warn_hours: int = Field(
        4, ge=1, le=72, description="Warn a person this many hours before a task is due."
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
    if config_path.is_dir():
        raise ConfigError(
            f"{CONFIG_FILE} là một thư mục, cần là tệp cấu hình",
            f"{CONFIG_FILE} is a folder, it must be the configuration file",
            code="config.file_is_folder",
            file=str(config_path),
        )
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
        loaded = Settings(**{**file_values, **overrides, "home": home})
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
    check_database_url(loaded.database_url)
    office.configure(enabled=loaded.office_server, python=loaded.office_python)
    for root in loaded.trust_roots:
        if not root.is_file():
            raise ConfigError(
                f"trust_roots: không có tệp chứng thư gốc {root}",
                f"trust_roots: there is no root certificate file {root}",
                code="config.trust_root_missing",
                path=str(root),
            )
    return loaded


DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
"""The databases Vanthu runs on: SQLite (embedded) and PostgreSQL (through psycopg 3)."""


def check_database_url(url: str) -> None:
    """Refuse a database URL Vanthu cannot use, naming what it can (the password never shown)."""
    if not url:
        return
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        shown = scheme + "://…" if scheme else "(không có dạng scheme://)"
        shown_en = scheme + "://…" if scheme else "(not of the form scheme://)"
        raise ConfigError(
            f"database_url {shown} không được hỗ trợ: dùng sqlite:///ĐƯỜNG-DẪN hoặc "
            "postgresql://NGƯỜI-DÙNG@MÁY/CSDL",
            f"database_url {shown_en} is not supported: use sqlite:///PATH or "
            "postgresql://USER@HOST/DB",
            code="config.database_url_unsupported",
            scheme=scheme,
        )


def write_settings_file(home: Path, values: dict[str, str]) -> Path:
    """Write a minimal vanthu.toml (string values only) for a new agency folder."""
    lines = ["# Cấu hình Vanthu. Biến môi trường VANTHU_* được ưu tiên hơn tệp này."]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    path = home / CONFIG_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


PRIVATE_UMASK = 0o077
"""The agency's files are its owner's only: folders 0700, files 0600."""
PRIVATE_FOLDERS = ("store", "pki", "logs")
"""The folders ``create_home`` makes private from the start (the default store, PKI and logs)."""


def create_home(home: Path, *, database_url: str = "", store_url: str = "") -> Path:
    """A new agency folder with its vanthu.toml (an existing file is left as it is).

    Under a umask of 077: a new home folder, the store, PKI and logs folders are 0700 and the
    configuration file 0600 (the SQLite file too, engine.core.db), so nobody else on the machine
    reads the agency's documents, keys or log; ``vanthu doctor`` warns if one is opened up."""
    check_database_url(database_url)
    previous = os.umask(PRIVATE_UMASK)
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        values = {
            k: v for k, v in {"database_url": database_url, "store_url": store_url}.items() if v
        }
        if not (home / CONFIG_FILE).exists():
            write_settings_file(home, values)
        for name in PRIVATE_FOLDERS:
            if name == "store" and store_url:
                continue  # the agency's own store, wherever it is
            folder = home / name
            folder.mkdir(mode=0o700, exist_ok=True)
            folder.chmod(0o700)
    except OSError as exc:
        raise ConfigError(
            f"không tạo được thư mục cơ quan {home}: {exc.strerror}",
            f"cannot create the agency folder {home}: {exc.strerror}",
            code="config.home_unwritable",
        ) from exc
    finally:
        os.umask(previous)
    return home
