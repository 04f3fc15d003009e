"""The public surface of the SDK is pinned here; change it on purpose."""

import fal
import fal.api
import fal.app
import fal.apps
import fal.config
import fal.exceptions
import fal.file_sync
import fal.files
import fal.realtime
import fal.sdk
import fal.sync
import fal.upload
import fal.utils


def test_import_fal_exports_pinned_names() -> None:
    assert sorted(fal.__all__) == [
        "App",
        "ContainerImage",
        "FalServerlessKeyCredentials",
        "HealthCheck",
        "cached",
        "endpoint",
        "function",
        "realtime",
        "sync_dir",
    ]
    for name in fal.__all__:
        assert getattr(fal, name) is not None


def test_import_public_modules_exports_pinned_names() -> None:
    expected = {
        fal.app: {
            "App",
            "AppClientError",
            "RequestContext",
            "RouteSignature",
            "build_fastapi_app",
            "endpoint",
            "wrap_app",
        },
        fal.apps: {
            "Completed",
            "InProgress",
            "Queued",
            "RequestHandle",
            "WebSocketConnection",
            "run",
            "stream",
            "submit",
            "ws",
        },
        fal.realtime: {
            "msgpack_decode_message",
            "msgpack_encode_message",
            "realtime",
        },
        fal.config: {"Config"},
        fal.utils: {"LoadedFunction", "load_function_from"},
        fal.api: {"build_register_request", "serialize_app"},
        fal.files: {"FalFileSystem"},
        fal.sync: {"sync_dir"},
        fal.file_sync: {
            "AppFileUploadException",
            "FileMetadata",
            "FileSync",
            "FileSyncOptions",
            "compute_hash",
            "normalize_path",
            "print_path_tree",
            "sanitize_relative_path",
        },
        fal.upload: {
            "AppFileMultipartUpload",
            "BaseMultipartUpload",
            "DataFileMultipartUpload",
            "FileStoreError",
            "PublicFileMultipartUpload",
            "filestore_client",
            "get_filestore_url",
            "request_with_retries",
        },
    }
    for module, names in expected.items():
        assert set(module.__all__) == names, module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_import_sdk_exports_reference_types() -> None:
    for name in (
        "AliasInfo",
        "ApplicationHealthCheckConfig",
        "ApplicationInfo",
        "DeploymentStrategy",
        "EnvironmentInfo",
        "FalServerlessClient",
        "FalServerlessConnection",
        "FalServerlessKeyCredentials",
        "HealthCheck",
        "KeyScope",
        "MachineRequirements",
        "RegisterApplicationResult",
        "ReplaceState",
        "RunnerInfo",
        "RunnerState",
        "ServerlessSecret",
        "ServiceURLs",
        "UserKeyInfo",
        "construct_alias",
        "deconstruct_alias",
        "get_credentials",
    ):
        assert name in fal.sdk.__all__
        assert hasattr(fal.sdk, name)


def test_import_exceptions_share_one_root() -> None:
    for name in fal.exceptions.__all__:
        error = getattr(fal.exceptions, name)
        assert issubclass(error, fal.exceptions.FalServerlessException)


def test_import_top_level_reexports_same_objects() -> None:
    assert fal.App is fal.app.App
    assert fal.endpoint is fal.app.endpoint
    assert fal.HealthCheck is fal.sdk.HealthCheck
    assert fal.FalServerlessKeyCredentials is fal.sdk.FalServerlessKeyCredentials
    assert fal.sync_dir is fal.sync.sync_dir
