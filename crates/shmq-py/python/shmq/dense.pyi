"""Fixed-size records back to back (type stubs)."""

import sys
from typing import Optional, final, type_check_only

if sys.version_info >= (3, 11):
    from typing import Self, TypedDict
else:
    from typing_extensions import Self, TypedDict
if sys.version_info >= (3, 12):
    from collections.abc import Buffer
else:
    from typing_extensions import Buffer

__all__ = ["Queue", "Sender", "Receiver"]

@type_check_only
class WaitStats(TypedDict):
    consumer_sleeps: int
    consumer_spurious: int
    data_wakes: int
    producer_sleeps: int
    producer_spurious: int
    room_wakes: int

@type_check_only
class Stats(TypedDict):
    enqueued: int  # records
    dequeued: int
    full: int
    empty: int
    producer_poisoned: int
    consumer_poisoned: int
    poisoned: bool
    producer: str  # "never", "attached", "closed" or "invalid(N)"
    consumer: str
    wait: WaitStats

@final
class Queue:
    """A handle to a named dense queue: ``capacity`` records of exactly
    ``slot_size`` (``record_size``) bytes."""

    @staticmethod
    def create(name: str, capacity: int = 4096, record_size: int = 8, *, persist: bool = False) -> Queue:
        """Creates the queue ``name`` (``/dev/shm/<name>``, mode 0600). Raises
        AlreadyExists, InvalidName, InvalidRegion (geometry)."""
    @staticmethod
    def open(name: str) -> Queue:
        """Opens the existing queue ``name``. Raises NotFound, InvalidName,
        InvalidRegion, NotReady, PermissionDenied."""
    @staticmethod
    def open_or_create(name: str, capacity: int = 4096, record_size: int = 8, *, persist: bool = False) -> Queue:
        """Opens ``name`` if it exists (whatever its geometry), else creates it."""
    @staticmethod
    def remove(name: str) -> None:
        """Removes ``name`` from ``/dev/shm``. Raises NotFound, InvalidName."""
    def sender(self) -> Sender:
        """Takes a sending endpoint."""
    def receiver(self) -> Receiver:
        """Takes a receiving endpoint."""
    @property
    def capacity(self) -> int: ...
    @property
    def slot_size(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def len(self) -> int:
        """Messages in the queue: a snapshot, between 0 and ``capacity``."""
    def stats(self) -> Stats:
        """The queue's counters (informative: peers write them)."""
    def close(self) -> None:
        """Closes this handle (endpoints taken from it stay usable)."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class Sender:
    """The sending end of a queue (see the module docs); ``send_records``
    sends many records at once."""

    def send(self, data: Buffer, timeout: Optional[float] = None) -> None:
        """Sends the bytes of ``data`` as one message, waiting up to
        ``timeout`` seconds (``None``: no bound) for a free slot, without the
        GIL; Ctrl-C ends the wait. Raises Timeout, Disconnected,
        WrongSize (not exactly one record), Poisoned."""
    def try_send(self, data: Buffer) -> None:
        """Sends if a slot is free. Raises Full, Disconnected, WrongSize, Poisoned."""
    def send_records(self, data: Buffer, timeout: Optional[float] = None) -> int:
        """Sends the leading whole records of ``data`` (records back to back)
        in one batch and returns how many: at least one (0 if ``data`` is
        empty), fewer if the queue has room for fewer (send the rest with
        another call). Waits as ``send`` for room for one record. Raises
        WrongSize (``len(data)`` not a multiple of ``slot_size``; nothing
        sent), Timeout, Disconnected, Poisoned."""
    def try_send_records(self, data: Buffer) -> int:
        """``send_records`` without waiting (raises Full if not one record fits)."""
    def close(self) -> None:
        """Detaches this sender (idempotent)."""
    @property
    def closed(self) -> bool: ...
    @property
    def capacity(self) -> int: ...
    @property
    def slot_size(self) -> int: ...
    @property
    def name(self) -> str: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...

@final
class Receiver:
    """The receiving end of a queue (see the module docs); ``recv_records``
    and ``recv_records_into`` receive many records at once."""

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """Receives one message, waiting up to ``timeout`` seconds (``None``:
        no bound), without the GIL; Ctrl-C ends the wait. Raises Timeout,
        Disconnected, Poisoned."""
    def recv_into(self, buffer: Buffer, timeout: Optional[float] = None) -> int:
        """Receives one message into the writable ``buffer`` and returns its
        length. Raises as ``recv``, and TooLarge if it does not fit (the
        message stays queued)."""
    def try_recv(self) -> bytes:
        """Receives a message if there is one. Raises Empty, Disconnected, Poisoned."""
    def try_recv_into(self, buffer: Buffer) -> int:
        """``recv_into`` without waiting (raises Empty)."""
    def recv_records(self, max_records: int, timeout: Optional[float] = None) -> bytes:
        """Receives 1 to ``max_records`` records in one batch (as many as are
        queued), back to back as ``bytes``; ``b""`` at once if ``max_records``
        is 0. Waits as ``recv``. Raises Timeout, Disconnected, Poisoned."""
    def try_recv_records(self, max_records: int) -> bytes:
        """``recv_records`` without waiting (raises Empty)."""
    def recv_records_into(self, buffer: Buffer, timeout: Optional[float] = None) -> int:
        """Receives as many records as the writable ``buffer`` holds whole
        (at least one; 0 at once for an empty buffer), back to back from its
        start, and returns how many; bytes past them are untouched. Waits as
        ``recv``. Raises as ``recv_records``, and TooLarge if ``buffer`` is
        shorter than one record (the records stay queued)."""
    def try_recv_records_into(self, buffer: Buffer) -> int:
        """``recv_records_into`` without waiting (raises Empty)."""
    def close(self) -> None:
        """Detaches this receiver (idempotent)."""
    @property
    def closed(self) -> bool: ...
    @property
    def capacity(self) -> int: ...
    @property
    def slot_size(self) -> int: ...
    @property
    def name(self) -> str: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> bytes: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...
