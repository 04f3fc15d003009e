import hashlib
import json
import time

from fastapi.testclient import TestClient

from fal_filestore.service import Filestore


def _app_hash(content: bytes, mode: int = 0o644) -> str:
    return hashlib.sha256(content + f"\nmode={mode:o}".encode()).hexdigest()


def test_missing_hashes_lists_only_unknown(client: TestClient) -> None:
    known, unknown = _app_hash(b"print(1)"), _app_hash(b"print(2)")
    client.put(f"/app-files/{known}", params={"mode": 0o644}, content=b"print(1)")

    response = client.post("/app-files/missing", json={"hashes": [known, unknown]})

    assert response.json() == {"missing": [unknown]}


def test_put_app_file_with_wrong_hash_is_rejected(client: TestClient) -> None:
    claimed = _app_hash(b"original")
    response = client.put(f"/app-files/{claimed}", content=b"tampered")
    assert response.status_code == 400
    assert claimed in response.json()["detail"]
    assert client.get(f"/app-files/{claimed}").status_code == 404


def test_multipart_app_file_with_wrong_hash_is_rejected(client: TestClient) -> None:
    claimed = _app_hash(b"original")
    started = client.post(
        "/multipart", json={"kind": "app", "hash": claimed, "mode": 420}
    )
    upload_id = started.json()["upload_id"]
    client.put(f"/multipart/{upload_id}/parts/1", content=b"tampered")
    response = client.post(f"/multipart/{upload_id}/complete", json={})
    assert response.status_code == 400
    assert client.post("/app-files/missing", json={"hashes": [claimed]}).json() == {
        "missing": [claimed]
    }


def test_malformed_hash_is_refused(client: TestClient) -> None:
    response = client.post("/app-files/missing", json={"hashes": ["../../etc"]})
    assert response.status_code == 400
    assert "../../etc" in response.json()["detail"]


def test_data_list_info_move_delete(client: TestClient) -> None:
    client.put("/data/models/a.bin", content=b"aaa")
    client.put("/data/models/sub/b.bin", content=b"bb")

    listing = client.get("/data-ls/models").json()["entries"]
    moved = client.post(
        "/data-move", json={"source": "models/a.bin", "destination": "c.bin"}
    )
    removed = client.delete("/data/models", params={"recursive": "true"})

    assert [(e["path"], e["type"]) for e in listing] == [
        ("models/a.bin", "file"),
        ("models/sub", "directory"),
    ]
    assert moved.status_code == 200
    assert client.get("/data/c.bin").content == b"aaa"
    assert removed.json()["removed"] == 1
    assert client.get("/data-ls/models").json()["entries"] == []


def test_data_is_namespaced_per_owner(client: TestClient) -> None:
    client.put("/data/secret.txt", content=b"mine", headers={"x-fal-owner": "alice"})
    response = client.get("/data/secret.txt", headers={"x-fal-owner": "bob"})
    assert response.status_code == 404


def test_data_traversal_is_refused_naming_path(client: TestClient) -> None:
    for path in ["%2E%2E/alice/secret.txt", "a/%2E%2E/%2E%2E/x", "a%00b"]:
        response = client.get(f"/data/{path}")
        assert response.status_code == 400
        assert "Path" in response.json()["detail"]
    moved = client.post("/data-move", json={"source": "a", "destination": "../b"})
    assert moved.status_code == 400
    assert "'../b'" in moved.json()["detail"]


def test_data_from_private_url_is_refused(client: TestClient) -> None:
    response = client.post(
        "/data-from-url/x.bin", json={"url": "http://127.0.0.1:1/secret"}
    )
    assert response.status_code == 400
    assert "127.0.0.1" in response.json()["detail"]


def test_public_file_serves_content_type_and_ranges(client: TestClient) -> None:
    payload = bytes(range(256)) * 4
    uploaded = client.post(
        "/public-upload", params={"file_name": "cat.png"}, content=payload
    )
    url = uploaded.json()["url"]

    whole = client.get(url)
    middle = client.get(url, headers={"range": "bytes=10-19"})
    tail = client.get(url, headers={"range": "bytes=-4"})

    assert whole.headers["content-type"] == "image/png"
    assert whole.content == payload
    assert middle.status_code == 206
    assert middle.content == payload[10:20]
    assert middle.headers["content-range"] == f"bytes 10-19/{len(payload)}"
    assert tail.content == payload[-4:]
    assert client.get(url, headers={"range": "bytes=5000-"}).status_code == 416


def test_public_file_expires_when_asked(client: TestClient) -> None:
    preference = json.dumps({"expiration_duration_seconds": 60})
    uploaded = client.post(
        "/public-upload",
        params={"file_name": "out.txt"},
        content=b"soon gone",
        headers={"x-fal-object-lifecycle-preference": preference},
    )
    url = uploaded.json()["url"]
    store: Filestore = client.app.state.filestore  # type: ignore[attr-defined]

    assert client.get(url).status_code == 200
    assert store.sweep(now=time.time() + 120)["public"] == 1
    assert client.get(url).status_code == 404


def test_kv_set_get_delete(client: TestClient) -> None:
    assert client.put("/kv/cache/k1", content=b"v1", params={"ttl": 60}).is_success
    assert client.get("/kv/cache/k1").content == b"v1"
    assert client.delete("/kv/cache/k1").status_code == 200
    assert client.get("/kv/cache/k1").status_code == 404


def test_kv_entry_expires_after_ttl(client: TestClient) -> None:
    client.put("/kv/cache/short", content=b"v", params={"ttl": 60})
    store: Filestore = client.app.state.filestore  # type: ignore[attr-defined]
    assert store.sweep(now=time.time() + 61)["kv"] == 1
    assert client.get("/kv/cache/short").status_code == 404


def test_kv_value_over_limit_is_refused(client: TestClient) -> None:
    limit = client.app.state.filestore.settings.kv_max_value_bytes  # type: ignore[attr-defined]
    response = client.put("/kv/cache/big", content=b"x" * (limit + 1))
    assert response.status_code == 413
    assert str(limit) in response.json()["detail"]


def test_kv_is_namespaced_per_owner(client: TestClient) -> None:
    client.put("/kv/db/key", content=b"alice's", headers={"x-fal-owner": "alice"})
    assert client.get("/kv/db/key", headers={"x-fal-owner": "bob"}).status_code == 404


def test_kv_ttl_out_of_range_is_refused(client: TestClient) -> None:
    response = client.put("/kv/db/key", content=b"v", params={"ttl": 5})
    assert response.status_code == 400
    assert "TTL 5" in response.json()["detail"]


def test_malformed_key_header_is_401(client: TestClient) -> None:
    response = client.get("/kv/db/key", headers={"authorization": "Bearer x"})
    assert response.status_code == 401


def test_put_data_onto_directory_is_409_leaving_no_temp_files(
    client: TestClient,
) -> None:
    client.put("/data/t/a.txt", content=b"a")

    response = client.put("/data/t", content=b"x")

    assert response.status_code == 409
    assert "'t' is a directory" in response.json()["detail"]
    listing = client.get("/data-ls/t").json()["entries"]
    assert [entry["path"] for entry in listing] == ["t/a.txt"]


def test_put_data_below_file_is_409_naming_file(client: TestClient) -> None:
    client.put("/data/t/b.txt", content=b"b")

    response = client.put("/data/t/b.txt/c", content=b"x")

    assert response.status_code == 409
    assert "'t/b.txt' is a file" in response.json()["detail"]
    assert client.get("/data/t/b.txt").content == b"b"


def test_move_file_onto_directory_moves_into_it(client: TestClient) -> None:
    client.put("/data/t/b.txt", content=b"b")
    client.put("/data/t/dir2/c.txt", content=b"c")

    moved = client.post(
        "/data-move", json={"source": "t/b.txt", "destination": "t/dir2"}
    )

    assert moved.status_code == 200
    assert moved.json()["destination"] == "t/dir2/b.txt"
    assert client.get("/data/t/dir2/b.txt").content == b"b"
    assert client.get("/data/t/b.txt").status_code == 404


def test_move_directory_into_itself_is_400(client: TestClient) -> None:
    client.put("/data/t/a.txt", content=b"a")

    moved = client.post("/data-move", json={"source": "t", "destination": "t/inner"})

    assert moved.status_code == 400
    assert "into itself" in moved.json()["detail"]
    assert client.get("/data/t/a.txt").content == b"a"


def test_move_directory_onto_file_is_409(client: TestClient) -> None:
    client.put("/data/d/a.txt", content=b"a")
    client.put("/data/f.txt", content=b"f")

    moved = client.post("/data-move", json={"source": "d", "destination": "f.txt"})

    assert moved.status_code == 409
    assert "'f.txt' is a file" in moved.json()["detail"]
    assert client.get("/data/d/a.txt").content == b"a"


def test_move_missing_source_is_404(client: TestClient) -> None:
    moved = client.post("/data-move", json={"source": "nope", "destination": "x"})
    assert moved.status_code == 404
    assert "'nope'" in moved.json()["detail"]


def test_get_public_html_is_served_as_sandboxed_attachment(
    client: TestClient,
) -> None:
    url = client.post(
        "/public-upload", params={"file_name": "page.html"}, content=b"<script>"
    ).json()["url"]

    response = client.get(url)

    assert response.headers["content-disposition"] == "attachment"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"


def test_get_public_image_is_served_inline_with_nosniff(client: TestClient) -> None:
    url = client.post(
        "/public-upload", params={"file_name": "cat.png"}, content=b"png"
    ).json()["url"]

    response = client.get(url)

    assert "content-disposition" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_kv_key_with_slash_is_400_naming_it(client: TestClient) -> None:
    response = client.put("/kv/db/a%2Fb", content=b"v")
    assert response.status_code == 400
    assert "'a/b'" in response.json()["detail"]
    assert client.get("/kv/db/a%2Fb").status_code == 400
