"""The re-check policy applied to documents lives in storage.schedule (it reads and writes tables)."""

from storage.schedule import document_policy, override_settings, schedule_next

__all__ = ["document_policy", "override_settings", "schedule_next"]
