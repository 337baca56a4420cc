"""Storage layer: the SQLite database and its tables; knows nothing of Telegram."""

from storage.audit import AuditEntry, AuditLog
from storage.db import BackupError, Database, DatabaseUnusable, backup_file
from storage.migrate import Migration, MigrationError, apply_migrations, bundled_migrations
from storage.polls import PollStore
from storage.staff import StaffMember, StaffStore
from storage.stats import InteractionLog
from storage.subscriptions import Subscription, SubscriptionStore
from storage.users import UserStore

__all__ = [
    "AuditEntry",
    "AuditLog",
    "BackupError",
    "Database",
    "DatabaseUnusable",
    "InteractionLog",
    "Migration",
    "MigrationError",
    "PollStore",
    "StaffMember",
    "StaffStore",
    "Subscription",
    "SubscriptionStore",
    "UserStore",
    "apply_migrations",
    "backup_file",
    "bundled_migrations",
]
