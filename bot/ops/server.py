"""The operator's HTTP listener (METRICS_LISTEN): /healthz and /metrics, nothing else."""

from __future__ import annotations

import json
import logging
import socket
from http import HTTPStatus
from typing import TYPE_CHECKING

import tornado.web
from tornado.httpserver import HTTPServer

from bot.ops.health import check_health
from bot.ops.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from bot.context import Services

__all__ = ["ListenError", "OpsServer"]

log = logging.getLogger(__name__)


class ListenError(Exception):
    """The listener cannot take its address; the message says what to do."""


class _Health(tornado.web.RequestHandler):
    """GET /healthz: 200 when well, 503 with the reasons otherwise, as JSON."""

    def initialize(self, services: Services) -> None:
        self.services = services

    async def get(self) -> None:
        health = await check_health(self.services)
        self.set_status(HTTPStatus.OK if health.ok else HTTPStatus.SERVICE_UNAVAILABLE)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(health.as_json(), ensure_ascii=False))


class _Metrics(tornado.web.RequestHandler):
    """GET /metrics: the Prometheus text format."""

    def initialize(self, services: Services) -> None:
        self.services = services

    async def get(self) -> None:
        body = await self.services.metrics.exposition(self.services)
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(body)


class _Application(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """Scrapes come every few seconds: DEBUG only."""
        log.debug("%s answered %d", handler.request.path, handler.get_status())


class OpsServer:
    """Listens on (host, port) for health checks and metric scrapes."""

    def __init__(self, services: Services, host: str, port: int) -> None:
        routes = [
            (r"/healthz", _Health, {"services": services}),
            (r"/metrics", _Metrics, {"services": services}),
        ]
        self._server = HTTPServer(_Application(routes))
        self.host = host
        self.port = port  # the port bound once started (port 0 asks for a free one)
        self._stopped = False

    def start(self) -> None:
        """Begin accepting requests; ListenError if the address is taken or not ours."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # Bound here rather than by tornado.netutil.bind_sockets, which leaves the socket open
        # when the address is taken.
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise ListenError(
                f"cannot listen on METRICS_LISTEN {self.host}:{self.port} "
                f"({exc.strerror or exc}): choose a free port on this machine's own address, "
                "or set METRICS_LISTEN=off"
            ) from None
        self.port = sock.getsockname()[1]
        self._server.add_sockets([sock])
        where = f"[{self.host}]" if ":" in self.host else self.host
        log.info("health and metrics on http://%s:%d/healthz and /metrics", where, self.port)

    async def stop(self) -> None:
        """Stop listening and close open connections (once; again does nothing)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        await self._server.close_all_connections()
