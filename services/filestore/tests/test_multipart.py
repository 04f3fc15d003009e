import os
import time

from fastapi.testclient import TestClient

from fal_filestore.service import Filestore

PART = 5 * 1024 * 1024  # the S3 API's smallest non-final part


def _start(client: TestClient, path: str) -> str:
    response = client.post("/multipart", json={"kind": "data", "path": path})
    assert response.status_code == 200, response.text
    return str(response.json()["upload_id"])


def test_upload_parts_out_of_order_assembles_in_order(client: TestClient) -> None:
    first, second = os.urandom(PART), os.urandom(1000)
    upload_id = _start(client, "big/model.bin")

    assert client.put(f"/multipart/{upload_id}/parts/2", content=second).is_success
    assert client.put(f"/multipart/{upload_id}/parts/1", content=first).is_success
    done = client.post(f"/multipart/{upload_id}/complete", json={"parts": [1, 2]})

    assert done.json() == {"size": PART + 1000, "path": "big/model.bin"}
    assert client.get("/data/big/model.bin").content == first + second


def test_upload_part_twice_keeps_last_copy(client: TestClient) -> None:
    upload_id = _start(client, "twice.bin")
    client.put(f"/multipart/{upload_id}/parts/1", content=b"old")
    client.put(f"/multipart/{upload_id}/parts/1", content=b"new")

    parts = client.get(f"/multipart/{upload_id}").json()["parts"]
    client.post(f"/multipart/{upload_id}/complete", json={})

    assert [part["number"] for part in parts] == [1]
    assert client.get("/data/twice.bin").content == b"new"


def test_resume_lists_uploaded_parts(client: TestClient) -> None:
    upload_id = _start(client, "resume.bin")
    client.put(f"/multipart/{upload_id}/parts/1", content=b"a" * PART)

    listed = client.get(f"/multipart/{upload_id}").json()["parts"]
    client.put(f"/multipart/{upload_id}/parts/2", content=b"b")
    done = client.post(f"/multipart/{upload_id}/complete", json={})

    assert listed == [{"number": 1, "size": PART, "etag": listed[0]["etag"]}]
    assert done.json()["size"] == PART + 1


def test_cancel_removes_parts_and_upload(client: TestClient) -> None:
    upload_id = _start(client, "cancelled.bin")
    client.put(f"/multipart/{upload_id}/parts/1", content=b"x")

    assert client.delete(f"/multipart/{upload_id}").status_code == 200
    assert client.get(f"/multipart/{upload_id}").status_code == 404
    assert client.get("/data/cancelled.bin").status_code == 404
    assert _leftover_uploads(client) == 0


def test_sweep_expires_stale_uploads(client: TestClient) -> None:
    upload_id = _start(client, "stale.bin")
    client.put(f"/multipart/{upload_id}/parts/1", content=b"x")
    store: Filestore = client.app.state.filestore  # type: ignore[attr-defined]

    counts = store.sweep(now=time.time() + store.settings.upload_ttl_seconds + 60)

    assert counts["uploads"] == 1
    assert client.get(f"/multipart/{upload_id}").status_code == 404
    assert _leftover_uploads(client) == 0


def test_complete_with_missing_part_is_refused(client: TestClient) -> None:
    upload_id = _start(client, "gap.bin")
    client.put(f"/multipart/{upload_id}/parts/1", content=b"x")
    response = client.post(f"/multipart/{upload_id}/complete", json={"parts": [1, 2]})
    assert response.status_code == 404
    assert "2" in response.json()["detail"]


def test_part_number_out_of_range_is_refused(client: TestClient) -> None:
    upload_id = _start(client, "range.bin")
    response = client.put(f"/multipart/{upload_id}/parts/0", content=b"x")
    assert response.status_code == 400
    assert "Part number 0" in response.json()["detail"]


def test_start_with_traversal_path_is_refused(client: TestClient) -> None:
    for path in ["../other/x", "/etc/passwd", "a\x00b"]:
        response = client.post("/multipart", json={"kind": "data", "path": path})
        assert response.status_code == 400
        assert "Path" in response.json()["detail"]


def test_other_owner_cannot_see_upload(client: TestClient) -> None:
    upload_id = _start(client, "mine.bin")
    response = client.get(f"/multipart/{upload_id}", headers={"x-fal-owner": "eve"})
    assert response.status_code == 404


def _leftover_uploads(client: TestClient) -> int:
    backend = client.app.state.filestore.backend  # type: ignore[attr-defined]
    records = [info for info in backend.walk("uploads")]
    in_progress = backend.expire_multipart(time.time() + 10)
    return len(records) + in_progress


def test_start_with_invalid_mode_is_422(client: TestClient) -> None:
    response = client.post(
        "/multipart", json={"kind": "data", "path": "ok/x", "mode": "abc"}
    )
    assert response.status_code == 422
    assert "'abc'" in response.json()["detail"]


def test_start_data_upload_onto_directory_is_409(client: TestClient) -> None:
    client.put("/data/t/a.txt", content=b"a")
    response = client.post("/multipart", json={"kind": "data", "path": "t"})
    assert response.status_code == 409
    assert "'t' is a directory" in response.json()["detail"]
