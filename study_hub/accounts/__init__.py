"""Users, organisation units, sign-in sessions and the audit log (over the store)."""

from study_hub.accounts.service import (
    ROLES,
    UNIT_KINDS,
    AccountError,
    AccountService,
    LoginFailed,
    LoginThrottled,
    Principal,
)

__all__ = ["ROLES", "UNIT_KINDS", "AccountError", "AccountService", "LoginFailed", "LoginThrottled", "Principal"]
