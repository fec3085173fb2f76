"""Length-prefixed JSON messages over a pair of pipe file descriptors."""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

__all__ = ["Channel", "ChannelClosed", "ChannelTimeout", "MessageTooLarge"]

_HEADER = struct.Struct(">I")


class ChannelClosed(EOFError):
    """The other side closed its end (it exited or was killed)."""


class ChannelTimeout(TimeoutError):
    """No complete message arrived before the deadline."""


class MessageTooLarge(ValueError):
    """A message exceeded the size cap of the receiving side."""


class Channel:
    """One side of the host/worker protocol.

    Args:
        read_fd: the pipe to read messages from.
        write_fd: the pipe to write messages to.
        max_bytes: the largest message accepted from the other side.
    """

    def __init__(self, read_fd: int, write_fd: int, max_bytes: int = 256 << 20):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.max_bytes = max_bytes
        self._poll = select.poll()  # not select(): fds above 1024 are common in servers
        self._poll.register(read_fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            try:
                written = os.write(self.write_fd, view)
            except BrokenPipeError:
                raise ChannelClosed("the other side closed the channel") from None
            view = view[written:]

    def recv(self, deadline: float | None = None) -> dict[str, Any]:
        """The next message; ``deadline`` is a ``time.monotonic()`` value or None.

        Raises:
            ChannelClosed, ChannelTimeout, MessageTooLarge.
        """
        (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
        if size > self.max_bytes:
            raise MessageTooLarge(f"message of {size} bytes exceeds {self.max_bytes}")
        return json.loads(self._read(size, deadline))

    def _read(self, size: int, deadline: float | None) -> bytes:
        chunks, missing = [], size
        while missing:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not self._poll.poll(left * 1000):
                    raise ChannelTimeout("no message before the deadline")
            chunk = os.read(self.read_fd, min(missing, 1 << 20))
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Close both ends, once: a closed fd number may be reused by another file."""
        fds, self.read_fd, self.write_fd = (self.read_fd, self.write_fd), -1, -1
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
