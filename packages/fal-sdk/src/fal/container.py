"""Container images for apps: a Dockerfile, its build context and ignores.

An app declares ``kind="container"`` and ``image=ContainerImage...``. The
Dockerfile is checked when the image is made (a missing FROM, unbalanced
quotes or an unknown instruction is a ``DockerfileError`` naming the line),
and the files its COPY and ADD instructions read are synced with FileSync.

Which runner backends run container images is the platform's business: the
local process backend refuses such apps at deploy time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fal.file_sync import FileMetadata, FileSync

__all__ = [
    "DEFAULT_DOCKERIGNORE",
    "ContainerImage",
    "DockerfileError",
    "DockerfileParser",
    "DockerignoreHandler",
]

INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)

DEFAULT_DOCKERIGNORE = [
    ".git",
    "**/__pycache__",
    "**/*.pyc",
    ".venv",
    "**/.DS_Store",
    "node_modules",
]

_CONTINUATION = re.compile(r"\\[ \t]*$")
_REMOTE_SOURCE = re.compile(r"^(https?|git|ssh)://|^git@")


class DockerfileError(ValueError):
    """A Dockerfile that cannot be used, with the line that is wrong."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"Dockerfile line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Instruction:
    """One instruction of a Dockerfile, continuation lines joined."""

    keyword: str
    arguments: str
    line: int


@dataclass
class DockerfileParser:
    """Reads a Dockerfile's instructions; raises DockerfileError if invalid."""

    content: str
    normalized_content: str = field(init=False)
    instructions: list[Instruction] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.instructions = _parse_instructions(self.content)
        self.normalized_content = "\n".join(
            f"{item.keyword} {item.arguments}".rstrip() for item in self.instructions
        )
        _check_starts_with_from(self.instructions)
        self.parse_copy_add_sources()  # a malformed COPY or ADD fails here

    def parse_copy_add_sources(self) -> list[str]:
        """Local paths and patterns COPY and ADD read from the build context.

        Copies from another stage (``--from``) and remote ADD sources (URLs,
        git) read nothing from the context and are left out.
        """
        sources: list[str] = []
        for instruction in self.instructions:
            if instruction.keyword not in ("COPY", "ADD"):
                continue
            for source in _copy_sources(instruction):
                if source not in sources:
                    sources.append(source)
        return sources


@dataclass
class DockerignoreHandler:
    """The ignore patterns of a build context, in gitignore style."""

    context_dir: os.PathLike[str] | str | None = None
    dockerignore: list[str] | None = None
    dockerignore_path: os.PathLike[str] | str | None = None

    def get_patterns(self) -> list[str]:
        """The patterns in effect, from the first source that has them.

        In order: the explicit list, the explicit file, ``.dockerignore`` in
        the context directory, then the defaults.
        """
        if self.dockerignore is not None:
            return list(self.dockerignore)
        if self.dockerignore_path is not None:
            return _read_ignore_file(Path(self.dockerignore_path))
        if self.context_dir is not None:
            in_context = Path(self.context_dir) / ".dockerignore"
            if in_context.is_file():
                return _read_ignore_file(in_context)
        return list(DEFAULT_DOCKERIGNORE)

    def get_regex_patterns(self) -> list[str]:
        """The patterns as regular expressions over context-relative paths."""
        return [
            _glob_to_regex(pattern)
            for pattern in self.get_patterns()
            if not pattern.startswith("!")
        ]


@dataclass
class ContainerImage:
    """A Docker image an app runs in, built from a Dockerfile."""

    dockerfile_str: str
    build_args: dict[str, str] = field(default_factory=dict)
    registries: dict[str, dict[str, str]] = field(default_factory=dict)
    builder: Literal["depot", "service", "worker"] | None = None
    compression: str = "gzip"
    force_compression: bool = False
    secrets: dict[str, str] = field(default_factory=dict)
    context_dir: os.PathLike[str] | str = field(default_factory=Path.cwd)
    dockerignore: list[str] | None = None
    dockerignore_path: os.PathLike[str] | str | None = None

    def __post_init__(self) -> None:
        self._parser = DockerfileParser(self.dockerfile_str)

    @classmethod
    def from_dockerfile_str(cls, text: str, **kwargs: Any) -> ContainerImage:
        """An image from Dockerfile text."""
        return cls(dockerfile_str=text, **kwargs)

    @classmethod
    def from_dockerfile(
        cls, path: os.PathLike[str] | str, **kwargs: Any
    ) -> ContainerImage:
        """An image from a Dockerfile; the context defaults to its directory."""
        dockerfile = Path(path)
        try:
            text = dockerfile.read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"Cannot read Dockerfile {dockerfile}: {error}") from error
        kwargs.setdefault("context_dir", dockerfile.resolve().parent)
        return cls(dockerfile_str=text, **kwargs)

    def add_dockerignore(
        self,
        patterns: list[str] | None = None,
        path: os.PathLike[str] | str | None = None,
    ) -> None:
        """Set the ignore patterns from a list or from a .dockerignore file."""
        if (patterns is None) == (path is None):
            raise ValueError(
                "add_dockerignore takes either patterns or path, exactly one."
            )
        if patterns is not None:
            self.dockerignore = list(patterns)
            self.dockerignore_path = None
        else:
            self.dockerignore_path = path
            self.dockerignore = _read_ignore_file(Path(str(path)))

    def get_copy_add_sources(self) -> list[str]:
        """The context paths COPY and ADD read (parsing only, no file access)."""
        return self._parser.parse_copy_add_sources()

    def ignore_handler(self) -> DockerignoreHandler:
        return DockerignoreHandler(
            self.context_dir, self.dockerignore, self.dockerignore_path
        )

    def context_files(self, file_sync: FileSync) -> list[FileMetadata]:
        """The context files the build would read, ignores applied."""
        paths, ignore = self._sync_arguments()
        return file_sync.collect_files(paths, str(self.context_dir), ignore)

    def sync_context(self, file_sync: FileSync) -> list[FileMetadata]:
        """Upload the context files COPY and ADD read; return them all."""
        paths, ignore = self._sync_arguments()
        files, failures = file_sync.sync_files(
            paths, files_ignore=ignore, files_context_dir=str(self.context_dir)
        )
        if failures:
            raise failures[0]
        return files

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the image."""
        document = asdict(self)
        document["context_dir"] = str(self.context_dir)
        if self.dockerignore_path is not None:
            document["dockerignore_path"] = str(self.dockerignore_path)
        return document

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def _sync_arguments(self) -> tuple[list[str], list[re.Pattern[str]]]:
        context = Path(self.context_dir)
        paths = [str(context / source) for source in self.get_copy_add_sources()]
        patterns = self.ignore_handler().get_regex_patterns()
        return paths, [re.compile(pattern) for pattern in patterns]


def _parse_instructions(content: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(content.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comments may sit between continuation lines
        if not pending:
            start = number
        continued = bool(_CONTINUATION.search(raw))
        pending.append(_CONTINUATION.sub("", raw).strip() if continued else stripped)
        if not continued:
            instructions.append(_instruction(" ".join(pending), start))
            pending = []
    if pending:
        instructions.append(_instruction(" ".join(pending), start))
    return instructions


def _instruction(text: str, line: int) -> Instruction:
    keyword, _, arguments = text.partition(" ")
    keyword = keyword.upper()
    if keyword not in INSTRUCTIONS:
        raise DockerfileError(
            f"unknown instruction {keyword!r}; Dockerfile instructions are "
            f"{', '.join(sorted(INSTRUCTIONS))}.",
            line,
        )
    arguments = arguments.strip()
    if keyword not in ("RUN", "CMD", "ENTRYPOINT") or not arguments.startswith("["):
        _check_quotes(arguments, line)
    return Instruction(keyword, arguments, line)


def _check_quotes(arguments: str, line: int) -> None:
    try:
        shlex.split(arguments, posix=True)
    except ValueError as error:
        raise DockerfileError(f"unbalanced quoting ({error}).", line) from error


def _check_starts_with_from(instructions: list[Instruction]) -> None:
    for instruction in instructions:
        if instruction.keyword == "FROM":
            return
        if instruction.keyword != "ARG":
            raise DockerfileError(
                f"{instruction.keyword} comes before any FROM; a Dockerfile "
                "must start with FROM (only ARG may precede it).",
                instruction.line,
            )
    raise DockerfileError("the Dockerfile has no FROM instruction.", 1)


def _copy_sources(instruction: Instruction) -> list[str]:
    arguments = instruction.arguments
    if arguments.startswith("["):
        try:
            words = json.loads(arguments)
        except json.JSONDecodeError as error:
            raise DockerfileError(
                f"{instruction.keyword} has an invalid JSON argument list.",
                instruction.line,
            ) from error
    else:
        words = shlex.split(arguments)
    flags = [word for word in words if word.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        return []
    paths = [word for word in words if not word.startswith("--")]
    if len(paths) < 2:
        raise DockerfileError(
            f"{instruction.keyword} needs at least one source and a destination.",
            instruction.line,
        )
    return [path for path in paths[:-1] if not _REMOTE_SOURCE.match(path)]


def _read_ignore_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ValueError(f"Cannot read ignore file {path}: {error}") from error
    patterns = [line.strip() for line in lines]
    return [line for line in patterns if line and not line.startswith("#")]


def _glob_to_regex(pattern: str) -> str:
    """A gitignore-style pattern as a regex anchored at the context root."""
    body = pattern.strip().lstrip("/").rstrip("/")
    regex = ""
    index = 0
    while index < len(body):
        char = body[index]
        if body.startswith("**/", index):
            regex += "(?:.*/)?"
            index += 3
            continue
        if body.startswith("**", index):
            regex += ".*"
            index += 2
            continue
        regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        index += 1
    return f"^{regex}(?:/.*)?$"
