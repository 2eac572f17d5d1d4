"""CLI messages are never wrapped mid-phrase at the terminal width (issue 10, item 8)."""

from __future__ import annotations

from ghgwatch.cli._runtime import console, err_console


def test_long_messages_stay_on_one_line() -> None:
    message = "facilities: " + "a rather long explanation, " * 8 + "row 3: type is not one of the known types"
    for c in (console, err_console):
        with c.capture() as captured:
            c.print(message, highlight=False)
        assert captured.get() == message + "\n"
