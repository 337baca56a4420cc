"""The bot's services: what it does, apart from any front end (Telegram today, Zalo next).

A front end parses what a person sent, calls a service, and shows the view it gets back. No
module here imports python-telegram-bot or a handler (tests/test_imports.py checks it).
"""

from bot.services.announcements import Announcements
from bot.services.dialogs import Dialogs
from bot.services.roles import Roles

__all__ = ["Announcements", "Dialogs", "Roles"]
