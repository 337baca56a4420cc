"""The Zalo OA client and its tokens, against the stand-in OA API over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.standins.zalo import MESSAGE_PATH, OAUTH_PATH, FakeZalo
from bot.zalo.api import message_json
from bot.zalo.errors import Kind, ZaloError, classify
from bot.zalo.messages import MAX_TEXT, ZaloButton, ZaloMessage
from bot.zalo.oa import OfficialAccount
from storage import Database

LAN = "8000000000000000001"
MINH = "8000000000000000002"


class Told:
    """The owners' hook: what they were told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)


async def account(zalo: FakeZalo, db: Database, told: Told | None = None) -> OfficialAccount:
    settings = load_settings(
        env_file=None, telegram=False, DATABASE_PATH=db.path, **zalo.settings()
    )
    oa = OfficialAccount(db, settings, on_refused=told)
    await oa.open()
    return oa


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "bot.sqlite3") as database:
        yield database


@pytest.fixture
async def oa(zalo: FakeZalo, db: Database) -> AsyncIterator[OfficialAccount]:
    zalo.follower(LAN)
    zalo.follower(MINH)
    opened = await account(zalo, db)
    yield opened
    await opened.close()


async def test_a_text_goes_as_a_consultation_message_with_the_access_token_header(
    zalo: FakeZalo, oa: OfficialAccount
) -> None:
    message_id = await oa.client.send(LAN, ZaloMessage("Xin chào bà con"))
    [sent] = zalo.messages_to(LAN)
    assert (sent.text, sent.message_id) == ("Xin chào bà con", message_id)
    # The first send refreshed the token (the database held only the first refresh token).
    assert [c.path for c in zalo.calls] == [OAUTH_PATH, MESSAGE_PATH]
    assert zalo.calls[1].access_token is not None
    assert zalo.calls[1].body == {
        "recipient": {"user_id": LAN},
        "message": {"text": "Xin chào bà con"},
    }
    # The access token lasts: the next send needs no refresh.
    await oa.client.send(LAN, ZaloMessage("Tin mới"))
    assert zalo.refreshes == 1


async def test_buttons_and_pictures_take_zalo_templates(
    zalo: FakeZalo, oa: OfficialAccount
) -> None:
    buttons = (
        ZaloButton("1. Tin mới", payload="tin moi"),
        ZaloButton("Trang web", url="https://xa.gov.vn"),
    )
    await oa.client.send(LAN, ZaloMessage("Gõ 1 để xem tin mới", buttons))
    await oa.client.send(LAN, ZaloMessage("Ảnh", buttons, image_url="https://xa.gov.vn/a.jpg"))
    with_buttons, picture = zalo.messages_to(LAN)
    assert with_buttons.buttons == (
        {"title": "1. Tin mới", "type": "oa.query.hide", "payload": "tin moi"},
        {"title": "Trang web", "type": "oa.open.url", "payload": {"url": "https://xa.gov.vn"}},
    )
    # A picture is a media template with the text as its caption; its buttons are left off
    # (the text's numbered choices remain).
    assert (picture.image_url, picture.text, picture.buttons) == (
        "https://xa.gov.vn/a.jpg",
        "Ảnh",
        (),
    )


async def test_a_refused_buttons_template_is_sent_as_text_and_not_tried_again(
    zalo: FakeZalo, oa: OfficialAccount, caplog: pytest.LogCaptureFixture
) -> None:
    zalo.accept_buttons = False
    choices = ZaloMessage("Gõ 1, 2", (ZaloButton("1", payload="1"), ZaloButton("2", payload="2")))
    await oa.client.send(LAN, choices)
    await oa.client.send(LAN, choices)
    assert [(m.text, m.buttons) for m in zalo.messages_to(LAN)] == [("Gõ 1, 2", ())] * 2
    refused = [c for c in zalo.calls_to(MESSAGE_PATH) if c.error]
    assert len(refused) == 1  # the second message went without buttons at once
    assert "ZALO_BUTTONS=false" in caplog.text


async def test_a_text_over_the_limit_is_refused_before_any_request(
    zalo: FakeZalo, oa: OfficialAccount
) -> None:
    with pytest.raises(ValueError, match="2000"):
        await oa.client.send(LAN, ZaloMessage("x" * (MAX_TEXT + 1)))
    assert zalo.calls == []
    await oa.client.send(LAN, ZaloMessage("x" * MAX_TEXT))  # the limit itself is fine
    assert len(zalo.messages_to(LAN)) == 1


@pytest.mark.parametrize(
    ("code", "kind", "reason"),
    [
        (-213, Kind.UNREACHABLE, None),
        (-211, Kind.SKIPPED, "quota"),
        (-224, Kind.SKIPPED, "package"),
        (-230, Kind.SKIPPED, "window"),
        (-234, Kind.SKIPPED, "night"),
        (-32, Kind.RATE, None),
        (502, Kind.RETRY, None),
        (-201, Kind.FAILED, None),
        (-999, Kind.FAILED, None),
    ],
)
async def test_each_zalo_error_is_classified(
    zalo: FakeZalo, oa: OfficialAccount, code: int, kind: Kind, reason: str | None
) -> None:
    await oa.tokens.access()  # refreshed before the fault is set
    zalo.fail(code, path=MESSAGE_PATH)
    with pytest.raises(ZaloError) as caught:
        await oa.client.send(LAN, ZaloMessage("Tin mới"))
    assert (caught.value.code, caught.value.kind, caught.value.reason) == (code, kind, reason)
    assert classify(code) is kind
    assert zalo.sent == []
    # One request: the client itself retries only a refused token.
    assert len(zalo.calls_to(MESSAGE_PATH)) == 1


async def test_the_rules_the_stand_in_enforces_come_back_as_their_kinds(
    zalo: FakeZalo, oa: OfficialAccount
) -> None:
    stranger = "8000000000000000099"
    with pytest.raises(ZaloError) as caught:
        await oa.client.send(stranger, ZaloMessage("Chào"))
    assert caught.value.kind is Kind.UNREACHABLE
    zalo.enforce_window(hours=48, messages=2)
    with pytest.raises(ZaloError) as caught:
        await oa.client.send(LAN, ZaloMessage("Chào"))  # Lan never wrote: no window
    assert caught.value.reason == "window"
    zalo.night = True
    with pytest.raises(ZaloError) as caught:
        await oa.client.send(LAN, ZaloMessage("Chào"))
    assert caught.value.reason == "night"


async def test_zalo_unreachable_is_a_retry(zalo: FakeZalo, oa: OfficialAccount) -> None:
    await oa.tokens.access()
    await zalo.stop()
    with pytest.raises(ZaloError) as caught:
        await oa.client.send(LAN, ZaloMessage("Chào"))
    assert caught.value.kind is Kind.RETRY
    assert caught.value.code == 0


async def test_an_invalid_token_is_refreshed_once_and_the_message_sent(
    zalo: FakeZalo, oa: OfficialAccount
) -> None:
    await oa.client.send(LAN, ZaloMessage("1"))
    zalo.revoke_access_tokens()  # -216
    await oa.client.send(LAN, ZaloMessage("2"))
    zalo.expire_access_tokens()  # -220
    await oa.client.send(LAN, ZaloMessage("3"))
    assert [m.text for m in zalo.messages_to(LAN)] == ["1", "2", "3"]
    assert zalo.refreshes == 3
    errors = [c.error for c in zalo.calls_to(MESSAGE_PATH)]
    assert errors == [0, -216, 0, -220, 0]


async def test_concurrent_sends_with_an_expired_token_refresh_once_and_lose_nothing(
    zalo: FakeZalo, oa: OfficialAccount
) -> None:
    await oa.client.send(LAN, ZaloMessage("trước"))
    zalo.expire_access_tokens()
    texts = [f"tin {i}" for i in range(12)]
    await asyncio.gather(
        *(oa.client.send(LAN if i % 2 else MINH, ZaloMessage(t)) for i, t in enumerate(texts))
    )
    assert zalo.refreshes == 2  # the first send's and one for all twelve
    delivered = sorted(m.text for m in zalo.sent)
    assert delivered == sorted(["trước", *texts])


async def test_the_token_is_refreshed_before_it_expires(
    zalo: FakeZalo, oa: OfficialAccount
) -> None:
    zalo.access_seconds = 5 * 60  # less than the margin: every use finds it due
    await oa.client.send(LAN, ZaloMessage("1"))
    await oa.client.send(LAN, ZaloMessage("2"))
    assert zalo.refreshes == 2
    assert all(c.error == 0 for c in zalo.calls_to(MESSAGE_PATH))  # never sent with a dying one


async def test_the_rotated_refresh_token_survives_a_restart(zalo: FakeZalo, tmp_path: Path) -> None:
    zalo.follower(LAN)
    first = zalo.refresh_token
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        oa = await account(zalo, db)
        await oa.client.send(LAN, ZaloMessage("trước khi tắt"))
        await oa.close()
    assert zalo.spent(first)
    rotated = zalo.refresh_token
    zalo.revoke_access_tokens()
    # Restarted with the same settings (ZALO_REFRESH_TOKEN still the spent first one): the
    # database's token wins, and the refresh it makes is accepted.
    async with await Database.open(tmp_path / "bot.sqlite3") as db:
        row = await db.fetchone("SELECT refresh_token, refreshes FROM zalo_tokens")
        assert row is not None
        assert (row["refresh_token"], row["refreshes"]) == (rotated, 1)
        oa = await account(zalo, db)
        await oa.client.send(LAN, ZaloMessage("sau khi bật lại"))
        await oa.close()
    assert zalo.refused_refreshes == 0
    assert [m.text for m in zalo.messages_to(LAN)] == ["trước khi tắt", "sau khi bật lại"]


async def test_a_refused_refresh_token_says_what_to_do_once_and_tells_the_owners(
    zalo: FakeZalo, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    zalo.follower(LAN)
    told = Told()
    oa = await account(zalo, db, told)
    zalo.refuse_refresh()
    secret_words = (zalo.refresh_token, zalo.app_secret, zalo.oa_secret_key)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            with pytest.raises(ZaloError) as caught:
                await oa.client.send(LAN, ZaloMessage("Chào"))
            assert caught.value.kind is Kind.TOKEN
            assert not any(s in str(caught.value) for s in secret_words)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1
    assert "developers.zalo.me" in lines[0]
    assert "ZALO_REFRESH_TOKEN" in lines[0]
    assert not any(s in caplog.text for s in secret_words)
    assert len(told.lines) == 1
    assert zalo.refused_refreshes == 1  # not asked again with the same refused token

    # The operator authorises the app again and puts the new token in the setting: it wins
    # over the database's.
    await oa.close()
    zalo.refuse_refresh(False)
    zalo.issue_refresh_token()
    oa = await account(zalo, db, told)
    await oa.client.send(LAN, ZaloMessage("Chào lại"))
    await oa.close()
    assert [m.text for m in zalo.messages_to(LAN)] == ["Chào lại"]


async def test_an_unreachable_oauth_server_is_a_retry_not_a_refusal(
    zalo: FakeZalo, db: Database
) -> None:
    told = Told()
    oa = await account(zalo, db, told)
    zalo.fail(503, path=OAUTH_PATH)
    with pytest.raises(ZaloError) as caught:
        await oa.tokens.access()
    assert caught.value.kind is Kind.RETRY
    assert told.lines == []
    assert await oa.tokens.access()  # the next try works: the token was not spent
    await oa.close()


def test_the_message_body_is_zalo_s_json() -> None:
    body = message_json("42", ZaloMessage("Chào", (ZaloButton("Xem", payload="xem"),)))
    assert body == {
        "recipient": {"user_id": "42"},
        "message": {
            "text": "Chào",
            "attachment": {
                "type": "template",
                "payload": {
                    "buttons": [{"title": "Xem", "type": "oa.query.hide", "payload": "xem"}]
                },
            },
        },
    }
