"""The messengers a chat or a person can be on: every such id is stored with its channel."""

from __future__ import annotations

__all__ = ["DEFAULT_CHANNEL"]

# Rows written before channels existed, and callers that name none, are Telegram's (see
# migration 0016); a second front end (Zalo) passes its own name.
DEFAULT_CHANNEL = "telegram"
