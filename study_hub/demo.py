"""``study-hub demo``: the district's programme ready to show, on real documents, through the real services.

What it makes, in an empty database (``force`` adds it to one that has users):

- the shipped corpus ingested, if the store has no documents yet (the ingest path every command uses), and the
  keyword index built here (a keyword-only index job: the reading list is drafted by searching it); search by
  meaning is queued for the job worker that ``study-hub serve`` starts;
- the organisation of the district's special action for Party building and grassroots governance (党建引领基层
  治理能力提升专项行动): 区委 → 专项行动办公室 with five working groups and three steering groups, and the line
  down to one branch: 街道党工委 → 社区党委 → 党支部;
- a dozen accounts with random one-time passwords (each must be replaced at the first sign-in): an admin,
  organisers of the office, the community and the branch, members of the groups and the branch;
- a reading list drafted from the topic "党建引领基层治理" by the draft feature (the best passages of its central
  and provincial documents), assigned to the branch, with some members' progress and a shared note;
- a past 支部党员大会 with its 主持人 and 记录人, check-ins (one late), leave approved with its reason, an absence
  marked with its reason, minutes, and a make-up study submitted and confirmed; and an upcoming 党课 on the list.

Everything goes through the services the site uses (accounts, reading lists, sessions with their own clock set
to the past meeting's hours, notes), so the demo shows what those rules produce, and breaks when they do.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.errors import StudyHubError
from study_hub.pipeline import ingest_paths
from study_hub.store import DocumentStore
from study_hub.study.notes import NoteService
from study_hub.study.reading_lists import ReadingListService
from study_hub.study.records import current_quarter
from study_hub.study.sessions import SessionService

TOPIC = "党建引领基层治理"
DISTRICT = "迎泽区委"
OFFICE = f"{DISTRICT}/专项行动办公室"
WORKING_GROUPS = ("综合协调组", "无物业小区治理组", "社区网格化管理组", "街道综合执法改革组", "村级集体经济发展组")
STEERING_GROUPS = ("第一督导检查组", "第二督导检查组", "第三督导检查组")
STREET = f"{DISTRICT}/桥东街道党工委"
COMMUNITY = f"{STREET}/五一社区党委"
BRANCH = f"{COMMUNITY}/第一党支部"

# login, name, role, unit, what they do in the demo
PEOPLE = (
    ("wangjianguo", "王建国", "admin", DISTRICT, "区委组织部，系统管理员"),
    ("zhaoli", "赵丽", "organiser", OFFICE, "专项行动办公室主任"),
    ("sunhao", "孙浩", "member", f"{OFFICE}/综合协调组", "综合协调组组员"),
    ("zhoujing", "周静", "member", f"{OFFICE}/第一督导检查组", "第一督导检查组组员"),
    ("liuyang", "刘洋", "organiser", COMMUNITY, "五一社区党委书记"),
    ("chenhong", "陈红", "organiser", BRANCH, "第一党支部书记，会议主持人"),
    ("lina", "李娜", "member", BRANCH, "支部组织委员，会议记录人"),
    ("zhangwei", "张伟", "member", BRANCH, "党员，按时到会"),
    ("wangfang", "王芳", "member", BRANCH, "党员，按时到会"),
    ("yangfan", "杨帆", "member", BRANCH, "党员，迟到"),
    ("huangmin", "黄敏", "member", BRANCH, "党员，请假后补学"),
    ("wuqiang", "吴强", "member", BRANCH, "党员，缺席"),
)
PRESIDER, RECORDER, LATE, ON_LEAVE, ABSENT = "chenhong", "lina", "yangfan", "huangmin", "wuqiang"
LEAVE_REASON = "参加区委组织部社区工作者集中培训"
ABSENCE_REASON = "外出务工，会前会后均未联系上"
MINUTES = """一、陈红同志领学党建引领基层治理的有关文件原文，逐段讲解“党建引领”“网格化管理”“接诉即办”等要求。
二、张伟、王芳、杨帆同志结合五一社区无物业小区治理交流发言：楼院党小组牵头成立居民自管会，议定楼道清理和停车管理办法。
三、会议研究确定：本支部党员每人联系一个楼院，参与网格巡查；下月组织一次无物业小区议事会。
四、黄敏同志请假，会后按学习清单补学；吴强同志缺席，由组织委员负责联系并督促补学。"""
REFLECTION = ("补学了学习清单上的全部篇目。党建引领基层治理，关键是把支部建在网格上、把党员带到楼院里。"
              "我将结合社区工作者培训所学，参与无物业小区的议事协商。")


class DemoRefused(StudyHubError):
    pass


@dataclass
class DemoAccount:
    login: str
    name: str
    role: str
    unit: str
    duty: str
    password: str
    existed: bool = False  # an account of an earlier demo (--force): it got a new one-time password


@dataclass
class DemoReport:
    documents_ingested: int = 0
    documents: int = 0
    passages: int = 0
    index_job: str = ""
    meaning_job: int | None = None
    units: list[str] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)
    branch_id: int = 0
    list_id: int = 0
    list_title: str = ""
    list_items: list[str] = field(default_factory=list)
    past_session: int = 0
    past_title: str = ""
    past_starts: datetime | None = None
    past_figures: str = ""
    upcoming_session: int = 0
    upcoming_title: str = ""
    upcoming_starts: datetime | None = None
    period: str = ""


def password() -> str:
    """A one-time password: 16 characters from 96 random bits (no lookalike-free alphabet needed: it is pasted)."""
    return secrets.token_urlsafe(12)


def run_demo(settings: Settings, store: DocumentStore, force: bool = False,
             echo: Callable[[str], None] = print, progress=None) -> DemoReport:
    accounts = AccountService(store, settings.session_hours)
    users = accounts.user_count()
    if users and not force:
        raise DemoRefused(f"the database already has {users} user{'' if users == 1 else 's'}: the demo fills an "
                          "empty one. `study-hub demo --force` adds its organisation and accounts anyway "
                          "(accounts of an earlier demo get new one-time passwords)")
    report = DemoReport()
    _corpus(settings, store, report, echo, progress)
    _organisation(accounts, report)
    _accounts(accounts, report)
    _study(settings, store, accounts, report)
    return report


def _corpus(settings: Settings, store: DocumentStore, report: DemoReport, echo, progress) -> None:
    from study_hub.jobs.indexing import IndexService
    from study_hub.jobs.queue import JobQueue
    from study_hub.jobs.worker import index_service

    documents, _ = store.counts()
    if not documents:
        echo(f"ingesting the shipped corpus from {settings.corpus_dir} …")
        ingested = ingest_paths([settings.corpus_dir], store, settings, progress=progress)
        if not ingested.documents:
            raise DemoRefused(f"no documents in {settings.corpus_dir}: the demo needs the shipped corpus")
        report.documents_ingested = ingested.documents
    report.documents, report.passages = store.counts()
    # The reading list is drafted by searching: the keyword pass now (seconds), as a job like any other.
    job = IndexService(settings, store).request_and_run("update", "demo", "the demo drafts a reading list")
    if job is None or job.state != "done":
        raise DemoRefused(f"the keyword index could not be built: {job.message if job else 'the job vanished'}")
    report.index_job = f"{job.id}: {job.message}"
    if settings.semantic:  # the vectors are the job worker's (minutes on a CPU): queued, `serve` starts it
        report.meaning_job = index_service(settings, store, JobQueue(settings)).request(
            "update", "demo", "search by meaning over the demo's corpus")


def _unit(accounts: AccountService, path: str, kind: str, report: DemoReport) -> None:
    from study_hub.errors import NotFoundError

    try:
        accounts.unit_by_path(path)
    except NotFoundError:
        parent, _, name = path.rpartition("/")
        accounts.add_unit(name, kind, parent or None)
        report.units.append(path)


def _organisation(accounts: AccountService, report: DemoReport) -> None:
    _unit(accounts, DISTRICT, "district_committee", report)
    _unit(accounts, OFFICE, "office", report)
    for name in WORKING_GROUPS:
        _unit(accounts, f"{OFFICE}/{name}", "working_group", report)
    for name in STEERING_GROUPS:
        _unit(accounts, f"{OFFICE}/{name}", "steering_group", report)
    _unit(accounts, STREET, "street_committee", report)
    _unit(accounts, COMMUNITY, "community", report)
    _unit(accounts, BRANCH, "branch", report)
    report.branch_id = accounts.unit_by_path(BRANCH).id


def _accounts(accounts: AccountService, report: DemoReport) -> None:
    from study_hub.errors import NotFoundError

    for login, name, role, unit, duty in PEOPLE:
        secret = password()
        try:
            accounts.get_user(login)
        except NotFoundError:
            accounts.add_user(login, name, secret, role, [unit], one_time=True)
            report.accounts.append(DemoAccount(login, name, role, unit, duty, secret))
            continue
        accounts.set_password(login, secret, one_time=True)  # signs them out everywhere
        accounts.add_membership(login, unit)
        report.accounts.append(DemoAccount(login, name, role, unit, duty, secret, existed=True))


class _Clock:
    """The sessions' clock, walked through the past meeting: check-in windows and times are the meeting's own."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _study(settings: Settings, store: DocumentStore, accounts: AccountService, report: DemoReport) -> None:
    from study_hub.search.service import SearchService

    who = {login: accounts.principal(accounts.get_user(login)) for login, *_ in PEOPLE}
    search = SearchService(store, settings.indexes_dir, encoder=None)
    lists = ReadingListService(store, accounts, search)
    zone = settings.zone
    real_now = datetime.now(UTC)

    # The reading list: drafted from the topic; the best passage of the documents that answered it most, central
    # and provincial (the levels a district studies first), in the draft's order.
    proposals = [p for p in lists.draft(TOPIC) if p.level in ("central", "provincial") and p.passages]
    if not proposals:
        raise DemoRefused(f"the topic {TOPIC!r} found no central or provincial documents: is the corpus ingested?")
    chosen = [p for level, keep in (("central", 3), ("provincial", 2))
              for p in sorted((p for p in proposals if p.level == level), key=lambda p: -len(p.passages))[:keep]]
    chosen.sort(key=proposals.index)
    branch = report.branch_id
    reading = lists.create_from_draft(
        who[PRESIDER], f"{TOPIC}专题学习清单", f"按主题“{TOPIC}”起草：中央和省级文件中最相关的原文段落。", branch,
        [f"passage:{p.passages[0][0]}" for p in chosen])
    lists.assign(who[PRESIDER], reading.id, unit_ids=[branch])
    items = lists.get(who[PRESIDER], reading.id).items
    report.list_id, report.list_title = reading.id, reading.title
    report.list_items = [item.title for item in items]

    # The past 支部党员大会, two weeks ago at 14:30 local time, walked through with the sessions' own rules.
    day = (real_now.astimezone(zone) - timedelta(days=14)).date()
    starts = datetime.combine(day, time(14, 30), zone).astimezone(UTC)
    clock = _Clock(starts - timedelta(days=3))
    sessions = SessionService(store, accounts, clock=clock, zone=zone)
    past = sessions.create(
        who[PRESIDER], title="第一党支部党员大会：学习党建引领基层治理文件", kind="branch_meeting",
        starts_at=starts, ends_at=starts + timedelta(hours=2), host_unit_id=branch,
        place="五一社区党群服务中心二楼会议室",
        agenda="1. 领学党建引领基层治理有关文件原文\n2. 结合无物业小区治理交流发言\n3. 研究党员联系楼院工作",
        reading_list_id=reading.id, unit_ids=[branch], presider=PRESIDER, recorder=RECORDER)
    sessions.request_leave(who[ON_LEAVE], past.id, LEAVE_REASON)
    clock.now = starts - timedelta(days=2)
    sessions.decide_leave(who[PRESIDER], past.id, ON_LEAVE, approve=True)
    clock.now = starts - timedelta(minutes=10)
    _, code, _ = sessions.issue_token(who[PRESIDER], past.id)
    for login in (PRESIDER, RECORDER, "zhangwei", "wangfang"):
        sessions.check_in(who[login], past.id, code=code)
    clock.now = starts + timedelta(minutes=13)
    _, code, _ = sessions.issue_token(who[PRESIDER], past.id)
    sessions.check_in(who[LATE], past.id, code=code)
    clock.now = starts + timedelta(hours=1, minutes=50)
    sessions.mark(who[PRESIDER], past.id, ABSENT, "absent", ABSENCE_REASON)
    sessions.set_minutes(who[PRESIDER], past.id, MINUTES)
    clock.now = starts + timedelta(hours=2, minutes=10)
    sessions.close(who[PRESIDER], past.id)
    statuses = [record.status for _, record in sessions.records(who[PRESIDER], sessions.get(who[PRESIDER], past.id))]
    report.past_figures = (f"{len(statuses)} expected: {statuses.count('present')} on time, "
                           f"{statuses.count('late')} late, {statuses.count('excused')} on leave (made up), "
                           f"{statuses.count('absent')} absent")

    # Study evidence: the one on leave studies every item, then makes up; others are part of the way.
    for login, count in ((ON_LEAVE, len(items)), ("zhangwei", len(items)), ("wangfang", 3), (RECORDER, 2),
                         (LATE, 1)):
        for item in items[:count]:
            lists.record_open(who[login], item.id)
            lists.mark(who[login], item.id)
    clock.now = starts + timedelta(days=2, hours=-4)
    sessions.submit_makeup(who[ON_LEAVE], past.id, REFLECTION)
    clock.now = starts + timedelta(days=3)
    sessions.confirm_makeup(who[PRESIDER], past.id, ON_LEAVE)
    _note(store, accounts, who[PRESIDER], items[0].passage_id, branch)

    # The upcoming 党课, in five days at 15:00, on the same list.
    day = (real_now.astimezone(zone) + timedelta(days=5)).date()
    later = datetime.combine(day, time(15, 0), zone).astimezone(UTC)
    clock.now = real_now
    upcoming = sessions.create(
        who[PRESIDER], title="专题党课：以党建引领提升基层治理能力", kind="party_lecture", starts_at=later,
        ends_at=later + timedelta(hours=1, minutes=30), host_unit_id=branch, place="五一社区党群服务中心一楼报告厅",
        agenda="1. 支部书记陈红讲专题党课\n2. 党员谈学习体会", reading_list_id=reading.id, unit_ids=[branch],
        presider=PRESIDER, recorder=RECORDER)
    report.past_session, report.past_title, report.past_starts = past.id, past.title, starts
    report.upcoming_session, report.upcoming_title, report.upcoming_starts = upcoming.id, upcoming.title, later
    report.period = current_quarter(starts, zone)


def _note(store: DocumentStore, accounts: AccountService, author, passage_id: str | None, unit_id: int) -> None:
    """The branch secretary's note on the list's first passage, shared with the branch."""
    if not passage_id:
        return
    notes = NoteService(store, accounts)
    text = store.passages_by_id([passage_id])[passage_id][0].text
    at = next((text.find(w) for w in ("基层治理", "党建引领", "基层", "党") if w in text), 0)
    notes.create(author, passage_id, at, min(len(text), at + 20),
                 body="支部学习时重点领会这一段：把党的领导贯穿基层治理全过程，结合楼院党小组落实。",
                 tags=["三会一课", "基层治理"], visibility="unit", unit_id=unit_id)


def describe(report: DemoReport, base_url: str, zone) -> list[str]:
    """What the demo made, for the terminal: counts, the accounts with their one-time passwords, what to open."""
    lines = []
    if report.documents_ingested:
        lines.append(f"corpus: {report.documents_ingested} documents ingested; the store holds {report.documents} "
                     f"documents, {report.passages} passages")
    else:
        lines.append(f"corpus: the store already held {report.documents} documents, {report.passages} passages")
    lines.append(f"keyword index: job {report.index_job}")
    if report.meaning_job is not None:
        lines.append(f"search by meaning: job {report.meaning_job} queued for the job worker (`study-hub serve` "
                     "starts one; hybrid search joins in by itself)")
    lines.append(f"units created: {len(report.units)}" + "".join(f"\n  {path}" for path in report.units))
    lines.append("accounts — one-time passwords, shown only now; each must be replaced at the first sign-in:")
    width = max(len(a.login) for a in report.accounts)
    for a in report.accounts:
        lines.append(f"  {a.login:<{width}}  {a.password}  {a.role:<9}  {a.name}  {a.duty}"
                     + ("  (existing account: new one-time password)" if a.existed else ""))
    lines.append(f"reading list {report.list_id}: {report.list_title} ({len(report.list_items)} items drafted from "
                 f"the topic “{TOPIC}”)" + "".join(f"\n  {title}" for title in report.list_items))
    past = report.past_starts.astimezone(zone) if report.past_starts else None
    upcoming = report.upcoming_starts.astimezone(zone) if report.upcoming_starts else None
    lines.append(f"past session {report.past_session}: {report.past_title}, {past:%Y-%m-%d %H:%M} "
                 f"({report.past_figures}; minutes)")
    lines.append(f"upcoming session {report.upcoming_session}: {report.upcoming_title}, {upcoming:%Y-%m-%d %H:%M}")
    lines.append("open:")
    for label, path in (
            ("sign in (as chenhong, the branch secretary, to see everything)", "/login"),
            ("the past session", f"/sessions/{report.past_session}"),
            ("the upcoming session", f"/sessions/{report.upcoming_session}"),
            ("the reading list and its progress", f"/lists/{report.list_id}"),
            ("attendance statistics and the ledger form", f"/attendance?unit={report.branch_id}"),
            ("the record of the past session (PDF)", f"/api/sessions/{report.past_session}/record?format=pdf"),
            ("the branch's 三会一课 ledger (PDF)",
             f"/api/units/{report.branch_id}/ledger?period={report.period}&format=pdf"),
            ("search", f"/search?q={quote(TOPIC)}")):
        lines.append(f"  {label}: {base_url}{path}")
    return lines

