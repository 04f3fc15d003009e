"""ContainerImage, DockerfileParser and DockerignoreHandler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fal.container import (
    DEFAULT_DOCKERIGNORE,
    ContainerImage,
    DockerfileError,
    DockerfileParser,
    DockerignoreHandler,
)
from fal.file_sync import FileSync

DOCKERFILE = """\
ARG BASE=python:3.11
FROM ${BASE} AS build
# comment
COPY requirements.txt /app/
COPY src/ "my file.txt" /app/
ADD --chown=1000 https://example.com/a.tgz data/ /data/
COPY --from=build /x /y
COPY ["config.json", "/etc/app/"]
RUN pip install \\
    -r /app/requirements.txt
"""


def test_parse_copy_add_sources_skips_remote_and_other_stages() -> None:
    parser = DockerfileParser(DOCKERFILE)

    assert parser.parse_copy_add_sources() == [
        "requirements.txt",
        "src/",
        "my file.txt",
        "data/",
        "config.json",
    ]
    assert "RUN pip install -r /app/requirements.txt" in parser.normalized_content


def test_parse_without_from_raises_with_line() -> None:
    with pytest.raises(DockerfileError, match="line 2: RUN comes before any FROM"):
        DockerfileParser("# base\nRUN echo hi\n")


def test_parse_empty_dockerfile_raises_no_from() -> None:
    with pytest.raises(DockerfileError, match="line 1: the Dockerfile has no FROM"):
        DockerfileParser("# nothing\n")


def test_parse_unbalanced_quote_raises_with_line() -> None:
    with pytest.raises(DockerfileError, match="line 3: unbalanced quoting"):
        DockerfileParser('FROM python:3.11\n\nCOPY "src /app\n')


def test_parse_unknown_instruction_raises_with_line() -> None:
    with pytest.raises(DockerfileError) as caught:
        DockerfileParser("FROM python:3.11\nRUN true\nINSTALL six\n")

    assert caught.value.line == 3
    assert "unknown instruction 'INSTALL'" in str(caught.value)


def test_copy_without_destination_raises_with_line() -> None:
    with pytest.raises(DockerfileError, match="line 2: COPY needs"):
        DockerfileParser("FROM python:3.11\nCOPY onlyone\n")


def test_image_from_dockerfile_uses_its_directory_as_context(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(DOCKERFILE)

    image = ContainerImage.from_dockerfile(dockerfile, build_args={"A": "1"})

    assert Path(image.context_dir) == tmp_path
    assert image.build_args == {"A": "1"}
    assert image.get_copy_add_sources()[0] == "requirements.txt"


def test_image_from_bad_dockerfile_str_raises() -> None:
    with pytest.raises(DockerfileError, match="no FROM"):
        ContainerImage.from_dockerfile_str("")


def test_image_to_dict_is_json_ready(tmp_path: Path) -> None:
    image = ContainerImage.from_dockerfile_str(
        "FROM python:3.11\n",
        context_dir=tmp_path,
        secrets={"TOKEN": "s3cr3t"},
        registries={"ghcr.io": {"username": "u"}},
    )

    document = json.loads(json.dumps(image.to_dict()))

    assert document["dockerfile_str"] == "FROM python:3.11\n"
    assert document["context_dir"] == str(tmp_path)
    assert document["registries"] == {"ghcr.io": {"username": "u"}}
    assert document["compression"] == "gzip"


def test_dockerignore_priority_list_then_path_then_context_then_default(
    tmp_path: Path,
) -> None:
    explicit = tmp_path / "explicit.ignore"
    explicit.write_text("# c\nbuild/\n")
    (tmp_path / ".dockerignore").write_text("*.log\n")
    empty = tmp_path / "empty"
    empty.mkdir()

    assert DockerignoreHandler(tmp_path, ["a"], explicit).get_patterns() == ["a"]
    assert DockerignoreHandler(tmp_path, None, explicit).get_patterns() == ["build/"]
    assert DockerignoreHandler(tmp_path).get_patterns() == ["*.log"]
    assert DockerignoreHandler(empty).get_patterns() == DEFAULT_DOCKERIGNORE


def test_add_dockerignore_needs_exactly_one_source(tmp_path: Path) -> None:
    image = ContainerImage.from_dockerfile_str("FROM x\n", context_dir=tmp_path)

    with pytest.raises(ValueError, match="exactly one"):
        image.add_dockerignore()
    with pytest.raises(ValueError, match="exactly one"):
        image.add_dockerignore(["a"], tmp_path / "b")

    image.add_dockerignore(["*.tmp"])
    assert image.ignore_handler().get_patterns() == ["*.tmp"]


def test_context_files_follow_copy_sources_and_ignores(tmp_path: Path) -> None:
    (tmp_path / "src" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / "main.py").write_text("print(1)")
    (tmp_path / "src" / "debug.log").write_text("x")
    (tmp_path / "src" / "__pycache__" / "main.pyc").write_bytes(b"x")
    (tmp_path / "requirements.txt").write_text("six")
    (tmp_path / "unused.txt").write_text("not copied")
    image = ContainerImage.from_dockerfile_str(
        "FROM python:3.11\nCOPY src/ requirements.txt /app/\n", context_dir=tmp_path
    )
    image.add_dockerignore(["**/__pycache__", "*.log", "src/*.log"])

    files = image.context_files(FileSync(tmp_path / "Dockerfile"))

    assert [f.relative_path for f in files] == ["requirements.txt", "src/main.py"]
