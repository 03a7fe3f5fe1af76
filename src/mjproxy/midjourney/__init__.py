"""The Midjourney bot's protocol on top of the generic Discord client."""
