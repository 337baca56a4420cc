"""The Zalo front end: the commune's Official Account, over the same services as Telegram.

`messages` holds the values the parts share (an event from the webhook, a message to send);
see docs/architecture.md, "Adding a front end".
"""
