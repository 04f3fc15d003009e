import io
import zipfile
from pathlib import Path

import httpx
from PIL import Image as PILImage

from fal.toolkit import CompressedFile, File, Image, upload_image


def test_from_bytes_without_filestore_is_data_uri() -> None:
    file = File.from_bytes(b"hello", content_type="text/plain", file_name="a.txt")
    assert file.url == "data:text/plain;base64,aGVsbG8="
    assert file.file_size == 5
    assert File(url=file.url).as_bytes() == b"hello"


def test_from_bytes_with_filestore_returns_downloadable_url(
    with_filestore: str,
) -> None:
    file = File.from_bytes(b"payload", file_name="out.json")

    response = httpx.get(file.url)

    assert file.url.startswith(with_filestore + "/public/")
    assert file.content_type == "application/json"
    assert response.content == b"payload"
    assert response.headers["content-type"] == "application/json"


def test_from_path_then_save_round_trips(with_filestore: str, tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"\x00" * 2048)
    file = File.from_path(source)

    saved = File(url=file.url).save(tmp_path / "copy" / "weights.bin")

    assert file.file_name == "weights.bin"
    assert file.file_size == 2048
    assert saved.read_bytes() == source.read_bytes()


def test_image_from_pil_round_trips_size(with_filestore: str) -> None:
    picture = PILImage.new("RGB", (32, 16), "red")
    image = Image.from_pil(picture)

    decoded = Image(url=image.url).to_pil()

    assert (image.width, image.height) == (32, 16)
    assert image.content_type == "image/png"
    assert decoded.size == (32, 16)
    assert decoded.getpixel((0, 0)) == (255, 0, 0)


def test_upload_image_without_filestore_is_data_uri() -> None:
    url = upload_image(PILImage.new("RGB", (4, 4)))
    assert url.startswith("data:image/jpeg;base64,")


def test_compressed_file_iterates_members(with_filestore: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "A")
        archive.writestr("dir/b.txt", "B")
    uploaded = File.from_bytes(buffer.getvalue(), file_name="bundle.zip")

    members = list(CompressedFile(url=uploaded.url))

    assert sorted(p.name for p in members) == ["a.txt", "b.txt"]
    assert {p.read_text() for p in members} == {"A", "B"}
