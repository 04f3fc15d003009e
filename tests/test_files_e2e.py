"""Files end to end: toolkit outputs as URLs, app files, and /data on runners."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image as PILImage

from fal.files import FalFileSystem
from fal_platform.testing import RunningPlatform

PAINTER = """
import os
from pathlib import Path

from pydantic import BaseModel

import fal
from fal.toolkit import Image


class Painting(BaseModel):
    image: Image


class Painter(fal.App, keep_alive=60):
    app_name = "painter"
    app_auth = "public"
    requirements = ["Pillow"]
    app_files = ["assets"]

    def setup(self) -> None:
        # Deployed app files are in the working directory before setup().
        self.prompt = Path("assets/prompt.txt").read_text()

    @fal.endpoint("/")
    def paint(self) -> Painting:
        from PIL import Image as PILImage

        picture = PILImage.new("RGB", (24, 12), (0, 0, 255))
        return Painting(image=Image.from_pil(picture))

    @fal.endpoint("/prompt")
    def read_prompt(self) -> dict:
        return {"prompt": self.prompt, "nested": Path("assets/deep/x.txt").read_text()}

    @fal.endpoint("/data")
    def read_data(self) -> dict:
        root = Path(os.environ["FAL_PERSISTENT_DIR"])
        (root / "from-runner.txt").write_text("written by a runner")
        return {"note": (root / "shared" / "note.txt").read_text()}
"""


@pytest.fixture(scope="module")
def painter_url(
    platform: RunningPlatform, tmp_path_factory: pytest.TempPathFactory
) -> str:
    project = tmp_path_factory.mktemp("painter")
    (project / "assets" / "deep").mkdir(parents=True)
    (project / "assets" / "prompt.txt").write_text("a blue square")
    (project / "assets" / "deep" / "x.txt").write_text("nested file")
    (project / "painter.py").write_text(PAINTER)

    deployed = platform.fal("deploy", str(project / "painter.py"), "--json")

    assert deployed.returncode == 0, deployed.stderr
    return str(json.loads(deployed.stdout)["urls"]["run"])


def test_app_returns_image_url_served_by_filestore(
    platform: RunningPlatform, painter_url: str
) -> None:
    response = httpx.post(painter_url, json={}, timeout=600)
    assert response.status_code == 200, response.text
    image = response.json()["image"]

    download = httpx.get(image["url"], timeout=30)
    picture = PILImage.open(io.BytesIO(download.content))

    assert image["url"].startswith(platform.endpoints.filestore_url + "/public/")
    assert (image["width"], image["height"]) == (24, 12)
    assert image["content_type"] == "image/png"
    assert download.headers["content-type"] == "image/png"
    assert picture.size == (24, 12)
    assert picture.convert("RGB").getpixel((0, 0)) == (0, 0, 255)


def test_app_reads_deployed_app_files_by_relative_path(painter_url: str) -> None:
    response = httpx.post(f"{painter_url}/prompt", json={}, timeout=600)

    assert response.status_code == 200, response.text
    assert response.json() == {"prompt": "a blue square", "nested": "nested file"}


def test_data_uploaded_through_filestore_is_visible_to_runners(
    platform: RunningPlatform, painter_url: str, tmp_path: Path
) -> None:
    fs = FalFileSystem(host=platform.endpoints.filestore_url)
    note = tmp_path / "note.txt"
    note.write_text("shared with every runner")
    fs.put_file(str(note), "/data/shared/note.txt")

    response = httpx.post(f"{painter_url}/data", json={}, timeout=600)
    written = fs.info("/data/from-runner.txt")

    assert response.status_code == 200, response.text
    assert response.json() == {"note": "shared with every runner"}
    assert written["size"] == len("written by a runner")


def test_deploy_with_missing_app_file_names_it(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    source = PAINTER.replace('app_files = ["assets"]', 'app_files = ["missing.bin"]')
    app_file = tmp_path / "broken_painter.py"
    app_file.write_text(source.replace('"painter"', '"broken-painter"'))

    deployed = platform.fal("deploy", str(app_file))

    assert deployed.returncode == 1
    assert "missing.bin" in deployed.stderr
    listed = platform.fal("apps", "list", "--json", check=True)
    names = [a["application_id"] for a in json.loads(listed.stdout)["applications"]]
    assert "broken-painter" not in names
