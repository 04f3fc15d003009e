import importlib


def test_toolkit_imports_beside_sdk() -> None:
    toolkit = importlib.import_module("fal.toolkit")
    sdk = importlib.import_module("fal")
    assert toolkit.__name__ == "fal.toolkit"
    assert toolkit.__name__.startswith(sdk.__name__ + ".")
    assert toolkit.__all__ == []
