"""Pick the compute device and share it: ``pick_device`` and ``device_gate``.

``device_gate(device)`` is a context manager that interactive inference and
background training both hold around each step (one forward, one optimiser
step).  Only one holder runs on a device at a time, so the two never need GPU
memory at once, and interactive work goes first: while an ``"interactive"``
request waits, ``"background"`` requests (training) do not get the device, so
a prediction runs between two training steps instead of after the epoch.
The gate works across threads of one process (the app's workers; a training
child process uses its own device budget).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from segstudio.errors import ModelError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str | None = "auto"):
    """``auto``: CUDA, then Apple MPS, then CPU.  Asking for a missing one is an error."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":", 1)[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda: no CUDA GPU is available here; use --device auto or cpu")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelError("--device mps: Apple MPS is not available here; use --device auto or cpu")
    if kind not in ("cpu", "cuda", "mps"):
        raise ModelError(f"unknown device '{name}'; use one of {', '.join(DEVICE_CHOICES)}")
    try:
        return torch.device(name)
    except RuntimeError as e:
        raise ModelError(f"bad device '{name}': {e}") from None


class DeviceGate:
    """A fair lock with two priorities; re-entrant for the holding thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: int | None = None
        self._depth = 0
        self._waiting_interactive = 0

    def acquire(self, priority: str = "interactive", timeout: float | None = None) -> bool:
        if priority not in ("interactive", "background"):
            raise ValueError(f"priority must be 'interactive' or 'background', not {priority!r}")
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            interactive = priority == "interactive"
            if interactive:
                self._waiting_interactive += 1
            try:
                ok = self._cond.wait_for(
                    lambda: self._owner is None and (interactive or self._waiting_interactive == 0), timeout)
                if ok:
                    self._owner, self._depth = me, 1
                return ok
            finally:
                if interactive:
                    self._waiting_interactive -= 1

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("device gate released by a thread that does not hold it")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    @property
    def busy(self) -> bool:
        return self._owner is not None

    @contextmanager
    def __call__(self, priority: str = "interactive") -> Iterator[None]:
        self.acquire(priority)
        try:
            yield
        finally:
            self.release()


_gates: dict[str, DeviceGate] = {}
_gates_lock = threading.Lock()


def gate_for(device) -> DeviceGate:
    """The one gate of a device (``cuda:0``, ``cpu``...)."""
    key = str(device)
    if key == "cuda":
        key = "cuda:0"
    with _gates_lock:
        return _gates.setdefault(key, DeviceGate())


@contextmanager
def device_gate(device, priority: str = "interactive") -> Iterator[None]:
    """Hold ``device`` for one step: ``with device_gate(dev, "background"): train_step()``."""
    with gate_for(device)(priority):
        yield
