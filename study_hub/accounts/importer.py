"""Member import from CSV or XLSX: one row per member (name, login, unit, role[, password]).

Every row is checked on its own; a bad row is reported with its number and reason and the rest still
import. Rows without a password get a random one-time password, returned in the report so the organiser
can hand it over (it is stored only as a hash); its first sign-in must replace it.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from study_hub.accounts.service import ROLES, AccountError, AccountService, Principal
from study_hub.errors import StudyHubError
from study_hub.ingest.encoding import decode_bytes

# Header names accepted for each column (English or Chinese, as organisers write them).
COLUMNS = {
    "name": ("name", "display_name", "姓名"),
    "login": ("login", "username", "账号", "登录名"),
    "unit": ("unit", "units", "组织", "单位", "所在组织"),
    "role": ("role", "角色"),
    "password": ("password", "密码"),
}
ROLE_ALIASES = {"管理员": "admin", "组织员": "organiser", "organizer": "organiser", "党员": "member",
                "成员": "member", "": "member"}


@dataclass
class ImportReport:
    added: list[tuple[str, str | None]] = field(default_factory=list)  # (login, one-time password if generated)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row number as in the file, reason)


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (any of UTF-8, GB18030) or XLSX file, keyed by the canonical column names."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).active
        table = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() == ".csv":
        text, _ = decode_bytes(path.read_bytes())
        table = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise StudyHubError(f"{path.name}: import reads .csv or .xlsx files")
    if not table:
        raise StudyHubError(f"{path.name}: the file is empty")
    header = [h.strip().lower() for h in table[0]]
    where: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        for index, title in enumerate(header):
            if title in aliases:
                where[name] = index
    missing = [name for name in ("name", "login", "unit") if name not in where]
    if missing:
        raise StudyHubError(f"{path.name}: the header lacks {', '.join(missing)} "
                            f"(expected columns: name, login, unit, role, password)")
    return [{name: (row[index] if index < len(row) else "") for name, index in where.items()} for row in table[1:]]


def import_members(accounts: AccountService, rows: list[dict[str, str]], actor: Principal | None = None,
                   first_row: int = 2) -> ImportReport:
    report = ImportReport()
    seen: set[str] = set()
    for number, row in enumerate(rows, first_row):
        if not any(row.values()):
            continue  # blank line
        login = row.get("login", "").strip()
        role = ROLE_ALIASES.get(row.get("role", "").strip(), row.get("role", "").strip().lower())
        problem = None
        if login in seen:
            problem = f"login {login!r} appears twice in the file"
        elif role not in ROLES:
            problem = f"role {row.get('role')!r} is not one of {', '.join(ROLES)}"
        elif actor is not None and not actor.is_admin and role == "admin":
            problem = "only an admin can import admins"
        if problem:
            report.rejected.append((number, problem))
            continue
        seen.add(login)
        password = row.get("password", "").strip()
        generated = None if password else secrets.token_urlsafe(12)
        units = [u.strip() for u in row.get("unit", "").replace("；", ";").split(";") if u.strip()]
        try:
            if not units:
                raise AccountError("no unit given")
            if actor is not None and not actor.is_admin:
                for unit_path in units:  # an organiser imports only into the units they manage
                    if not actor.manages(accounts.unit_by_path(unit_path).path):
                        raise AccountError(f"{unit_path!r} is not a unit you manage")
            accounts.add_user(login, row.get("name", ""), password or generated, role, units, actor=actor,
                              one_time=generated is not None)
        except StudyHubError as exc:
            report.rejected.append((number, str(exc)))
            continue
        report.added.append((login, generated))
    accounts.audit("members_imported", actor.id if actor else None, "import",
                   {"added": len(report.added), "rejected": len(report.rejected)})
    return report
