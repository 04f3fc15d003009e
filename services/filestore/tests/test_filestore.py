import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fal_filestore import LocalDirectoryBackend, create_app


def test_put_then_get_returns_same_bytes(client: TestClient) -> None:
    payload = b"\x00\x01weights" * 1000
    put = client.put("/files/models/lora.bin", content=payload)
    assert put.status_code == 200
    assert put.json() == {"path": "models/lora.bin", "size": len(payload)}

    got = client.get("/files/models/lora.bin")
    assert got.status_code == 200
    assert got.content == payload
    assert got.headers["content-length"] == str(len(payload))


def test_get_guesses_content_type(client: TestClient) -> None:
    client.put("/files/out/cat.png", content=b"png")
    assert client.get("/files/out/cat.png").headers["content-type"] == "image/png"


# Percent-encoded so that the HTTP client does not normalise them away.
@pytest.mark.parametrize("path", ["%2E%2E/etc/passwd", "a/%2E%2E/%2E%2E/b", "a%00b"])
def test_path_traversal_is_refused_with_400(client: TestClient, path: str) -> None:
    response = client.put(f"/files/{path}", content=b"x")
    assert response.status_code == 400
    assert "Path" in response.json()["detail"]


def test_dotdot_path_is_refused_by_backend(tmp_path: Path) -> None:
    backend = LocalDirectoryBackend(tmp_path)
    for path in ["../escape", "/abs", "a/\x00b", ""]:
        with pytest.raises(ValueError, match="Path"):
            backend.size(path)


def test_missing_file_is_404_naming_it(client: TestClient) -> None:
    response = client.get("/files/nope.txt")
    assert response.status_code == 404
    assert "nope.txt" in response.json()["detail"]


def test_delete_removes_file(client: TestClient) -> None:
    client.put("/files/tmp.txt", content=b"x")
    assert client.delete("/files/tmp.txt").status_code == 200
    assert client.get("/files/tmp.txt").status_code == 404
    assert client.delete("/files/tmp.txt").status_code == 404


def test_health_answers_ok(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_write_onto_directory_leaves_no_temp_file(tmp_path: Path) -> None:
    backend = LocalDirectoryBackend(tmp_path)
    (tmp_path / "t").mkdir()

    with pytest.raises(IsADirectoryError):
        backend.write("t", io.BytesIO(b"x"))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_local_os_error_from_caller_is_409_naming_path(tmp_path: Path) -> None:
    backend = LocalDirectoryBackend(tmp_path)
    (tmp_path / "t").mkdir()
    client = TestClient(create_app(backend))

    response = client.put("/files/t", content=b"x")

    assert response.status_code == 409
    assert "Path 't'" in response.json()["detail"]
