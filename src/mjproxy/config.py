"""Configuration: a TOML file plus ``MJPROXY_`` environment overrides (``__`` separates nested keys).

Precedence, highest first: explicit keyword arguments, environment variables, the TOML file, defaults.
The file comes from ``mjproxy serve --config PATH`` or the ``MJPROXY_CONFIG`` variable.
"""

from __future__ import annotations

import os
import re
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


SpeedModeName = Literal["fast", "relax", "turbo"]
ALL_MODES: tuple[SpeedModeName, ...] = ("fast", "relax", "turbo")


class _Section(BaseModel):
    # A misspelt key is an error, never silently ignored.
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    api_secret: str = ""
    admin_secret: str = ""  # admin routes accept only this when set (else api_secret)
    notify_hook: str = ""  # global callback used when a request names none
    notify_timeout_seconds: float = Field(10.0, gt=0)
    max_body_bytes: int = Field(25 * 1024 * 1024, gt=0)
    # Browser front ends on other origins that may call the API (CORS); empty = none (same origin only).
    # Exact origins such as "https://app.example.com", or "*" for any (credentials travel in headers, not cookies).
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.match(r"^https?://[^/\s]+/?$", origin, re.IGNORECASE):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path) or \"*\"")
        return [origin.rstrip("/") for origin in value]


class StorageSettings(_Section):
    # sqlite+aiosqlite:///path (the default, one node) or postgresql+asyncpg://user:password@host:port/db.
    database_url: str = "sqlite+aiosqlite:///data/mjproxy.db"
    data_dir: str = "data"
    # PostgreSQL only (store/postgres.py): the connection pool and the per-statement time limit.
    pool_size: int = Field(10, ge=1, le=1000)
    pool_max_overflow: int = Field(10, ge=0, le=1000)
    pool_timeout_seconds: float = Field(30.0, gt=0)  # waiting for a free connection
    statement_timeout_seconds: float = Field(30.0, ge=0)  # 0 = no limit
    connect_timeout_seconds: float = Field(10.0, gt=0)
    reconnect_seconds: float = Field(15.0, ge=0)  # keep retrying an unreachable database this long


class DiscordSettings(_Section):
    api_base: str = "https://discord.com"
    gateway_url: str = "wss://gateway.discord.gg"
    cdn_base: str = ""  # rewrite https://cdn.discordapp.com in image URLs to this base when set
    api_version: int = Field(9, ge=6, le=10)
    compress: bool = True
    activity_base: str = "https://936929561302675456.discordsays.com"  # Vary (Region) editor backend
    sync_on_connect: bool = True  # read /info and /settings when an account connects

    @field_validator("api_base", "gateway_url", "cdn_base", "activity_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class AccountSettings(_Section):
    name: str = ""
    guild_id: str
    channel_id: str
    user_token: str
    user_agent: str = DEFAULT_USER_AGENT
    core_size: int = Field(3, ge=1, le=50)
    queue_size: int = Field(10, ge=0, le=1000)
    timeout_minutes: float = Field(5, gt=0)
    enabled: bool = True
    weight: int = Field(1, ge=0)
    remark: str = ""
    modes: list[SpeedModeName] = Field(default_factory=lambda: list(ALL_MODES))
    daily_limit: int = Field(0, ge=0)  # jobs per UTC day, 0 = unlimited
    min_interval_seconds: float = Field(0.0, ge=0)  # humane pacing between interactions
    jitter_seconds: float = Field(0.0, ge=0)
    remix_auto_submit: bool = False
    fast_exhausted_policy: Literal["relax", "remove"] = "relax"
    fast_hours_threshold: float = Field(0.2, ge=0)

    @field_validator("guild_id", "channel_id")
    @classmethod
    def _snowflake(cls, value: str) -> str:
        value = str(value).strip()
        if not value.isdigit():
            raise ValueError("must be a Discord id (digits only)")
        return value

    @field_validator("user_token")
    @classmethod
    def _token(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _default_name(self) -> AccountSettings:
        if not self.name:
            self.name = self.channel_id
        return self


class EngineSettings(_Section):
    selection_rule: Literal["best_wait_idle", "round_robin", "weighted_random", "fill"] = "best_wait_idle"
    timeout_sweep_seconds: float = Field(5.0, gt=0)
    banned_words: list[str] = Field(default_factory=list)
    max_prompt_length: int = Field(4000, ge=1)


class SandboxSettings(_Section):
    """The built-in emulator, started when no account is configured."""

    enabled: Literal["auto", "always", "never"] = "auto"
    port: int = Field(0, ge=0, le=65535)
    job_duration_seconds: float = Field(6.0, ge=0)


class UseapiSettings(_Section):
    """The useapi.net jobs dialect under /v2 (docs/useapi.md)."""

    # How long a submit waits for Midjourney's first answer (started, moderated, "Job queued") before it
    # answers 200 with the job still "created".
    submit_wait_seconds: float = Field(15.0, ge=0)
    # blendUrls are downloaded by mjproxy before the blend is sent
    fetch_timeout_seconds: float = Field(20.0, gt=0)


class StreamSettings(_Section):
    """Live task streams (SSE, README "Live streams")."""

    ping_seconds: float = Field(15.0, gt=0)  # a ": ping" comment keeps idle proxies from closing the stream
    queue_size: int = Field(256, ge=1)  # events waiting for one subscriber; beyond that it is disconnected
    history_events: int = Field(64, ge=1)  # per task, for Last-Event-ID resume
    history_tasks: int = Field(10_000, ge=1)  # tasks whose recent events are kept (least recently changed go)
    recent_events: int = Field(4096, ge=1)  # the all-tasks stream's resume window
    send_timeout_seconds: float = Field(30.0, gt=0)  # a reader that takes no bytes for this long is dropped


class OpenAITranslationSettings(_Section):
    base_url: str = "https://api.openai.com/v1"  # any OpenAI-compatible gateway: .../v1
    api_key: str = ""
    model: str = "gpt-4o-mini"


class DeepLTranslationSettings(_Section):
    api_key: str = ""
    base_url: str = ""  # empty: api-free.deepl.com for keys ending ":fx", else api.deepl.com


class BaiduTranslationSettings(_Section):
    app_id: str = ""
    secret: str = ""
    base_url: str = "https://fanyi-api.baidu.com"


class TranslationSettings(_Section):
    """Prompts with non-English words translated to English before submit (docs/translation.md)."""

    provider: Literal["none", "openai", "deepl", "baidu"] = "none"
    on_failure: Literal["fail", "untranslated"] = "fail"
    # false: only words with a letter outside ASCII are sent (Chinese, Japanese, accented Latin …);
    # true: every prompt's words go to the provider, which detects the language (a call per submit).
    translate_ascii: bool = False
    timeout_seconds: float = Field(10.0, gt=0)
    openai: OpenAITranslationSettings = Field(default_factory=OpenAITranslationSettings)
    deepl: DeepLTranslationSettings = Field(default_factory=DeepLTranslationSettings)
    baidu: BaiduTranslationSettings = Field(default_factory=BaiduTranslationSettings)

    @model_validator(mode="after")
    def _credentials(self) -> TranslationSettings:
        if self.provider == "deepl" and not self.deepl.api_key:
            raise ValueError('translation.deepl.api_key is required when translation.provider = "deepl"')
        if self.provider == "baidu" and not (self.baidu.app_id and self.baidu.secret):
            raise ValueError('translation.baidu.app_id and .secret are required when translation.provider = "baidu"')
        return self

    def secrets(self) -> list[str]:
        return [self.openai.api_key, self.deepl.api_key, self.baidu.secret]


class MetricsSettings(_Section):
    """GET /metrics (Prometheus). Admin-only unless public: metrics name accounts and their health."""

    public: bool = False


class LoggingSettings(_Section):
    level: str = "INFO"
    format: Literal["text", "json"] = "text"  # json: one object per line, for log collectors


class WebhookSettings(_Section):
    """The durable callback outbox (docs/webhooks.md). The request timeout is server.notify_timeout_seconds."""

    secret: str = ""  # HMAC-SHA256 key of X-MJProxy-Signature; empty: callbacks are sent unsigned
    max_age_seconds: float = Field(24 * 3600, gt=0)  # retry an event this long, then mark it dead
    retry_base_seconds: float = Field(5.0, gt=0)  # first retry after ~this, doubling each time
    retry_max_seconds: float = Field(3600.0, gt=0)  # ceiling of one backoff step
    concurrency: int = Field(16, ge=1, le=1000)  # tasks whose callbacks are sent at the same time
    poll_seconds: float = Field(5.0, gt=0)  # safety net: re-scan the outbox at least this often
    keep_delivered_days: float = Field(7.0, gt=0)  # delivered events stay visible through the API this long


class ConfiguredKey(_Section):
    """An API key created from the configuration on start-up (``[[security.api_keys]]``).

    Give the key's SHA-256 (``sha256``, so the file holds no usable secret) or the key itself (``key``,
    ``mjp_…``). Once stored, the database wins: a key revoked at run time stays revoked.
    """

    name: str = ""
    scope: Literal["admin", "user"] = "user"
    key: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _one_of(self) -> ConfiguredKey:
        if bool(self.key) == bool(self.sha256):
            raise ValueError("give exactly one of key (mjp_…) or sha256 (its SHA-256 in hex)")
        if self.key and (not self.key.startswith("mjp_") or len(self.key) < 36):
            raise ValueError("key must start with mjp_ and carry at least 32 more characters "
                             "(make one with `mjproxy keys create`, or use sha256)")
        if self.sha256 and not re.fullmatch(r"[0-9a-f]{64}", self.sha256.lower()):
            raise ValueError("sha256 must be 64 hexadecimal characters")
        self.sha256 = self.sha256.lower()
        return self


class SecuritySettings(_Section):
    """API-key caching, Discord tokens at rest, and the guard on server-side fetches (docs/security.md)."""

    # A Fernet key (``mjproxy keys gen-encryption-key``); when set, Discord tokens are stored encrypted.
    encryption_key: str = ""
    # Networks (CIDR) and host names that server-side fetches may reach although they are private.
    fetch_allow: list[str] = Field(default_factory=list)
    fetch_timeout_seconds: float = Field(10.0, gt=0)
    fetch_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    fetch_max_redirects: int = Field(5, ge=0, le=20)
    # How long another process's key revocation (the CLI) may take to reach this server.
    key_cache_seconds: float = Field(5.0, gt=0)
    api_keys: list[ConfiguredKey] = Field(default_factory=list)

    @field_validator("encryption_key")
    @classmethod
    def _fernet_key(cls, value: str) -> str:
        value = value.strip()
        if value:
            from cryptography.fernet import Fernet

            try:
                Fernet(value.encode())
            except ValueError:
                raise ValueError("must be a Fernet key (32 url-safe base64-encoded bytes); "
                                 "create one with `mjproxy keys gen-encryption-key`") from None
        return value

    @field_validator("fetch_allow")
    @classmethod
    def _allow_entries(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not a network in CIDR form") from None
            elif not entry.strip():
                raise ValueError("entries must not be empty")
        return [entry.strip() for entry in value]


class S3Settings(_Section):
    """S3-compatible object storage for re-hosted images (AWS, MinIO, R2, …); see docs/images.md."""

    bucket: str = ""
    prefix: str = ""  # key prefix inside the bucket, e.g. "mjproxy/"
    endpoint_url: str = ""  # empty = AWS; set for MinIO, R2, moto…
    region: str = "us-east-1"
    access_key_id: str = ""  # empty = the default boto3 credential chain (env, profile, instance role)
    secret_access_key: str = ""
    public_base_url: str = ""  # objects are public under this base (a CDN); empty = presigned links
    presign_seconds: int = Field(7 * 24 * 3600, ge=1, le=7 * 24 * 3600)
    acl: str = ""  # canned ACL for new objects, e.g. "public-read"; empty = the bucket's policy decides
    addressing_style: Literal["auto", "path", "virtual"] = "auto"

    @field_validator("public_base_url", "endpoint_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class ImagesSettings(_Section):
    """Re-hosting of result images: download, split the grid, thumbnail, store (docs/images.md)."""

    rehost: bool = True  # False: imageUrl stays the Discord link (rewritten by discord.cdn_base)
    backend: Literal["local", "s3"] = "local"
    local_dir: str = ""  # default: <storage.data_dir>/images
    public_base_url: str = ""  # how clients reach this server, e.g. https://mj.example.com; default host:port
    split_grids: bool = True
    split_format: Literal["webp", "png"] = "webp"  # both lossless; webp is ~2.5x faster to encode
    thumbnail_size: int = Field(256, ge=16, le=2048)  # longest side of the WebP thumbnails, pixels
    thumbnail_quality: int = Field(80, ge=1, le=100)
    store_previews: bool = False  # also re-host the progress previews
    max_bytes: int = Field(50 * 1024 * 1024, gt=0)
    download_timeout_seconds: float = Field(30.0, gt=0)
    download_attempts: int = Field(4, ge=1, le=20)
    retry_backoff_seconds: float = Field(1.0, ge=0)  # doubles after every failed attempt
    retention_days: float = Field(0, ge=0)  # 0 = keep forever
    cleanup_interval_seconds: float = Field(3600.0, gt=0)
    s3: S3Settings = Field(default_factory=S3Settings)

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> ImagesSettings:
        if self.rehost and self.backend == "s3" and not self.s3.bucket:
            raise ValueError("images.s3.bucket is required when images.backend = \"s3\"")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MJPROXY_", env_nested_delimiter="__", extra="forbid")

    server: ServerSettings = Field(default_factory=ServerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    accounts: list[AccountSettings] = Field(default_factory=list)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    useapi: UseapiSettings = Field(default_factory=UseapiSettings)
    streams: StreamSettings = Field(default_factory=StreamSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    images: ImagesSettings = Field(default_factory=ImagesSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    translation: TranslationSettings = Field(default_factory=TranslationSettings)

    @model_validator(mode="after")
    def _unique_channels(self) -> Settings:
        seen: set[str] = set()
        for index, account in enumerate(self.accounts):
            if account.channel_id in seen:
                raise ValueError(f"accounts.{index}.channel_id {account.channel_id} is used twice")
            seen.add(account.channel_id)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML file named by ``MJPROXY_CONFIG`` (set by the CLI's ``--config``)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = _config_path.get() or os.environ.get("MJPROXY_CONFIG")
        if not path:
            return {}
        return _read_toml(Path(path))


# The file named by load_settings(); a context variable so that loading never mutates os.environ.
_config_path: ContextVar[str | None] = ContextVar("mjproxy_config_path", default=None)


class ConfigError(Exception):
    """A configuration problem, phrased for the operator: one line naming the key."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration, turning any problem into a single clear ConfigError."""
    token = _config_path.set(str(config_path) if config_path is not None else None)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except ValueError as exc:  # raised by env parsing of complex values
        raise ConfigError(f"invalid configuration: {exc}") from None
    finally:
        _config_path.reset(token)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(root)"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}")
    return "invalid configuration: " + "; ".join(problems)

