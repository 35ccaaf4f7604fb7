"""The exceptions raised by :mod:`shmq`.

Every exception the library raises for a queue condition derives from
:class:`Error`. Where a built-in exception means the same thing, the class
also derives from it, so ``except TimeoutError`` or ``except FileNotFoundError``
work as they do with files and sockets:

=====================  ===========================================================
class                  also a
=====================  ===========================================================
:class:`Full`          (``try_send``: no free slot)
:class:`Empty`         (``try_recv``: no message)
:class:`Timeout`       :class:`TimeoutError`
:class:`Disconnected`  (the peer closed its end or died; the queue is drained)
:class:`TooLarge`      :class:`ValueError`
:class:`WrongSize`     :class:`ValueError` (dense: not exactly one record long)
:class:`RoleTaken`     (another live endpoint holds the role)
:class:`TableFull`     (MPMC: every endpoint-table entry is in use)
:class:`Poisoned`      (a peer wrote an impossible state into the region)
:class:`InvalidRegion` (the region's header is not a valid queue of this kind)
:class:`NotReady`      :class:`InvalidRegion` and :class:`TimeoutError`
:class:`InvalidName`   :class:`ValueError`
:class:`NotFound`      :class:`FileNotFoundError`
:class:`AlreadyExists` :class:`FileExistsError`
:class:`PermissionDenied` :class:`PermissionError`
:class:`IoError`       :class:`OSError` (any other failed system call)
=====================  ===========================================================
"""

__all__ = [
    "Error",
    "Full",
    "Empty",
    "Timeout",
    "Disconnected",
    "TooLarge",
    "WrongSize",
    "RoleTaken",
    "TableFull",
    "Poisoned",
    "InvalidRegion",
    "NotReady",
    "InvalidName",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "IoError",
]


class Error(Exception):
    """Base class of every exception raised by shmq."""


class Full(Error):
    """``try_send``: the queue has no free slot (and the receiver is alive)."""


class Empty(Error):
    """``try_recv``: the queue holds no message (and the sender is alive)."""


class Timeout(Error, TimeoutError):
    """A blocking call's timeout expired before it could complete."""


class Disconnected(Error):
    """The peer is gone.

    A receiver gets it once the queue is drained and every sender closed its
    end or died; a sender gets it when the queue is full and every receiver
    is gone (a send to a queue with room succeeds even without a receiver).
    It is not sticky: a new peer may attach and traffic resumes.
    """


class TooLarge(Error, ValueError):
    """A message does not fit: larger than a slot (send), or larger than the
    buffer given to ``recv_into`` (the message stays queued)."""


class WrongSize(Error, ValueError):
    """Dense queues (:mod:`shmq.dense`): a message that is not exactly one
    record (``record_size`` bytes, the queue's ``slot_size``) long. Nothing
    was sent. A sibling of :class:`TooLarge`, not a subclass: a message may
    be too short as well; both are :class:`ValueError`.

    >>> import shmq
    >>> with shmq.dense.Queue.create("doc-wrongsize", record_size=8) as q, q.sender() as tx:
    ...     tx.try_send(b"short")
    Traceback (most recent call last):
    ...
    shmq.errors.WrongSize: 5 bytes are not whole records of 8 bytes (a dense queue carries records of exactly that size)
    """


class RoleTaken(Error):
    """SPSC, bytes, dense: another live endpoint, in this or another process, holds the role."""


class TableFull(Error):
    """MPMC: every entry of the endpoint table is in use."""


class Poisoned(Error):
    """A peer wrote a state into the shared region that no honest queue can be
    in. This queue's calls fail from now on; other queues are unaffected."""


class InvalidRegion(Error):
    """The named region is not a valid queue of the requested kind (bad
    header, another kind, not a regular file)."""


class NotReady(InvalidRegion, TimeoutError):
    """The region's creator did not finish initialising it in time."""


class InvalidName(Error, ValueError):
    """A queue name must be 1 to 200 characters of ``[A-Za-z0-9._-]``, not
    starting with ``.``."""


class NotFound(Error, FileNotFoundError):
    """No queue of that name exists."""


class AlreadyExists(Error, FileExistsError):
    """A queue (or another file) of that name already exists."""


class PermissionDenied(Error, PermissionError):
    """The region's file is not ours, or is writable by group or others, or the
    system refused access."""


class IoError(Error, OSError):
    """Another system call failed."""
