"""Weights download against a local HTTP server on 127.0.0.1."""

import hashlib
import socket

import pytest
import torch

from segstudio.errors import ModelError
from segstudio.ml.download import download, expected_hash, is_cached
from tests.local_server import serving


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    torch.save({"w": torch.arange(50_000, dtype=torch.float32)}, root / "payload.pth")
    data = (root / "payload.pth").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    (root / f"tiny-{digest[:8]}.pth").write_bytes(data)
    (root / "tiny-deadbeef.pth").write_bytes(data)
    with serving(root) as base:
        yield base, digest, data


def test_download_reports_progress_checks_hash_and_caches(server, tmp_path):
    base, digest, data = server
    url = f"{base}/tiny-{digest[:8]}.pth"
    assert expected_hash(url) == digest[:8]
    calls = []
    path = download(url, tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert path == tmp_path / f"tiny-{digest[:8]}.pth"
    assert path.read_bytes() == data and is_cached(url, tmp_path)
    assert calls[0] == (0, len(data)) and calls[-1] == (len(data), len(data))
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert torch.load(path, weights_only=True)["w"].shape == (50_000,)
    assert list(tmp_path.iterdir()) == [path]
    # cached: no second download
    calls.clear()
    assert download(url, tmp_path, progress=lambda d, t: calls.append(d)) == path and calls == []


def test_explicit_sha256_is_checked(server, tmp_path):
    base, digest, _ = server
    assert download(f"{base}/payload.pth", tmp_path, sha256=digest).is_file()
    with pytest.raises(ModelError, match="corrupt"):
        download(f"{base}/payload.pth", tmp_path / "other", sha256="0" * 64)


def test_wrong_hash_is_rejected_and_nothing_is_left(server, tmp_path):
    base, _, _ = server
    url = f"{base}/tiny-deadbeef.pth"
    with pytest.raises(ModelError, match=r"corrupt .*expected deadbeef"):
        download(url, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not is_cached(url, tmp_path)


def test_missing_file_on_server_leaves_nothing(server, tmp_path):
    base, _, _ = server
    with pytest.raises(ModelError, match="cannot download"):
        download(f"{base}/nothere-abcdef12.pth", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_refused_connection_is_the_offline_error(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/models/fcn-1234abcd.pth"
    with pytest.raises(ModelError) as e:
        download(url, tmp_path)
    msg = str(e.value)
    assert url in msg and "offline" in msg and str(tmp_path / "fcn-1234abcd.pth") in msg
    assert list(tmp_path.iterdir()) == []
