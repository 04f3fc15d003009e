import importlib


def test_toolkit_imports_beside_sdk() -> None:
    toolkit = importlib.import_module("fal.toolkit")
    sdk = importlib.import_module("fal")
    assert toolkit.__name__ == "fal.toolkit"
    assert toolkit.__name__.startswith(sdk.__name__ + ".")


def test_toolkit_exports_reference_names() -> None:
    toolkit = importlib.import_module("fal.toolkit")
    expected = {
        "Audio",
        "AudioField",
        "CompressedFile",
        "DownloadError",
        "FalBaseModel",
        "FalTookitException",
        "Field",
        "File",
        "FileField",
        "FileUploadException",
        "Hidden",
        "Image",
        "ImageField",
        "ImageSize",
        "KVStore",
        "KVStoreException",
        "Video",
        "VideoField",
        "clone_repository",
        "download_file",
        "download_model_weights",
        "get_gpu_type",
        "get_image_size",
        "load_inductor_cache",
        "sync_inductor_cache",
        "synchronized_inductor_cache",
        "upload_image",
    }
    assert set(toolkit.__all__) == expected
    for name in expected:
        assert hasattr(toolkit, name)
