"""commune-bot: a Telegram bot for a Vietnamese commune's news portal."""
