"""Stand-ins for Telegram's Bot API and a commune website, on loopback: the tests and the demo."""
