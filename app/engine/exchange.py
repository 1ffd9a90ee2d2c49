"""The exchange with the single window: where messages arrive and where they are sent.

The real client's sync program (同步小程序) works through a folder: files arriving in
``inbox/``, files to send written to ``outbox/``, refused files moved to ``rejected/`` with a
``<name>.reason.txt`` beside them, and files read moved to ``done/``.  ``FolderSource`` is that
folder (``EXCHANGE_DIR``); another source (an HTTP endpoint of the single window) only needs the
same five methods.

Moves happen after the database commit (``after_commit``): a run that fails leaves its files in
the inbox, to be read again — never a file marked read whose data was not kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

_SAFE = re.compile(r"[^\w.\-]")


@dataclass(frozen=True)
class Incoming:
    name: str
    size: int


class ExchangeSource(Protocol):
    def incoming(self) -> list[Incoming]: ...

    def read(self, name: str) -> bytes: ...

    def done(self, session, name: str) -> None: ...

    def reject(self, session, name: str, reason: str) -> None: ...

    def send(self, name: str, data: bytes) -> None: ...


def _after_commit(session, fn) -> None:
    session.info.setdefault("exchange_after_commit", []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_moves(session):
    if session.in_nested_transaction():  # a savepoint's RELEASE fires after_commit too
        return
    for fn in session.info.pop("exchange_after_commit", []):
        fn()


@event.listens_for(Session, "after_rollback")
def _drop_moves(session):
    if not session.in_transaction():
        session.info.pop("exchange_after_commit", None)


class FolderSource:
    """``root/inbox``, ``root/outbox``, ``root/rejected``, ``root/done``."""

    def __init__(self, root: str):
        self.root = root
        for sub in ("inbox", "outbox", "rejected", "done"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)

    def _path(self, sub: str, name: str) -> str:
        return os.path.join(self.root, sub, _SAFE.sub("_", os.path.basename(name)))

    def incoming(self) -> list[Incoming]:
        out = []
        with os.scandir(os.path.join(self.root, "inbox")) as it:
            for e in it:
                if e.is_file(follow_symlinks=False) and not e.name.startswith("."):
                    out.append(Incoming(e.name, e.stat(follow_symlinks=False).st_size))
        return sorted(out, key=lambda i: i.name)

    def read(self, name: str) -> bytes:
        with open(self._path("inbox", name), "rb") as f:
            return f.read()

    def _move(self, name: str, sub: str) -> None:
        """Out of the inbox — unless another run (the inbox is shared) took it first."""
        try:
            os.replace(self._path("inbox", name), self._path(sub, name))
        except FileNotFoundError:
            pass

    def done(self, session, name: str) -> None:
        _after_commit(session, lambda: self._move(name, "done"))

    def reject(self, session, name: str, reason: str) -> None:
        def move():
            self._move(name, "rejected")
            with open(self._path("rejected", name) + ".reason.txt", "w",
                      encoding="utf-8") as f:
                f.write(reason + "\n")

        _after_commit(session, move)

    def send(self, name: str, data: bytes) -> None:
        """Written whole or not at all: a temporary file of this writer's own, renamed."""
        target = self._path("outbox", name)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".",
                                   suffix=".part", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def source(app) -> FolderSource:
    return FolderSource(app.config["EXCHANGE_DIR"])
