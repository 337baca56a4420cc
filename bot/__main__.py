"""`python -m bot` does the same as `commune-bot`."""

import sys

from bot.cli import main

sys.exit(main())
