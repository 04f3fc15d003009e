import importlib


def test_distributed_imports_beside_sdk() -> None:
    distributed = importlib.import_module("fal.distributed")
    assert distributed.__name__ == "fal.distributed"
    assert distributed.__all__ == []
