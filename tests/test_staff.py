"""Staff roles, staff command menus, refusals recorded, and the audit log, end to end."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.context import BotApplication, Services
from bot.menus import MENU_COMMANDS, OWNER_COMMANDS, STAFF_COMMANDS
from bot.standins.telegram import ApiCall, FakeTelegram, User
from storage import AuditLog, Database, StaffStore, UserStore
from tests.conftest import make_settings, settled

OWNER = 1001  # ADMIN_IDS of the conftest settings
RESIDENT = 5555123456  # long enough that no hex key or timestamp holds it by chance
NOT_STAFF = "Xin lỗi, lệnh này chỉ dành cho cán bộ xã."
OWNERS_ONLY = "Xin lỗi, lệnh này chỉ dành cho người quản lý bot."
HOW_TO = "gõ /start rồi /myid"
STAFF_MENU = [*MENU_COMMANDS, *STAFF_COMMANDS]
OWNER_MENU = [*STAFF_MENU, *OWNER_COMMANDS]
EVERY_STAFF_COMMAND = (
    "newpoll", "closepoll", "pollchart", "pollcsv", "staffstats", "senddigest", "sendpoll",
    "broadcast", "broadcasts", "cases", "casescsv", "addstaff", "removestaff", "staff", "audit",
)  # fmt: skip


def chat_scope(user_id: int) -> dict[str, Any]:
    return {"type": "chat", "chat_id": user_id}


def menus_of(telegram: FakeTelegram, user_id: int) -> dict[str, list[str]]:
    """The chat-scoped menus of a person's chat, by language code ("" for the fallback)."""
    return {
        lang: names
        for lang in ("", "vi", "en")
        if (names := telegram.menu(chat_scope(user_id), lang))
    }


def descriptions(telegram: FakeTelegram, user_id: int, lang: str) -> dict[str, str]:
    key = (json.dumps(chat_scope(user_id), sort_keys=True), lang)
    return {c["command"]: c["description"] for c in telegram.commands[key]}


def services(bot: BotApplication) -> Services:
    return bot.bot_data.services


async def audit_rows(bot: BotApplication) -> list[tuple[str | None, str, dict[str, Any]]]:
    """(actor, action, detail) of every audit entry, oldest first."""
    entries = await services(bot).audit.recent(1000)
    return [(e.actor, e.action, e.detail) for e in reversed(entries)]


async def command(telegram: FakeTelegram, user: User, text: str) -> str:
    """Send a command and return the text of the bot's first answer."""
    return str((await telegram.reply_to(user, text)).params["text"])


@pytest.fixture
def owner(telegram: FakeTelegram) -> User:
    return telegram.user(OWNER, "Chủ tịch")


@pytest.fixture
def resident(telegram: FakeTelegram) -> User:
    return telegram.user(RESIDENT, "Lan")


# -- adding, using, removing ------------------------------------------------------------------


async def test_an_owner_adds_staff_by_id_who_then_use_staff_commands_until_removed(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    an = telegram.user(2001, "An")
    assert await command(telegram, an, "/newpoll") == NOT_STAFF

    added = await command(telegram, owner, "/addstaff 2001")
    assert added.startswith("✅ Đã thêm An (ID <code>2001</code>) làm cán bộ.")
    member = await services(bot).staff.get(2001)
    assert member is not None
    assert (member.name, member.added_by) == ("An", OWNER)
    # Their private chat shows the residents' commands and the staff's, in every language.
    assert menus_of(telegram, 2001) == {"": STAFF_MENU, "vi": STAFF_MENU, "en": STAFF_MENU}
    assert descriptions(telegram, 2001, "vi")["newpoll"] == "Tạo cuộc thăm dò mới (cán bộ)"
    assert descriptions(telegram, 2001, "en")["newpoll"] == "Create a new poll (staff)"
    assert telegram.menu() == list(MENU_COMMANDS)  # residents' menu unchanged

    assert "Bước 1/3" in await command(telegram, an, "/newpoll")
    await command(telegram, an, "/cancel")
    stats = await command(telegram, an, "/staffstats")
    assert stats.startswith("📊 <b>Thống kê chi tiết</b>")

    removed = await command(telegram, owner, "/removestaff 2001")
    assert removed.startswith("Đã bỏ quyền cán bộ của An (ID <code>2001</code>).")
    assert await services(bot).staff.get(2001) is None
    assert menus_of(telegram, 2001) == {}
    assert telegram.calls_to("deleteMyCommands", scope=chat_scope(2001))
    for name in ("newpoll", "staffstats", "staff"):
        assert await command(telegram, an, f"/{name}") == NOT_STAFF

    rows = await audit_rows(bot)
    assert rows[1:3] == [
        ("1001", "staff_added", {"name": "An", "user_id": 2001}),
        ("1001", "staff_removed", {"name": "An", "user_id": 2001}),
    ]
    key = services(bot).stats.key_of(2001)
    assert rows[0] == (key, "refused", {"command": "newpoll", "role": "resident"})
    assert rows[-1] == (key, "refused", {"command": "staff", "role": "resident"})


async def test_an_owner_adds_staff_by_answering_a_forwarded_message(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    binh = telegram.user(2002, "Bình", language_code="en")
    start = telegram.mark()
    forwarded = await telegram.forward(owner, "Chào anh, em là Bình.", origin=binh)
    await settled(telegram, bot)
    assert telegram.calls_to("sendMessage", after=start, chat_id=OWNER) == []  # not a search
    start = telegram.mark()
    await telegram.send_reply(owner, "/addstaff", reply_to=forwarded)
    reply = await telegram.wait_for("sendMessage", after=start, chat_id=OWNER)
    assert reply.params["text"].startswith("✅ Đã thêm Bình (ID <code>2002</code>)")
    assert await services(bot).staff.get(2002) is not None
    # Bình's Telegram is in English: the English menu is there for that language code.
    assert descriptions(telegram, 2002, "en")["staffstats"] == "Detailed statistics (staff)"
    assert descriptions(telegram, 2002, "")["staffstats"] == "Thống kê chi tiết (cán bộ)"
    # Choosing a language makes every variant of their menu speak it.
    question = await telegram.reply_to(binh, "/language")
    start = telegram.mark()
    await telegram.tap(binh, question.result["message_id"], "lang:vi")
    await telegram.wait_for(
        "setMyCommands", after=start, language_code="en", scope=chat_scope(2002)
    )
    assert descriptions(telegram, 2002, "en")["staffstats"] == "Thống kê chi tiết (cán bộ)"


async def test_an_owner_adds_staff_by_answering_their_message_in_a_group(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    cuong = telegram.user(2003, "Cường")
    group = telegram.group(-100777, admins=[OWNER])
    said = await telegram.send(cuong, "Tôi ở thôn 3.", chat=group)
    start = telegram.mark()
    await telegram.send_reply(owner, "/addstaff", reply_to=said, chat=group)
    reply = await telegram.wait_for("sendMessage", after=start, chat_id=group.id)
    assert reply.params["text"].startswith("✅ Đã thêm Cường (ID <code>2003</code>)")
    assert menus_of(telegram, 2003)[""] == STAFF_MENU

    # Answering the bot's own message names a bot, not a person.
    start = telegram.mark()
    await telegram.send_reply(owner, "/addstaff", reply_to=reply.result, chat=group)
    refusal = await telegram.wait_for("sendMessage", after=start, chat_id=group.id)
    assert refusal.params["text"] == "Đó là một bot: bot không thể làm cán bộ."


async def test_someone_who_hides_their_account_cannot_be_added_by_forward(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    forwarded = await telegram.forward(owner, "Xin chào", origin="Dũng")
    start = telegram.mark()
    await telegram.send_reply(owner, "/addstaff", reply_to=forwarded)
    reply = await telegram.wait_for("sendMessage", after=start, chat_id=OWNER)
    assert reply.params["text"].startswith("Người này đã ẩn tài khoản")
    assert HOW_TO in reply.params["text"]
    assert await services(bot).staff.members() == []


async def test_staff_added_before_opening_the_bot_get_their_menu_on_start(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    added = await command(telegram, owner, "/addstaff 3003")
    assert added.startswith("✅ Đã thêm (chưa rõ tên) (ID <code>3003</code>) làm cán bộ.")
    assert "gõ /start cho bot" in added
    assert menus_of(telegram, 3003) == {}  # Telegram: chat not found
    ha = telegram.user(3003, "Hà")
    await command(telegram, ha, "/start")
    await telegram.wait_for("setMyCommands", language_code="en", scope=chat_scope(3003))
    assert menus_of(telegram, 3003)["vi"] == STAFF_MENU
    member = await services(bot).staff.get(3003)
    assert member is not None
    assert member.name == "Hà"  # the name Telegram gives, now that it is known
    listing = await command(telegram, owner, "/staff")
    assert "• Hà — ID <code>3003</code>, từ " in listing


# -- start-up ---------------------------------------------------------------------------------


@pytest.fixture
async def staffed(
    telegram: FakeTelegram, tmp_path: Path
) -> AsyncIterator[tuple[Settings, Database]]:
    """Settings with two owners, and a database that already holds staff."""
    settings = make_settings(tmp_path, telegram, ADMIN_IDS="1001,1002")
    async with await Database.open(settings.DATABASE_PATH) as db:
        staff = StaffStore(db)
        await staff.add(2001, "An", OWNER)
        await staff.add(2002, "Bình", OWNER)
        await staff.add(4004, "Khánh", OWNER)  # never opened the bot: no chat to set a menu in
        await UserStore(db).set_language(2002, "en")
        yield settings, db


async def test_start_up_sets_the_menus_of_owners_and_staff(
    telegram: FakeTelegram,
    staffed: tuple[Settings, Database],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, _ = staffed
    for user_id, name in ((1001, "Chủ tịch"), (1002, "Phó"), (2001, "An"), (2002, "Bình")):
        telegram.user(user_id, name)
    caplog.set_level(logging.WARNING, logger="bot.menus")
    async with running(build_application(settings)):
        assert menus_of(telegram, 1001) == {"": OWNER_MENU, "vi": OWNER_MENU, "en": OWNER_MENU}
        assert menus_of(telegram, 1002)["en"] == OWNER_MENU
        assert menus_of(telegram, 2001)["vi"] == STAFF_MENU
        # Bình chose English: every variant of the menu is in English.
        for lang in ("", "vi", "en"):
            assert descriptions(telegram, 2002, lang)["newpoll"] == "Create a new poll (staff)"
        assert menus_of(telegram, 4004) == {}
        # One line for the chat Telegram did not know, and the bot runs on.
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.menus"]
        # (without the id: no Telegram id in a log line above DEBUG; /staff shows who it is)
        assert lines == ["could not set a staff member's command menu: Chat not found"]
        an = telegram.user(2001, "An")
        assert "Bước 1/3" in await command(telegram, an, "/newpoll")
        listing = await command(telegram, telegram.users[1001], "/staff")
        assert "• Chủ tịch — ID <code>1001</code>" in listing
        assert "• Phó — ID <code>1002</code>" in listing
        assert "<b>Cán bộ</b> (3 người)" in listing
        assert "• Khánh — ID <code>4004</code>, từ " in listing


async def test_a_telegram_error_setting_a_menu_does_not_stop_the_command(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    telegram.user(2001, "An")
    telegram.fail("setMyCommands", 500, times=1)
    added = await command(telegram, owner, "/addstaff 2001")
    assert added.startswith("✅ Đã thêm An (ID <code>2001</code>) làm cán bộ.")
    assert "gõ /start cho bot" in added  # the owner is told how the menu will come
    assert await services(bot).staff.get(2001) is not None


# -- refusals ---------------------------------------------------------------------------------


async def test_a_resident_is_refused_every_staff_command_and_recorded_without_their_id(
    telegram: FakeTelegram,
    bot: BotApplication,
    resident: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    for name in EVERY_STAFF_COMMAND:
        start = telegram.mark()
        assert await command(telegram, resident, f"/{name} 2001") == NOT_STAFF, name
        assert not telegram.calls_to("sendPhoto", after=start)
        assert not telegram.calls_to("sendDocument", after=start)
    key = services(bot).stats.key_of(RESIDENT)
    assert await audit_rows(bot) == [
        (key, "refused", {"command": name, "role": "resident"}) for name in EVERY_STAFF_COMMAND
    ]
    assert await services(bot).staff.members() == []
    poll = await services(bot).polls.current()
    assert poll is not None
    assert poll.is_open
    # Nowhere in the audit table, nor in the interaction log, nor in the bot's own log lines.
    for table in ("audit", "interactions", "daily_users", "stats_residents"):
        assert not await cells_holding(services(bot).db, table, RESIDENT), table
    assert await cells_holding(services(bot).db, "audit", key)  # the scan finds what is there
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("handlers", "bot."))]
    assert "refused /audit to a resident: not staff" in ours
    assert not [line for line in ours if str(RESIDENT) in line]


async def cells_holding(db: Database, table: str, value: int | str) -> list[str]:
    """The columns of `table` with a cell equal to `value` or holding it as text."""
    columns = [str(row[1]) for row in await db.fetchall(f"PRAGMA table_info({table})")]
    found = []
    for column in columns:
        rows = await db.fetchall(
            f"SELECT 1 FROM {table} WHERE {column} = ? OR CAST({column} AS TEXT) LIKE ?",
            (value, f"%{value}%"),
        )
        if rows:
            found.append(column)
    return found


async def test_forgetting_a_resident_unlinks_their_refusals(
    telegram: FakeTelegram, bot: BotApplication, resident: User
) -> None:
    await command(telegram, resident, "/audit")
    key = services(bot).stats.key_of(RESIDENT)
    assert await cells_holding(services(bot).db, "audit", key)
    question = await telegram.reply_to(resident, "/forget")
    buttons = question.params["reply_markup"]["inline_keyboard"][0]
    start = telegram.mark()
    await telegram.tap(resident, question.result["message_id"], buttons[0]["callback_data"])
    await telegram.wait_for("editMessageText", after=start, chat_id=RESIDENT)
    assert not await cells_holding(services(bot).db, "audit", key)
    assert await audit_rows(bot) == [(None, "refused", {"command": "audit", "role": "resident"})]


async def test_staff_cannot_manage_staff_or_read_the_audit(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    an = telegram.user(2001, "An")
    await command(telegram, owner, "/addstaff 2001")
    for text in ("/addstaff 2002", "/removestaff 2001", "/audit"):
        assert await command(telegram, an, text) == OWNERS_ONLY, text
    assert [m.user_id for m in await services(bot).staff.members()] == [2001]
    rows = await audit_rows(bot)
    assert rows[1:] == [
        ("2001", "refused", {"command": name, "role": "staff"})
        for name in ("addstaff", "removestaff", "audit")
    ]
    # /staff is for staff too.
    listing = await command(telegram, an, "/staff")
    assert "<b>Người quản lý bot</b>\n• Chủ tịch — ID <code>1001</code>" in listing
    assert "<b>Cán bộ</b> (1 người)\n• An — ID <code>2001</code>, từ " in listing


async def test_someone_removed_while_writing_a_poll_cannot_create_it(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    an = telegram.user(2001, "An")
    await command(telegram, owner, "/addstaff 2001")
    await command(telegram, an, "/newpoll")
    await command(telegram, an, "Đường thôn đã sạch chưa?")
    listing = await telegram.reply_to(an, "Rồi\nChưa")
    done = next(
        b["callback_data"]
        for b in listing.params["reply_markup"]["inline_keyboard"][0]
        if b["text"] == "✅ Xong"
    )
    start = telegram.mark()
    await telegram.tap(an, listing.result["message_id"], done)
    confirm = await telegram.wait_for("editMessageText", after=start, chat_id=an.id)
    create = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await command(telegram, owner, "/removestaff 2001")
    start = telegram.mark()
    await telegram.tap(an, listing.result["message_id"], create)
    refusal = await telegram.wait_for("editMessageText", after=start, chat_id=an.id)
    assert refusal.params["text"] == NOT_STAFF
    poll = await services(bot).polls.current()
    assert poll is not None
    assert poll.poll_id == 1  # no poll was created
    key = services(bot).stats.key_of(2001)
    assert (await audit_rows(bot))[-1] == (
        key, "refused", {"command": "newpoll", "role": "resident"},
    )  # fmt: skip


# -- owners and ids ---------------------------------------------------------------------------


async def test_an_owner_cannot_be_removed_or_added(telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, telegram, ADMIN_IDS="1001,1002")
    owner = telegram.user(OWNER, "Chủ tịch")
    telegram.user(1002, "Phó")
    async with running(build_application(settings)) as bot:
        for user_id in (1001, 1002):
            reply = await command(telegram, owner, f"/removestaff {user_id}")
            assert reply.startswith(
                f"Không thể bỏ quyền của người quản lý bot (ID <code>{user_id}</code>)"
            )
        reply = await command(telegram, owner, "/addstaff 1002")
        assert reply == (
            "Phó (ID <code>1002</code>) là người quản lý bot, đã có mọi quyền của cán bộ."
        )
        assert await services(bot).staff.members() == []
        assert await audit_rows(bot) == []
        # Both owners keep their menus.
        assert menus_of(telegram, 1002)[""] == OWNER_MENU


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("/addstaff", "Lệnh /addstaff cần biết đó là ai."),
        ("/addstaff @lan_binhchanh", "«@lan_binhchanh» không phải là mã Telegram."),
        ("/addstaff mười hai", "«mười» không phải là mã Telegram."),
        ("/addstaff -5", "«-5» không phải là mã Telegram."),
        ("/addstaff 0", "«0» không phải là mã Telegram."),
        ("/addstaff 12345678901234567890", "«12345678901234567890» không phải là mã Telegram."),
        ("/removestaff", "Lệnh /removestaff cần biết đó là ai."),
        ("/removestaff abc", "«abc» không phải là mã Telegram."),
    ],
)
async def test_a_missing_or_malformed_id_gets_a_helpful_answer(
    telegram: FakeTelegram, bot: BotApplication, owner: User, text: str, first_line: str
) -> None:
    reply = await command(telegram, owner, text)
    assert reply.startswith(first_line)
    verb = text.split()[0]
    assert f"<code>{verb} 12345678</code>" in reply
    assert f"trả lời tin nhắn ấy bằng {verb}" in reply
    assert HOW_TO in reply
    assert await services(bot).staff.members() == []


async def test_adding_twice_or_removing_a_stranger_says_so(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    telegram.user(2001, "An")
    await command(telegram, owner, "/addstaff 2001")
    again = await command(telegram, owner, "/addstaff 2001")
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
    assert again == f"An (ID <code>2001</code>) đã là cán bộ từ ngày {today}."
    stranger = await command(telegram, owner, "/removestaff 2999")
    assert stranger.startswith("ID <code>2999</code> không có trong danh sách cán bộ.")
    assert [action for _, action, _ in await audit_rows(bot)] == ["staff_added"]


async def test_myid_tells_anyone_their_id(telegram: FakeTelegram, bot: BotApplication) -> None:
    lan = telegram.user(RESIDENT, "Lan")
    reply = await command(telegram, lan, "/myid")
    assert reply.startswith(f"Mã Telegram (ID) của bạn là: <code>{RESIDENT}</code>")
    john = telegram.user(2010, "John", language_code="en")
    assert (await command(telegram, john, "/myid")).startswith(
        "Your Telegram id is: <code>2010</code>"
    )
    assert "/myid — Xem mã Telegram (ID) của bạn" in await command(telegram, lan, "/help")


# -- the audit log ----------------------------------------------------------------------------


async def test_audit_shows_the_latest_entries_in_words(
    telegram: FakeTelegram, bot: BotApplication, owner: User, resident: User
) -> None:
    an = telegram.user(2001, "An")
    await command(telegram, owner, "/addstaff 2001")
    assert (await command(telegram, an, "/closepoll")).startswith("🔒 Đã đóng cuộc thăm dò số 1.")
    await command(telegram, owner, "/senddigest")
    await command(telegram, resident, "/pollcsv")
    log = services(bot).audit
    # What the broadcasts record, and an action this version does not know.
    detail = {"delivery_id": 7, "audience": "all", "recipients": 120, "outcome": "sent"}
    await log.record("2001", "broadcast", detail)
    await log.record("2001", "export", {"rows": 3, "file": "<b>x</b>.csv"})

    text = await command(telegram, owner, "/audit")
    lines = text.split("\n")
    assert lines[0] == (
        "<b>Nhật ký hoạt động</b>: 6 mục gần nhất, mới nhất trước (giờ Asia/Ho_Chi_Minh)"
    )
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
    assert all(today in line for line in lines[1:])
    what = [line.split(" — ", 1)[1] for line in lines[1:]]
    assert what == [
        "<b>An</b> (2001): export (file: &lt;b&gt;x&lt;/b&gt;.csv, rows: 3)",
        "<b>An</b> (2001): gửi thông báo số 7 tới all: 120 nơi nhận, kết quả: sent",
        "một người dân: dùng lệnh /pollcsv nhưng không có quyền (đã từ chối)",
        "<b>Chủ tịch</b> (1001): gửi ngay bản tin tổng hợp: 0 nơi nhận, 0 tin",
        "<b>An</b> (2001): đóng cuộc thăm dò số 1",
        "<b>Chủ tịch</b> (1001): thêm cán bộ An (2001)",
    ]
    only = await command(telegram, owner, "/audit refused")
    assert only.split("\n")[1:] == [lines[3]]
    empty = await command(telegram, owner, "/audit nothing_like_this")
    assert empty == "Nhật ký hoạt động chưa có mục nào."


async def test_audit_shows_at_most_twenty_and_names_removed_staff(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    telegram.user(2001, "An")
    await command(telegram, owner, "/addstaff 2001")
    log = services(bot).audit
    for number in range(25):
        await log.record("2001", "poll_closed", {"poll_id": number})
    await command(telegram, owner, "/removestaff 2001")
    text = await command(telegram, owner, "/audit")
    lines = text.split("\n")
    assert len(lines) == 1 + 20
    assert lines[1].endswith("<b>Chủ tịch</b> (1001): bỏ quyền cán bộ của An (2001)")
    assert lines[2].endswith("<b>An</b> (2001): đóng cuộc thăm dò số 24")
    assert lines[-1].endswith("<b>An</b> (2001): đóng cuộc thăm dò số 6")


async def test_poll_creation_is_recorded(
    telegram: FakeTelegram, bot: BotApplication, owner: User
) -> None:
    await command(telegram, owner, "/newpoll")
    await command(telegram, owner, "Bà con có hài lòng không?")
    listing = await telegram.reply_to(owner, "Có\nKhông")
    buttons = listing.params["reply_markup"]["inline_keyboard"][0]
    start = telegram.mark()
    await telegram.tap(owner, listing.result["message_id"], buttons[0]["callback_data"])
    confirm: ApiCall = await telegram.wait_for("editMessageText", after=start, chat_id=OWNER)
    start = telegram.mark()
    create = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await telegram.tap(owner, listing.result["message_id"], create)
    await telegram.wait_for("editMessageText", after=start, chat_id=OWNER)
    assert await audit_rows(bot) == [
        ("1001", "poll_created", {"poll_id": 2, "question": "Bà con có hài lòng không?"})
    ]


async def test_the_audit_store_filters_and_orders(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "audit.sqlite3") as db:
        log = AuditLog(db)
        first = await log.record("1", "a", {"n": 1})
        await log.record("2", "b", {"n": 2})
        await log.record(None, "a", {"n": 3})
        assert [e.detail["n"] for e in await log.recent(10)] == [3, 2, 1]
        assert [e.detail["n"] for e in await log.recent(10, action="a")] == [3, 1]
        assert [e.actor for e in await log.recent(1, action="a")] == [None]
        oldest = (await log.recent(10))[-1]
        assert oldest.audit_id == first
        assert oldest.at.tzinfo is not None


def test_an_announcements_audit_entry_is_data_put_in_words_in_each_language() -> None:
    from bot.i18n import Catalog
    from handlers.staff import audit_line
    from storage.audit import AuditEntry

    catalog = Catalog.load()
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    done = AuditEntry(
        1, datetime(2026, 11, 27, 1, 0, tzinfo=ZoneInfo("UTC")), "1001", "broadcast",
        {"delivery_id": 4, "categories": [], "channel": True, "recipients": 3,
         "outcome_code": "done", "sent": 2, "blocked": 1, "failed": 0, "not_sent": 0},
    )  # fmt: skip
    vi = audit_line(catalog, "vi", done, {}, tz)
    assert "tới tất cả người đăng ký + kênh: 3 nơi nhận" in vi
    assert "đã gửi xong: nhận 2, đã chặn 1, lỗi 0, chưa gửi 0" in vi
    en = audit_line(catalog, "en", done, {}, tz)
    assert "to all subscribers + channel: 3 recipients" in en
    assert "sent: received 2, blocked 1, failed 0, not sent 0" in en
    at = datetime(2026, 11, 28, 6, 30, tzinfo=tz).timestamp()
    scheduled = AuditEntry(
        2, done.at, "1001", "broadcast",
        {"delivery_id": "—", "categories": ["Tin tức"], "channel": False, "recipients": 2,
         "outcome_code": "scheduled", "start_at": at},
    )  # fmt: skip
    assert "tới Tin tức: 2 nơi nhận, kết quả: hẹn gửi lúc 06:30 28/11/2026" in audit_line(
        catalog, "vi", scheduled, {}, tz
    )
    # The recipients on each messenger, once the audit log named them.
    both = AuditEntry(
        4, done.at, "1001", "broadcast",
        {**done.detail, "recipients": 5, "by_channel": {"telegram": 3, "zalo": 2}},
    )  # fmt: skip
    vi, en = (audit_line(catalog, lang, both, {}, tz) for lang in ("vi", "en"))
    assert ": 5 nơi nhận (Telegram 3, Zalo 2), kết quả: đã gửi xong" in vi
    assert ": 5 recipients (Telegram 3, Zalo 2), outcome: sent" in en
    # An entry written before announcements were stored as data is shown as it was written.
    older = AuditEntry(
        3, done.at, "1001", "broadcast",
        {"delivery_id": 1, "audience": "tất cả người đăng ký", "recipients": 1,
         "outcome": "đang gửi"},
    )  # fmt: skip
    assert "tới tất cả người đăng ký: 1 nơi nhận, kết quả: đang gửi" in audit_line(
        catalog, "vi", older, {}, tz
    )
