"""Regenerate the Python stubs of every .proto under ``src/fal_proto``.

Run with ``hatch run proto`` (or ``python proto/generate.py``) after editing a
.proto file. The generated modules are committed but never edited by hand;
``tests/test_proto_stubs.py`` fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).parent / "src"


def generate(output_root: Path = SOURCE_ROOT) -> list[Path]:
    """Write ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` for each proto."""
    from grpc_tools import protoc  # imported late: only needed to regenerate

    include = Path(protoc.__file__).parent / "_proto"
    protos = sorted(SOURCE_ROOT.glob("fal_proto/*.proto"))
    output_root.mkdir(parents=True, exist_ok=True)
    for proto in protos:
        args = [
            "grpc_tools.protoc",
            f"-I{SOURCE_ROOT}",
            f"-I{include}",
            f"--python_out={output_root}",
            f"--pyi_out={output_root}",
            f"--grpc_python_out={output_root}",
            str(proto.relative_to(SOURCE_ROOT)),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {proto}")
    return protos


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE_ROOT
    for path in generate(out):
        print(f"generated stubs for {path.name}")
