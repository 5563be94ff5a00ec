"""In-process change notifications per mailbox (IMAP IDLE wakes on them)."""
from __future__ import annotations

import threading
from collections import defaultdict
from typing import Callable


class MailEvents:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[int, set[Callable[[int], None]]] = defaultdict(set)

    def subscribe(self, mailbox_id: int, callback: Callable[[int], None]) -> Callable[[], None]:
        """Call ``callback(mailbox_id)`` after each committed change; returns the unsubscriber."""
        with self._lock:
            self._listeners[mailbox_id].add(callback)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners[mailbox_id].discard(callback)
                if not self._listeners[mailbox_id]:
                    del self._listeners[mailbox_id]

        return unsubscribe

    def notify(self, mailbox_id: int) -> None:
        with self._lock:
            listeners = list(self._listeners.get(mailbox_id, ()))
        for cb in listeners:
            cb(mailbox_id)
