"""Every tunable of the emulator in one pydantic model. All knobs have defaults; tests mutate them at run time."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Profile = Literal["legacy", "modern"]


class EmulatorConfig(BaseModel):
    # validate_assignment: tests flip knobs on a live emulator; typos in values should fail loudly.
    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    # --- gateway -----------------------------------------------------------------------------------
    heartbeat_interval_ms: int = Field(41250, ge=10)
    # Discord closes after ~1.5x interval without a heartbeat; we stay generous (erictik's JS client
    # beats late), hence the extra absolute grace on top of the factor.
    heartbeat_timeout_factor: float = 1.5
    heartbeat_grace_ms: int = 1000
    session_resume_ttl_s: float = 120.0
    replay_buffer_size: int = Field(1000, ge=1)
    gateway_rate_limit: int = 120  # client payloads per 60 s per connection; 0 disables (close 4008)
    strict_session_routing: bool = False  # INTERACTION_* dropped when session_id matches no session

    # --- REST / interactions -----------------------------------------------------------------------
    strict_command_versions: bool = False
    interaction_ack_timeout_s: float = 3.0
    never_ack_triggers: list[str] = Field(default_factory=list)  # prompt/custom_id substrings the bot ignores
    rate_limit_headers: bool = True

    # --- CDN ---------------------------------------------------------------------------------------
    link_ttl_seconds: int = 24 * 3600
    cdn_base_url: str | None = None  # default: the emulator's own base_url
    media_base_url: str | None = None  # host of proxy_url; default: same as cdn
    upload_base_url: str | None = None  # host of upload slots; default: the emulator itself
    require_signed_urls: bool = False  # unsigned CDN paths are served unless this is set

    # --- Midjourney bot: message profile (midjourney-bot.md §16) -------------------------------------
    profile: Profile = "legacy"
    final_nonce: bool | None = None  # None = follow profile
    final_interaction_metadata: bool | None = None
    website_suffix: bool | None = None
    trailer: bool | None = None
    start_message_type: int = 0  # 0 (2023 capture, webhook) or 20 (modern, unverified)
    final_message_type: int = 0
    interaction_success_after_message: bool = False

    # --- prompts -----------------------------------------------------------------------------------
    rewrite_prompts: bool = True
    suffix: str = ""  # appended by "MJ" to every prompt, e.g. " --v 6.1"

    # --- job timing --------------------------------------------------------------------------------
    job_duration_s: float = Field(6.0, ge=0)  # 0 = all steps back-to-back without sleeping
    progress_steps: list[int] = Field(default_factory=lambda: [0, 15, 31, 46, 62, 78, 93])
    preview_from_percent: int = 15

    # --- concurrency (§3, §17) ---------------------------------------------------------------------
    concurrency: int = Field(3, ge=1)
    queue_size: int = Field(10, ge=0)
    queued_start_message_nonce: bool = False  # the later start message of a queued job carries the nonce
    queued_notice_ephemeral: bool = False

    # --- error fixtures (§17) ----------------------------------------------------------------------
    banned_words: list[str] = Field(default_factory=lambda: ["bannedword", "gore"])
    trigger_embeds: dict[str, str] = Field(default_factory=dict)  # prompt phrase -> embed kind (content.EMBEDS)
    error_embeds_ephemeral: bool = True
    notice_message_type: int = 20  # error/queue notices are CHAT_INPUT_COMMAND replies (§17)

    # --- images ------------------------------------------------------------------------------------
    grid_size: int = Field(1024, ge=64, le=4096)
    preview_size: int = Field(256, ge=16, le=1024)
