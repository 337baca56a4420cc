"""Storage layer: the SQLite database and its tables; knows nothing of Telegram."""

from storage.audit import AuditEntry, AuditLog
from storage.channels import DEFAULT_CHANNEL
from storage.db import BackupError, Database, DatabaseUnusable, backup_file
from storage.migrate import Migration, MigrationError, apply_migrations, bundled_migrations
from storage.polls import PollStore
from storage.searches import SearchStore
from storage.staff import StaffMember, StaffStore
from storage.stats import InteractionLog
from storage.subscriptions import Subscription, SubscriptionStore
from storage.users import UserStore

__all__ = [
    "DEFAULT_CHANNEL",
    "AuditEntry",
    "AuditLog",
    "BackupError",
    "Database",
    "DatabaseUnusable",
    "InteractionLog",
    "Migration",
    "MigrationError",
    "PollStore",
    "SearchStore",
    "StaffMember",
    "StaffStore",
    "Subscription",
    "SubscriptionStore",
    "UserStore",
    "apply_migrations",
    "backup_file",
    "bundled_migrations",
]
