"""One asyncio.Lock per chat: updates of different chats run concurrently, updates of one chat run
one after another in the order they arrived (asyncio.Lock wakes its waiters first come, first served).
A chat's lock is dropped as soon as nobody holds or waits for it, so the table stays as small as the
number of chats being served right now."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator, Dict, Hashable


class ChatLocks:
    def __init__(self) -> None:
        self._locks: Dict[Hashable, asyncio.Lock] = {}
        self._users: Dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, chat: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._users[chat] = self._users.get(chat, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat] -= 1
            if not self._users[chat]:
                del self._users[chat]
                del self._locks[chat]

    def __len__(self) -> int:
        return len(self._locks)
