"""Offering crash-recovery files at start-up (the dialog side of ``recovery.py``)."""

from __future__ import annotations

import datetime as _dt

from PySide6.QtWidgets import QMessageBox

from segstudio.app.recovery import RecoveryStore
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


def recover(window, ask=None) -> bool:
    """Offer the recovery files; ``ask(entries) -> bool`` replaces the dialog (tests)."""
    store = window.document.recovery
    entries = store.entries()
    if not entries:
        return False
    if ask is None:
        answer = QMessageBox.question(
            window, "Recover unsaved edits?",
            "segstudio ended before these edits were saved:\n\n" + describe(entries)
            + "\n\nRecover them? (No discards them.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        yes = answer == QMessageBox.StandardButton.Yes
    else:
        yes = bool(ask(entries))
    if not yes:
        for e in entries:
            store.remove(e)
        return False
    first, rest = entries[0], entries[1:]
    for e in rest:  # put the others straight back into their projects
        try:
            Project.open(e.root).save_annotation(e.key, RecoveryStore.load(e))
            store.remove(e)
        except (SegStudioError, OSError, ValueError) as err:
            window.show_error("Could not recover", f"{e.key} in {e.root}: {err}")
    try:
        doc = RecoveryStore.load(first)
        if not window.open_path(first.root) or not window.open_key(first.key):
            return False
        window.document.replace_document(doc)
        store.remove(first)
    except (SegStudioError, OSError, ValueError) as err:
        window.show_error("Could not recover", f"{first.key} in {first.root}: {err}")
        return False
    window.status.showMessage(f"recovered unsaved edits of {first.key}; they are not saved yet", 10000)
    return True
