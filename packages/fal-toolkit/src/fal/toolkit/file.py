"""Files that endpoints return: stored on upload, described by their URL."""

from __future__ import annotations

import io
import mimetypes
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from fal.toolkit._storage import read_url, store_bytes, store_path

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

DEFAULT_CONTENT_TYPE = "application/octet-stream"


class File(BaseModel):
    """A file an endpoint returns: its URL, type, name and size."""

    model_config = ConfigDict(json_schema_extra={"ui": {"field": "file"}})

    url: str = Field(description="The URL where the file can be downloaded from.")
    content_type: str | None = Field(default=None, description="The MIME type.")
    file_name: str | None = Field(default=None, description="The file's name.")
    file_size: int | None = Field(default=None, description="The size in bytes.")
    file_data: bytes | None = Field(default=None, exclude=True, repr=False)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        content_type: str | None = None,
        file_name: str | None = None,
        *,
        expires_in: int | None = None,
        **fields: Any,
    ) -> File:
        """Store ``data`` and describe it."""
        content_type, file_name = _name_and_type(content_type, file_name)
        url = store_bytes(data, content_type, file_name, expires_in)
        return cls(
            url=url,
            content_type=content_type,
            file_name=file_name,
            file_size=len(data),
            file_data=data,
            **fields,
        )

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        content_type: str | None = None,
        *,
        expires_in: int | None = None,
        **fields: Any,
    ) -> File:
        """Store the file at ``path`` and describe it."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"File {path} does not exist.")
        content_type, file_name = _name_and_type(content_type, path.name)
        url = store_path(path, content_type, file_name, expires_in)
        return cls(
            url=url,
            content_type=content_type,
            file_name=file_name,
            file_size=path.stat().st_size,
            **fields,
        )

    def as_bytes(self) -> bytes:
        """The file's content, downloaded once and then kept."""
        if self.file_data is None:
            self.file_data = read_url(self.url)
        return self.file_data

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the content to ``path`` (atomically); return the path."""
        target = Path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(
                f"{target} exists; pass overwrite=True to replace it."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
            out.write(self.as_bytes())
        Path(out.name).replace(target)
        return target


class Image(File):
    """An image file; width and height are known when made from PIL."""

    model_config = ConfigDict(json_schema_extra={"ui": {"field": "image"}})

    width: int | None = Field(default=None, description="Width in pixels.")
    height: int | None = Field(default=None, description="Height in pixels.")

    @classmethod
    def from_pil(
        cls,
        pil_image: PILImage,
        format: str = "png",
        file_name: str | None = None,
        *,
        expires_in: int | None = None,
        **save_options: Any,
    ) -> Image:
        """Encode a PIL image in ``format`` and store it."""
        buffer = io.BytesIO()
        pil_image.save(buffer, format=format.upper(), **save_options)
        extension = "jpg" if format.lower() == "jpeg" else format.lower()
        image = cls.from_bytes(
            buffer.getvalue(),
            content_type=f"image/{format.lower()}",
            file_name=file_name or f"{uuid.uuid4().hex}.{extension}",
            expires_in=expires_in,
            width=pil_image.width,
            height=pil_image.height,
        )
        return image  # type: ignore[return-value]

    def to_pil(self) -> PILImage:
        """Decode the image with Pillow (an optional dependency)."""
        try:
            from PIL import Image as PILImageModule
        except ImportError as error:
            raise ImportError(
                "Image.to_pil needs Pillow; install fal-toolkit[image]."
            ) from error
        image = PILImageModule.open(io.BytesIO(self.as_bytes()))
        image.load()
        return image


class Audio(File):
    """An audio file."""

    model_config = ConfigDict(json_schema_extra={"ui": {"field": "audio"}})


class Video(File):
    """A video file."""

    model_config = ConfigDict(json_schema_extra={"ui": {"field": "video"}})


class CompressedFile(File):
    """A zip or tar archive; iterating it yields the paths of its members.

    Members are extracted once into a temporary directory that outlives the
    object (paths handed out stay valid); it is left for the OS to clean.
    """

    _extract_dir: Path | None = PrivateAttr(default=None)

    def __iter__(self) -> Iterator[Path]:  # type: ignore[override]
        directory = self._extract()
        yield from sorted(p for p in directory.rglob("*") if p.is_file())

    def glob(self, pattern: str) -> Iterator[Path]:
        yield from sorted(self._extract().glob(pattern))

    def _extract(self) -> Path:
        if self._extract_dir is None:
            directory = Path(tempfile.mkdtemp(prefix="fal-archive-"))
            _extract_archive(self.as_bytes(), directory)
            self._extract_dir = directory
        return self._extract_dir


def upload_image(
    image: PILImage, format: str = "jpeg", *, expires_in: int | None = None
) -> str:
    """Store a PIL image and return its URL."""
    return Image.from_pil(image, format=format, expires_in=expires_in).url


def _name_and_type(content_type: str | None, file_name: str | None) -> tuple[str, str]:
    if content_type is None and file_name:
        content_type = mimetypes.guess_type(file_name)[0]
    content_type = content_type or DEFAULT_CONTENT_TYPE
    if not file_name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        file_name = f"{uuid.uuid4().hex}{extension}"
    return content_type, file_name


def _extract_archive(data: bytes, directory: Path) -> None:
    """Unpack a zip or tar archive, refusing members that escape ``directory``."""
    root = directory.resolve()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                _check_member(root, name)
            archive.extractall(directory)
        return
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(directory, filter="data")


def _check_member(root: Path, name: str) -> None:
    if not (root / name).resolve().is_relative_to(root):
        raise ValueError(f"Archive member {name!r} would be written outside {root}.")
