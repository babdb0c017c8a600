"""Offering crash-recovery files at start-up (the dialog side of ``recovery.py``).

``recover`` works on the ``DocumentController`` (open the project and image,
put the recovered document in place) and reports through the callables it is
given; the window decides how to ask and where to show the outcome.
"""

from __future__ import annotations

import datetime as _dt
from typing import Callable

from PySide6.QtWidgets import QMessageBox

from segstudio.app.recovery import RecoveryEntry, RecoveryStore
from segstudio.errors import SegStudioError
from segstudio.formats.project import Project


def describe(entries) -> str:
    lines = []
    for e in entries[:8]:
        when = _dt.datetime.fromtimestamp(e.saved).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"• {e.key} in {e.root} (edited {when})")
    if len(entries) > 8:
        lines.append(f"… and {len(entries) - 8} more")
    return "\n".join(lines)


def ask_dialog(parent, entries: list[RecoveryEntry]) -> bool:
    """The start-up question: recover these edits? (No discards them.)"""
    answer = QMessageBox.question(
        parent, "Recover unsaved edits?",
        "segstudio ended before these edits were saved:\n\n" + describe(entries)
        + "\n\nRecover them? (No discards them.)",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes


def recover(document, ask: Callable[[list[RecoveryEntry]], bool],
            report_error: Callable[[str, str], None]) -> str | None:
    """Offer the recovery files of ``document.recovery``; ``ask(entries) -> bool``.

    The first entry is opened with its edits in place (unsaved); the others go
    straight back into their projects.  Returns a line for the status bar when
    something was recovered into the open document, else None.
    """
    store = document.recovery
    entries = store.entries()
    if not entries:
        return None
    if not ask(entries):
        for e in entries:
            store.remove(e)
        return None
    first, rest = entries[0], entries[1:]
    for e in rest:  # put the others straight back into their projects
        try:
            Project.open(e.root).save_annotation(e.key, RecoveryStore.load(e))
            store.remove(e)
        except (SegStudioError, OSError, ValueError) as err:
            report_error("Could not recover", f"{e.key} in {e.root}: {err}")
    try:
        doc = RecoveryStore.load(first)
        if not document.open_path(first.root) or not document.select(first.key):
            return None
        document.replace_document(doc)
        store.remove(first)
    except (SegStudioError, OSError, ValueError) as err:
        report_error("Could not recover", f"{first.key} in {first.root}: {err}")
        return None
    return f"recovered unsaved edits of {first.key}; they are not saved yet"
