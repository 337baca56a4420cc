"""`commune-bot demo` as a process, and `commune-bot run` with no token falling back to it."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
import tomllib
from pathlib import Path, PurePosixPath

import httpx
import pytest

from bot.cli import DEMO_NOTICE
from tests.test_process import bot_env, run_cli

pytestmark = pytest.mark.timeout(120)

ADDRESS = re.compile(r"http://127\.0\.0\.1:(\d+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start(args: list[str], cwd: Path, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=bot_env(**env), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def page_address(process: asyncio.subprocess.Process) -> str:
    """The chat page's address, from the line the demo prints when it is ready."""
    assert process.stdout is not None
    async with asyncio.timeout(60):
        while line := (await process.stdout.readline()).decode():
            match = ADDRESS.search(line)
            if match:
                return match[0]
    raise AssertionError("the demo ended without printing its address")


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """SIGTERM, as a service manager stops it; the exit status and what it wrote to stderr."""
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode()


async def test_demo_serves_the_chat_page_without_token_or_env_file(tmp_path: Path) -> None:
    port = free_port()
    process = await start(["demo", "--port", str(port)], tmp_path)
    try:
        address = await page_address(process)
        assert address == f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(trust_env=False) as client:
            page = await client.get(address + "/")
            script = await client.get(address + "/static/chat.js")
            # Only the sample site and the chat page may publish, not another site in the browser.
            foreign = await client.post(
                address + "/publish", headers={"Origin": "http://example.com"}
            )
    finally:
        status, stderr = await stop(process)
    assert page.status_code == 200
    assert "<title>Tin Xã" in page.text
    assert 'lang="vi"' in page.text
    assert script.status_code == 200
    assert "WebSocket" in script.text
    assert foreign.status_code == 403
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 (the throw-away database is gone)


async def test_demo_keeps_its_database_when_asked(tmp_path: Path) -> None:
    process = await start(["demo", "--port", "0", "--database", "kept.sqlite3"], tmp_path)
    try:
        await page_address(process)
    finally:
        status, stderr = await stop(process)
    assert status == 0, stderr
    assert (tmp_path / "kept.sqlite3").exists()


async def test_run_without_token_starts_the_demo_with_one_line(tmp_path: Path) -> None:
    process = await start(["run"], tmp_path)
    try:
        address = await page_address(process)
        async with httpx.AsyncClient(trust_env=False) as client:
            page = await client.get(address + "/")
    finally:
        status, stderr = await stop(process)
    assert page.status_code == 200
    assert status == 0
    assert stderr.strip().splitlines() == [DEMO_NOTICE]


def test_a_missing_settings_file_named_on_purpose_is_an_error_not_the_demo(
    tmp_path: Path,
) -> None:
    result = run_cli(["--env-file", str(tmp_path / "missing.env"), "run"], tmp_path)
    assert result.returncode == 2
    assert "missing.env given with --env-file does not exist" in result.stderr
    assert DEMO_NOTICE not in result.stderr


async def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await start(["demo", "--port", str(port)], tmp_path)
        async with asyncio.timeout(60):
            _, stderr = await process.communicate()
    assert process.returncode == 1
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert f"port {port}" in lines[0]
    assert "--port" in lines[0]


async def test_a_malformed_setting_in_the_environment_is_one_line(tmp_path: Path) -> None:
    process = await start(["demo", "--port", "0"], tmp_path, SEND_RATE_PER_SECOND="many")
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "SEND_RATE_PER_SECOND is malformed" in lines[0]


def test_the_demo_files_are_package_data() -> None:
    """A non-editable install has the chat page and the sample site: pyproject lists them all."""
    root = Path(__file__).resolve().parent.parent
    pyproject = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    package = root / "bot"
    files = [
        path.relative_to(package)
        for folder in (package / "demo" / "static", package / "demo" / "site")
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert len(files) > 15
    missing = [
        str(f) for f in files if not any(PurePosixPath(f.as_posix()).match(g) for g in globs)
    ]
    assert missing == []
