"""The studio's session: its takes, its undo history and whether it is saved (a part of :class:`Studio`).

Kept apart from ``studio.py`` so the wiring of panels and engine stays readable. The methods use the
studio's panels, take store, undo history and window; :class:`Studio` inherits them.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget

from ..project import referenced_takes
from ..takes import Take, TakeError
from .errors import error_box
from .unsaved import Answer


class SessionMixin:
    """Takes (strip, compare, rename, delete, export, clean-up), Undo/Redo of the setup, the title's
    modified mark and the unsaved-changes question."""

    # Set by Studio; listed so readers know what these methods rely on.
    window: Any
    takes: Any
    history: Any
    undo_stack: Any

    # ---- undo ---------------------------------------------------------------------------
    def _setup_changed(self, kind: str, value: Any) -> None:
        """A panel shows a new ``value`` for part ``kind`` of the setup: an undo step, and the project is
        modified. A restore's own inputs arriving (read again in the background) are neither."""
        if kind in ("portrait", "audio") and self._restore_pending.get(kind) == value[0]:
            del self._restore_pending[kind]
            self.history.record(kind, value)
            return
        if self._restoring or self.history.applying or self.history.recorded.get(kind) == value:
            if self._restoring:
                self.history.record(kind, value)
            return
        if not self.history.changed(kind, value):
            self._set_modified()  # a first portrait or speech: nothing to undo, but something to save
        if kind == "trim" and self.audio_path is not None:
            self.history.record("audio", (self.audio_path, value))  # undoing a later speech change restores it

    def _apply_history(self, kind: str, value: Any) -> None:
        """Undo/Redo: show ``value`` of part ``kind`` in its panel again."""
        if kind == "controls":
            self.controls.set_state(value)
            self._controls_changed()
        elif kind == "trim":
            self.audio_panel.set_trim(*value)
            self.trim = value
            if self.audio_path is not None:
                self.history.record("audio", (self.audio_path, value))
            self._inputs_changed()
        elif kind == "portrait":
            path, face = value
            if self.portrait_panel.path is not None and str(self.portrait_panel.path) == path \
                    and self.portrait_panel.analysis is not None:
                self.portrait_panel.set_face_index(face)
            else:
                self.open_portrait(path, face)
        elif kind == "audio":
            path, trim = value
            self.history.record("trim", trim)
            self.audio_path = None
            self.audio_panel.open_audio(path)
            self.audio_panel.set_trim(*trim)
        self._update_title()

    # ---- takes --------------------------------------------------------------------------
    def _takes_selected(self, ids: list[str]) -> None:
        """One take: watch it. Two: the first beside the second, in sync."""
        if not ids:
            return
        takes = [self.takes.get(i) for i in ids]
        if any(t is None for t in takes):
            self._say("A selected take is no longer stored.")
            self._reload_strip()
            return
        main = takes[0]
        assert main is not None
        taken = getattr(self, "_taken", None)
        if taken is not None and taken[0] == main.id:
            result = taken[1]
        elif self.current_take is not None and self.current_take.id == main.id and self.result is not None:
            result = self.result
        else:
            try:
                result = self.takes.load_result(main)
            except TakeError as exc:
                error_box(self.window, "Cannot show this take", str(exc)).open()
                return
        self._taken = None
        self.compare.stop()
        self._show_clip(result, main)
        if len(takes) == 2 and takes[1] is not None:
            other = takes[1]
            self.compare.start(other.preview_path("full"), other.preview_path("crop"))
            self.takes_strip.hint.setText(f"Left: {other.name} · right: {main.name} (with its sound)")
        self._schedule_autosave()

    def take_list(self) -> list[Take]:
        """This project's takes that are still stored, oldest first."""
        return [t for t in (self.takes.get(i) for i in self.session_takes) if t is not None]

    def _reload_strip(self, selected: list[str] | None = None) -> None:
        takes = self.take_list()
        self.session_takes = [t.id for t in takes]
        self.takes_strip.set_takes(takes, selected)

    def rename_take(self, take_id: str, name: str) -> None:
        try:
            take = self.takes.rename(take_id, name)
        except TakeError as exc:
            self._say(str(exc))
            return
        self.takes_strip.update_take(take)
        if self.current_take is not None and self.current_take.id == take_id:
            self.current_take = take
        self._set_modified()

    def delete_takes(self, ids: list[str]) -> None:
        if not ids:
            return
        shown = self.current_take is not None and self.current_take.id in ids
        if shown or self.compare.active:
            self.compare.stop()
        if shown:
            self.preview.clear()
            self.motion_view.clear()
            self.result, self.current_take = None, None
            self.window.export_action.setEnabled(False)
        for take_id in ids:
            self.takes.delete(take_id)
        self.session_takes = [i for i in self.session_takes if i not in ids]
        self._reload_strip()
        self._set_modified()
        self._schedule_autosave()
        self._say(f"Deleted {len(ids)} take{'s' if len(ids) != 1 else ''}")

    def export_take(self, take_id: str) -> None:
        """Export one take, whatever the window shows now."""
        if self.current_take is None or self.current_take.id != take_id or self.compare.active:
            self.takes_strip.select([take_id])
        if self.current_take is not None and self.current_take.id == take_id:
            self.export()

    def use_take_settings(self, take_id: str) -> None:
        """Set the controls to what a take was made with (its seed locked), as one undo step."""
        take = self.takes.get(take_id)
        if take is None:
            return
        self.controls.load_from(take.job)
        self._controls_changed()
        self._say(f"Controls set to {take.name}'s settings (seed {take.seed}, locked)")

    def _clean_up_takes(self) -> None:
        """Keep the take store under its size limit, sparing the takes of this and the recent projects."""
        keep = set(self.session_takes) | referenced_takes(self.window.settings.recent("project"))
        if self.autosave_path.is_file():
            keep |= referenced_takes([str(self.autosave_path)])
        removed = self.takes.clean_up(keep)
        if removed:
            self._say(f"Removed {len(removed)} old take(s) no project uses, to stay within the space for takes")

    # ---- saved or not ------------------------------------------------------------------
    def is_modified(self) -> bool:
        """Changes since the project was opened, saved or started: settings, inputs, takes."""
        return self._modified or not self.undo_stack.isClean()

    def _set_modified(self) -> None:
        if not self._restoring:
            self._modified = True
            self._update_title()

    def _update_title(self, *_args: Any) -> None:
        if not shiboken6.isValid(self.window):  # the stack may report once more while the window is torn down
            return
        name = self.project_path.stem if self.project_path is not None else "Untitled"
        self.window.setWindowTitle(f"{name}[*] — DAWN Studio")
        self.window.setWindowModified(self.is_modified())

    def confirm_unsaved(self, action: str, proceed: Any) -> None:
        """Run ``proceed`` now when nothing is unsaved, else after the creator chose Save (and it saved) or
        Don't Save; never on Cancel. The question does not block (see :mod:`.unsaved`)."""
        if not self.is_modified():
            proceed()
            return
        asking = self._unsaved_question
        if isinstance(asking, QWidget) and shiboken6.isValid(asking) and asking.isVisible():
            asking.raise_()  # already asking (Quit pressed twice): one question at a time
            return

        def answered(answer: Answer) -> None:
            if answer is Answer.SAVE:
                if self.save_project() is not None:
                    proceed()
            elif answer is Answer.DISCARD:
                if action == "quitting":
                    self._discard_session = True
                proceed()

        self._unsaved_question = self.ask_unsaved(self.window, action, answered)

    def request_new_project(self) -> None:
        self.confirm_unsaved("starting a new project", self.new_project)

    def request_open_project(self, path: str) -> None:
        self.confirm_unsaved("opening another project", lambda: self.open_project(path))

    def request_choose_project(self) -> None:
        self.confirm_unsaved("opening another project", self.choose_project)
