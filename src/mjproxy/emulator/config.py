"""Every tunable of the emulator in one pydantic model. All knobs have defaults; tests mutate them at run time."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .chaos import ChaosConfig

Profile = Literal["legacy", "modern"]
VariationLabel = Literal["strong", "subtle", "plain"]


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
    # Faults: the next N attachment downloads fail with cdn_fail_status (counted down as they happen);
    # cdn_fail_always makes every download fail. Uploads and the bot's own reads are not affected.
    cdn_failures: int = Field(0, ge=0)
    cdn_fail_always: bool = False
    cdn_fail_status: int = Field(503, ge=400, le=599)

    # --- Midjourney bot: message profile (midjourney-bot.md §16) -------------------------------------
    profile: Profile = "legacy"
    final_nonce: bool | None = None  # None = follow profile
    final_interaction_metadata: bool | None = None
    website_suffix: bool | None = None
    trailer: bool | None = None
    start_message_type: int = 0  # 0 (2023 capture, webhook) or 20 (modern, unverified)
    final_message_type: int = 0
    interaction_success_after_message: bool = False
    deferred_update_delay_s: float = Field(0.05, ge=0)  # placeholder CREATE -> its MESSAGE_UPDATE (info, settings…)

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

    # --- grid / SOLO actions (midjourney-bot.md §6.2–6.10, §11) --------------------------------------
    # V1–V4 content: `Variations (Strong) by` / `Variations (Subtle) by` / `Variations by` (unverified mapping);
    # a user's /settings High/Low Variation Mode overrides it.
    variation_label: VariationLabel = "strong"
    # U1–U4: "image" = v5+ instant `**P** - Image #i <@U>`; "upscaled" = 2023 form with a nonce-bearing
    # `Upscaling image #i with **P** - <@U> (Waiting to start)` message first, then `**P** - Upscaled by <@U> (MODE)`.
    upscale_style: Literal["image", "upscaled"] = "image"
    # Which upsample_* ids the SOLO set carries; "auto" follows --v in the prompt (default v6r1).
    upscale_model: Literal["auto", "v5", "v6", "v6r1", "v7"] = "auto"
    web_button: bool = False  # style-5 "Web" link button on SOLO sets (§11.2)
    restyle_clicked: bool = True  # clicked U/V/SOLO button turns style 1 via MESSAGE_UPDATE (§11.1)
    custom_zoom_prefill: str = " --zoom 2"  # appended to P in the Custom Zoom modal (unverified)
    strict_message_flags: bool = False  # clicks on ephemeral messages need message_flags 64 (else 400 50035)
    # A click whose application_id is not the bot that authored the message: 400 50035 when strict, else it
    # is routed to the message's bot (e.g. a niji grid clicked with the MJ application id).
    strict_component_application: bool = False

    # --- Vary (Region) (§4.4, §6.10) ---------------------------------------------------------------
    inpaint_enabled: bool = True  # False: the click gets INTERACTION_FAILURE
    activity_base_url: str | None = None  # host of /inpaint/api/submit-job; default: the emulator's base_url
    inpaint_require_same_size: bool = True  # the mask must have the source image's size
    inpaint_interaction_metadata: bool = True  # job messages carry the click's interaction_metadata
    inpaint_message_reference: bool = True  # job messages reply to the upscale message

    # --- describe / shorten / blend / links (§6.11–6.13, §15) ------------------------------------------
    describe_ephemeral: bool = False  # placeholder flags 192 -> 64 instead of public (era-dependent)
    describe_link_invalid_substrings: list[str] = Field(default_factory=lambda: ["invalid-link", "expired-link"])
    unreachable_link_substrings: list[str] = Field(default_factory=lambda: ["unreachable"])  # imagine image URLs
    shorten_headings: Literal["caps", "markdown"] = "caps"
    blend_prompt_form: Literal["links", "empty", "params"] = "links"

    # --- account (/info, /settings, §13, §14) ------------------------------------------------------
    default_version: str = "6.1"  # shown as the current model in /settings until the user picks one
    info_subscription: str = "Pro (Active monthly, renews next on <t:{renews}>)"
    fast_hours_total: float = 30.0
    fast_hours_used_initial: float = 0.426  # -> "29.57/30.0 hours (98.58%)" for a fresh user
    fast_hours_per_job: float = Field(0.0167, ge=0)  # turbo costs double, relax nothing

    # --- seed DM (§6.18) ---------------------------------------------------------------------------
    seed_on_guild_reaction: bool = True  # ✉️ on the original guild job message also sends the seed DM

    # --- other bots (§1) ---------------------------------------------------------------------------
    niji_suffix: str = "--niji 6"  # appended by the niji bot to every prompt
    # Bots listed by the application-command-index routes (None = MJ, niji and InsightFace). A client that
    # caches commands by name only (erictik) wants just the MJ bot here.
    index_applications: list[str] | None = None

    # --- random faults for soak tests (chaos.py); all probabilities 0 = off ---------------------------
    chaos: ChaosConfig = Field(default_factory=ChaosConfig)
