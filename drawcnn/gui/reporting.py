"""The GUI's one error path.

Every widget that can fail gets the ``ErrorReporter`` (the controller owns one) and calls
``report`` or ``attempt``; the main window connects ``error_occurred`` and shows the message;
tests connect to the same signal to capture what the user would have been told.

Every boundary (a button through ``attempt``, a worker thread's ``run``) catches once and
turns the exception into text with ``describe_failure``: a ``DrawCNNError``'s one-line
message; anything else is a bug, shown as a bug-report text (type, message, where it
happened) instead of a crash, and nothing is changed.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, Signal

from ..errors import DrawCNNError


def bug_report(exc: BaseException) -> str:
    """The text shown for an exception nobody expected: type, message, where it happened."""
    where = "".join(traceback.format_exception(exc, limit=-6))
    return (f"This is a bug in drawcnn; please report it with the text below.\n\n"
            f"{type(exc).__name__}: {exc}\n\n{where}")


def describe_failure(exc: BaseException) -> str:
    """The message for ``exc``: its one line when expected, a bug report otherwise."""
    return str(exc) if isinstance(exc, DrawCNNError) else bug_report(exc)


class ErrorReporter(QObject):
    """``error_occurred(title, message)``: something the user should be told."""

    error_occurred = Signal(str, str)

    def report(self, title: str, message: str) -> None:
        self.error_occurred.emit(title, message)

    def report_exception(self, title: str, exc: BaseException) -> None:
        self.report(title, describe_failure(exc))

    def attempt(self, title: str, fn, *args, **kwargs) -> tuple[bool, object]:
        """Run ``fn`` at a GUI boundary: ``(True, result)``, or ``(False, None)`` once the
        failure has been reported under ``title``."""
        try:
            return True, fn(*args, **kwargs)
        except Exception as exc:  # the boundary: reported, never a crash of the event loop
            self.report_exception(title, exc)
        return False, None
