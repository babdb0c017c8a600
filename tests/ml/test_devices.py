"""Device choice and the shared device gate."""

import threading
import time

import pytest
import torch

from segstudio.errors import ModelError
from segstudio.ml.devices import DeviceGate, device_gate, gate_for, pick_device


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    auto = pick_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else auto.type)
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(ModelError, match="unknown device"):
        pick_device("tpu")


def test_gate_is_shared_per_device_and_reentrant():
    assert gate_for("cuda") is gate_for(torch.device("cuda:0"))
    assert gate_for("cpu") is not gate_for("cuda:0")
    with device_gate("cpu"):
        with device_gate("cpu"):
            assert gate_for("cpu").busy
    assert not gate_for("cpu").busy


def test_interactive_requests_go_before_waiting_background_ones():
    gate = DeviceGate()
    order = []
    gate.acquire("background")  # a training step is running
    started = threading.Barrier(3)

    def worker(kind):
        started.wait()
        if kind == "background":
            time.sleep(0.05)  # the trainer asks again first...
        with gate(kind):
            order.append(kind)

    threads = [threading.Thread(target=worker, args=(k,)) for k in ("background", "interactive")]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.2)  # ...but the prediction arrived while the step ran
    gate.release()
    for t in threads:
        t.join(5)
    assert order == ["interactive", "background"]


def test_only_one_holder_at_a_time():
    gate = DeviceGate()
    inside = []
    peak = []

    def work():
        for _ in range(20):
            with gate("background"):
                inside.append(1)
                peak.append(len(inside))
                inside.pop()

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert max(peak) == 1 and len(peak) == 80
    with pytest.raises(RuntimeError):
        gate.release()
