"""Translation providers for prompts (engine/translation.py says when and how they are used).

Each speaks one public wire format: any OpenAI-compatible chat completions endpoint (so any LLM
gateway works), DeepL's API v2, and Baidu's general translation API. ``translator_from_settings``
builds the configured one; none is imported unless configured.
"""

from .factory import translator_from_settings

__all__ = ["translator_from_settings"]
