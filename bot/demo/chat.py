"""The chat page's server: residents and staff talk to the real bot through the stand-in Bot API.

The page (static/index.html, chat.js, chat.css) opens a WebSocket. What a persona types or taps
becomes an update in the stand-in, exactly as the tests inject them; every call the bot makes
(send, edit, delete, answer a button, set the command menu) is observed and sent to the open
pages as a message view, so edits replace the message in place and nothing is reloaded.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from bot.demo.render import message_view
from bot.standins.telegram import ApiCall, FakeTelegram

__all__ = ["ChatRoom", "Persona", "serve_chat"]

STATIC = Path(__file__).resolve().parent / "static"
MAX_TEXT = 4096

_SENDS = {"sendMessage", "sendPhoto", "sendDocument", "copyMessage"}
_EDITS = {"editMessageText", "editMessageCaption", "editMessageReplyMarkup"}
_MENUS = {"setMyCommands", "deleteMyCommands"}


@dataclass(frozen=True)
class Persona:
    """Someone the visitor can be on the page: a resident or a staff member (an owner)."""

    id: int
    first_name: str
    label: str
    staff: bool = False
    language: str = "vi"

    def to_page(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "staff": self.staff}


class ChatRoom:
    """The personas' private chats with the bot, as the page shows them, and the open pages."""

    def __init__(
        self,
        api: FakeTelegram,
        personas: list[Persona],
        publish: Callable[[], Awaitable[str | None]],
        site_url: str,
    ) -> None:
        self.api = api
        self.personas = {persona.id: persona for persona in personas}
        self.publish = publish
        self.site_url = site_url
        self.sockets: set[_ChatSocket] = set()
        self.previews: dict[tuple[int, int], dict[str, Any]] = {}
        self.queries: dict[str, int] = {}  # callback query id → the chat it came from
        for persona in personas:
            api.user(persona.id, persona.first_name, persona.language)
        api.observers.append(self.observe)

    # -- what the bot did -------------------------------------------------------------------

    def observe(self, call: ApiCall) -> None:
        """Turn one answered Bot API call into what the open pages must show."""
        if not call.ok:
            return
        params = call.params
        if call.method in _SENDS or call.method in _EDITS:
            chat_id = int(params.get("chat_id") or 0)
            message_id = (
                int(params["message_id"])
                if call.method in _EDITS
                else int(call.result["message_id"])
            )
            if "link_preview_options" in params:
                self.previews[(chat_id, message_id)] = dict(params["link_preview_options"] or {})
            if chat_id in self.personas:
                self.emit(self._message_event(chat_id, message_id))
                markup = params.get("reply_markup")
                if isinstance(markup, dict) and "inline_keyboard" not in markup:
                    self.emit(self._keyboard_event(chat_id))
        elif call.method == "deleteMessage":
            chat_id = int(params.get("chat_id") or 0)
            if chat_id in self.personas:
                self.emit({"type": "delete", "chat": chat_id, "id": int(params["message_id"])})
        elif call.method == "answerCallbackQuery":
            chat_id = self.queries.pop(str(params.get("callback_query_id")), 0)
            if chat_id and params.get("text"):
                self.emit(
                    {
                        "type": "toast",
                        "chat": chat_id,
                        "text": str(params["text"]),
                        "alert": bool(params.get("show_alert")),
                    }
                )
        elif call.method in _MENUS:
            for chat_id in self.personas:
                self.emit(self._menu_event(chat_id))

    def _message_event(self, chat_id: int, message_id: int) -> dict[str, Any]:
        stored = self.api.messages[(chat_id, message_id)]
        if stored.deleted:
            return {"type": "delete", "chat": chat_id, "id": message_id}
        view = message_view(
            stored.data, bot_id=self.api.bot_id, preview=self.previews.get((chat_id, message_id))
        )
        return {"type": "message", "chat": chat_id, "message": view}

    def _keyboard_event(self, chat_id: int) -> dict[str, Any]:
        markup = self.api.keyboards.get(chat_id) or {}
        rows = [
            [str(button.get("text", "")) for button in row] for row in markup.get("keyboard", [])
        ]
        placeholder = str(markup.get("input_field_placeholder") or "")
        return {"type": "keyboard", "chat": chat_id, "rows": rows, "placeholder": placeholder}

    def _menu_event(self, chat_id: int) -> dict[str, Any]:
        """The command menu Telegram would show in this chat: its own scope, else the default."""
        language = self.personas[chat_id].language
        scopes = [{"type": "chat", "chat_id": chat_id}, {"type": "default"}]
        commands: list[dict[str, Any]] = []
        for scope in scopes:
            for code in (language, ""):
                key = (json.dumps(scope, sort_keys=True), code)
                if key in self.api.commands and not commands:
                    commands = self.api.commands[key]
        return {
            "type": "menu",
            "chat": chat_id,
            "commands": [
                {"command": str(c["command"]), "description": str(c["description"])}
                for c in commands
            ],
        }

    def snapshot(self) -> list[dict[str, Any]]:
        """Everything a page that just opened must draw."""
        events: list[dict[str, Any]] = [
            {
                "type": "hello",
                "bot": str(self.api.bot_user["first_name"]),
                "username": str(self.api.bot_user["username"]),
                "personas": [persona.to_page() for persona in self.personas.values()],
                "site": self.site_url,
            }
        ]
        for chat_id in self.personas:
            for key in sorted(k for k in self.api.messages if k[0] == chat_id):
                if not self.api.messages[key].deleted:
                    events.append(self._message_event(*key))
            events.append(self._keyboard_event(chat_id))
            events.append(self._menu_event(chat_id))
        return events

    def emit(self, event: dict[str, Any]) -> None:
        """Send one event to every open page."""
        text = json.dumps(event, ensure_ascii=False)
        for socket in list(self.sockets):
            try:
                socket.write_message(text)
            except tornado.websocket.WebSocketClosedError:
                self.sockets.discard(socket)

    # -- what the visitor did ---------------------------------------------------------------

    async def act(self, request: dict[str, Any]) -> None:
        """One action from the page: send a text, tap a button, publish an article."""
        action = request.get("action")
        if action == "publish":
            title = await self.publish()
            self.emit({"type": "published", "title": title})
            return
        persona = self.personas.get(_number(request.get("chat")))
        if persona is None:
            return
        user = self.api.users[persona.id]
        if action == "send":
            text = str(request.get("text") or "").strip()[:MAX_TEXT]
            if text:
                message = await self.api.send(user, text)
                self.emit(self._message_event(persona.id, int(message["message_id"])))
        elif action == "press":
            key = (persona.id, _number(request.get("message")))
            stored = self.api.messages.get(key)
            if stored is None or stored.deleted:
                return
            query_id = await self.api.press(user, key[1], str(request.get("data") or ""))
            self.queries[query_id] = persona.id


def _number(value: object) -> int:
    """An id the page sent, or 0 if it is not one."""
    try:
        return int(str(value))
    except ValueError:
        return 0


class _ChatSocket(tornado.websocket.WebSocketHandler):
    """One open chat page."""

    room: ChatRoom

    def initialize(self, room: ChatRoom) -> None:
        self.room = room

    def check_origin(self, origin: str) -> bool:
        """Only the page this server serves may connect (not another site in the browser)."""
        host = self.request.headers.get("Host", "")
        return origin in (f"http://{host}", f"https://{host}")

    def open(self, *args: str, **kwargs: str) -> None:
        self.room.sockets.add(self)
        for event in self.room.snapshot():
            self.write_message(json.dumps(event, ensure_ascii=False))

    async def on_message(self, message: str | bytes) -> None:
        try:
            request = json.loads(message)
        except ValueError:
            return
        if isinstance(request, dict):
            await self.room.act(request)

    def on_close(self) -> None:
        self.room.sockets.discard(self)


class _FileHandler(tornado.web.RequestHandler):
    """GET /files/<file_id>: a photo or document the bot sent (charts, CSV files)."""

    def initialize(self, room: ChatRoom) -> None:
        self.room = room

    def get(self, file_id: str) -> None:
        content = self.room.api.files.get(file_id)
        if content is None:
            raise tornado.web.HTTPError(404)
        if content.startswith(b"\x89PNG"):
            kind = "image/png"
        elif content.startswith(b"\xff\xd8"):
            kind = "image/jpeg"
        elif content.startswith(b"%PDF"):
            kind = "application/pdf"
        else:
            kind = "text/csv; charset=utf-8"
            self.set_header("Content-Disposition", f'attachment; filename="{file_id}.csv"')
        self.set_header("Content-Type", kind)
        self.finish(content)


class _PublishHandler(tornado.web.RequestHandler):
    """POST /publish: the sample site's "publish a new article" button; back to the site."""

    def initialize(self, room: ChatRoom) -> None:
        self.room = room

    async def post(self) -> None:
        # Only the sample site's page and the chat page may publish, not any site in the browser.
        host = self.request.headers.get("Host", "")
        if self.request.headers.get("Origin") not in (self.room.site_url, f"http://{host}"):
            raise tornado.web.HTTPError(403)
        await self.room.act({"action": "publish"})
        self.redirect(self.room.site_url + "/", status=303)


class _PageHandler(tornado.web.RequestHandler):
    """GET /: the chat page."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((STATIC / "index.html").read_bytes())


def serve_chat(
    room: ChatRoom, port: int, host: str = "127.0.0.1"
) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Listen for the chat page on host:port (0: any free port); returns the server and port.

    Raises OSError if the port is taken.
    """
    app = tornado.web.Application(
        [
            (r"/", _PageHandler),
            (r"/ws", _ChatSocket, {"room": room}),
            (r"/files/([A-Za-z0-9_-]+)", _FileHandler, {"room": room}),
            (r"/publish", _PublishHandler, {"room": room}),
            (r"/static/(.*)", tornado.web.StaticFileHandler, {"path": str(STATIC)}),
        ],
        log_function=lambda handler: None,
    )
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    return server, int(sockets[0].getsockname()[1])
