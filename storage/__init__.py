"""Storage layer: the SQLite database and its tables; knows nothing of Telegram."""

from storage.db import Database, backup_file
from storage.migrate import Migration, MigrationError, apply_migrations, bundled_migrations
from storage.polls import PollStore
from storage.stats import InteractionLog
from storage.subscriptions import Subscription, SubscriptionStore
from storage.users import UserStore

__all__ = [
    "Database",
    "InteractionLog",
    "Migration",
    "MigrationError",
    "PollStore",
    "Subscription",
    "SubscriptionStore",
    "UserStore",
    "apply_migrations",
    "backup_file",
    "bundled_migrations",
]
