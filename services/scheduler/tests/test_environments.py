"""Environment builds with the real uv, from this machine's package indexes."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from fal_scheduler.environments import EnvironmentBuilder, FalSource, find_fal_sources
from fal_scheduler.errors import EnvironmentBuildError
from fal_scheduler.pipconfig import IndexSettings

PY = "3.11"


def make_builder(home: Path) -> EnvironmentBuilder:
    return EnvironmentBuilder(home, IndexSettings.from_pip(), fal_sources=[])


def count_uv_calls(builder: EnvironmentBuilder) -> list[list[str]]:
    calls: list[list[str]] = []
    run = builder._run

    async def counting(command, on_log):  # type: ignore[no-untyped-def]
        calls.append(command)
        return await run(command, on_log)

    builder._run = counting  # type: ignore[method-assign]
    return calls


def leftovers(home: Path) -> list[str]:
    return [p.name for p in (home / "envs").iterdir() if p.name != ".locks"]


def pip_list(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import six; print(six.__version__)"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip


async def test_build_empty_requirements_creates_python(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    lines: list[str] = []

    async def on_log(message: str, level: str) -> None:
        lines.append(message)

    built = await builder.ensure([], PY, on_log)

    assert built.path == tmp_path / "envs" / built.env_key
    assert built.python.exists()
    assert len(built.env_key) == 24
    assert any("Creating" in line for line in lines)
    assert leftovers(tmp_path) == [built.env_key]


async def test_build_installs_requirement_then_cache_hit_without_uv(
    tmp_path: Path,
) -> None:
    builder = make_builder(tmp_path)
    calls = count_uv_calls(builder)

    first = await builder.ensure([["six"]], PY)
    uv_calls_of_first_build = len(calls)
    again = await make_builder(tmp_path).ensure([["six"]], PY)
    second = await builder.ensure([["six"]], PY)

    assert pip_list(first.python).strip()
    assert uv_calls_of_first_build == 2  # venv + step 1
    assert len(calls) == uv_calls_of_first_build
    assert again == first == second


async def test_failed_step_names_step_and_leaves_nothing(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)

    with pytest.raises(EnvironmentBuildError) as caught:
        await builder.ensure([["six"], ["fal-no-such-package-xyz"]], PY)

    message = str(caught.value)
    assert "step 2" in message
    assert "fal-no-such-package-xyz" in message
    assert leftovers(tmp_path) == []


async def test_concurrent_builds_of_one_key_build_once(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    other_process = make_builder(tmp_path)  # own asyncio locks: file lock only
    calls = count_uv_calls(builder)
    other_calls = count_uv_calls(other_process)

    results = await asyncio.gather(
        builder.ensure([["six"]], PY),
        builder.ensure([["six"]], PY),
        other_process.ensure([["six"]], PY),
    )

    assert len({r.path for r in results}) == 1
    assert len(calls) + len(other_calls) == 2  # one venv, one install


def test_env_key_depends_on_inputs(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    sdk = EnvironmentBuilder(
        tmp_path, IndexSettings(), [FalSource("fal-sdk", "fal-sdk==1.0")]
    )

    key = builder.env_key([["six"]], "3.11")

    assert key == builder.env_key([["six"]], "3.11.7")
    assert key != builder.env_key([["six"], []], "3.11")
    assert key != builder.env_key([["six"]], "3.12")
    assert key != sdk.env_key([["six"]], "3.11")


def test_find_fal_sources_uses_workspace_checkouts() -> None:
    sources = {source.name: source for source in find_fal_sources()}

    assert sources["fal-sdk"].editable
    assert Path(sources["fal-sdk"].requirement, "pyproject.toml").exists()
    assert "fal-proto" in sources


def test_invalid_python_version_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBuildError, match=r"major\.minor"):
        make_builder(tmp_path).env_key([], "three")


async def test_no_cache_rebuilds_and_swaps_in_new_copy(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    first = await builder.ensure([["six"]], PY)
    marker = first.path / "old-copy-marker"
    marker.write_text("from the first build")
    calls = count_uv_calls(builder)
    lines: list[str] = []

    async def on_log(message: str, level: str) -> None:
        lines.append(message)

    rebuilt = await builder.ensure([["six"]], PY, on_log, no_cache=True)

    assert rebuilt == first
    assert not marker.exists()
    assert pip_list(rebuilt.python).strip()
    assert len(calls) == 2  # venv + step 1, despite the existing environment
    assert any("--refresh" in call for call in calls)
    assert any("Rebuilding" in line for line in lines)


async def test_failed_rebuild_keeps_previous_environment(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    first = await builder.ensure([["six"]], PY)
    builder.index = IndexSettings(no_index=True)  # same key, nothing installable
    key_before = first.env_key

    with pytest.raises(EnvironmentBuildError, match="step 1"):
        await builder._build(first, [["six"]], PY, None, no_cache=True)

    assert first.python.exists()
    assert key_before in leftovers(tmp_path)
    assert [name for name in leftovers(tmp_path) if "building" in name] == []


async def test_unsatisfiable_version_names_requirement(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBuildError) as caught:
        await make_builder(tmp_path).ensure([["six==99.0"]], PY)

    message = str(caught.value)
    assert "step 1 (six==99.0)" in message
    assert "six" in message.split("failed:", 1)[1]
    assert leftovers(tmp_path) == []


async def test_conflicting_pair_names_both_requirements(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBuildError) as caught:
        await make_builder(tmp_path).ensure([["six==1.17.0", "six<1.0"]], PY)

    reason = str(caught.value).split("failed:", 1)[1]
    assert "six==1.17.0" in reason.replace(" ", "")
    assert "six<1.0" in reason.replace(" ", "")
    assert leftovers(tmp_path) == []


async def test_unavailable_python_fails_naming_version(tmp_path: Path) -> None:
    builder = make_builder(tmp_path)
    builder.uv_binary  # resolve before hiding downloads  # noqa: B018

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_PYTHON_DOWNLOADS", "never")
        with pytest.raises(EnvironmentBuildError, match=r"Python 3\.8"):
            await builder.ensure([], "3.8")

    assert leftovers(tmp_path) == []


async def test_editable_fal_sources_are_linked_not_rebuilt(tmp_path: Path) -> None:
    sources = find_fal_sources()
    builder = EnvironmentBuilder(tmp_path, IndexSettings.from_pip(), sources)
    calls = count_uv_calls(builder)

    built = await builder.ensure([], PY)

    probe = subprocess.run(
        [
            str(built.python),
            "-c",
            "import importlib.metadata as m, fal, fal_proto, fal.toolkit;"
            "print(m.version('fal-sdk'), fal.__file__)",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    version, location = probe.stdout.split()
    assert version == "0.1.0"
    assert location.startswith(str(Path(sources[0].requirement)))
    assert all(source.linked for source in sources)
    assert not any("-e" in call for call in calls)  # no editable builds by uv
    records = list(built.path.glob("lib/python*/site-packages/fal_sdk-*/RECORD"))
    assert records and "_editable_impl_fal_sdk.pth" in records[0].read_text()


def msgpack_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import msgpack; print(msgpack.version)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


async def test_runtime_base_is_shared_and_never_changed_by_an_app(
    tmp_path: Path,
) -> None:
    builder = EnvironmentBuilder(tmp_path, IndexSettings.from_pip(), find_fal_sources())
    first = await builder.ensure([["six"]], PY)
    base = builder.runtime_base_path(PY)
    base_version = msgpack_version(base / "bin" / "python")
    calls = count_uv_calls(builder)

    pinned = await builder.ensure([["msgpack==1.1.2"]], PY)

    assert first.path != pinned.path
    assert not any("venv" in call for call in calls)  # started from the base
    assert msgpack_version(pinned.python) == "(1, 1, 2)"
    assert msgpack_version(base / "bin" / "python") == base_version != "(1, 1, 2)"
    assert msgpack_version(first.python) == base_version


UPLOAD = "fal-app-file:" + "ab" * 32 + "/greetpkg"


async def test_uploaded_requirement_without_filestore_fails_naming_it(
    tmp_path: Path,
) -> None:
    builder = make_builder(tmp_path)

    with pytest.raises(EnvironmentBuildError, match="--filestore-url") as caught:
        await builder.ensure([[UPLOAD]], PY)

    assert UPLOAD in str(caught.value)
    assert leftovers(tmp_path) == []


async def test_malformed_upload_reference_fails_naming_it(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(
        tmp_path, IndexSettings.from_pip(), [], filestore_url="http://127.0.0.1:9"
    )

    with pytest.raises(EnvironmentBuildError, match="not a valid uploaded-file"):
        await builder.ensure([["fal-app-file:nothex/../x"]], PY)

    assert leftovers(tmp_path) == []


async def test_unreachable_filestore_fails_naming_upload(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(
        tmp_path, IndexSettings.from_pip(), [], filestore_url="http://127.0.0.1:9"
    )

    with pytest.raises(EnvironmentBuildError, match="could not be fetched") as caught:
        await builder.ensure([[UPLOAD]], PY)

    assert "greetpkg" in str(caught.value)
    assert leftovers(tmp_path) == []
