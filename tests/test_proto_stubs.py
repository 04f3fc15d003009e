"""The committed gRPC stubs are exactly what the .proto sources generate."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fal_platform.testing import REPO


def _load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "generate", REPO / "proto" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_stubs_match_proto_sources(tmp_path: Path) -> None:
    generator = _load_generator()
    protos = generator.generate(tmp_path)
    assert protos, "no .proto files found"

    committed = REPO / "proto" / "src" / "fal_proto"
    fresh = sorted(
        p.relative_to(tmp_path / "fal_proto")
        for p in (tmp_path / "fal_proto").iterdir()
    )
    assert fresh, "protoc wrote nothing"
    for relative in fresh:
        assert (committed / relative).read_text() == (
            tmp_path / "fal_proto" / relative
        ).read_text(), f"{relative} is stale: run 'hatch run proto'"
