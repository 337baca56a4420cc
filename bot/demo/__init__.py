"""The demo: the whole bot in a browser, on one machine, with no token (`commune-bot demo`)."""

from bot.demo.runner import DEFAULT_PORT, Demo, run_demo

__all__ = ["DEFAULT_PORT", "Demo", "run_demo"]
