"""The public names of fal.api.api, fal.container and fal.project, pinned."""

import fal.api.api
import fal.container
import fal.project


def test_import_code_loading_modules_export_pinned_names() -> None:
    expected = {
        fal.api.api: {
            "FalMissingDependencyError",
            "FalSerializationError",
            "FalServerlessError",
            "FalServerlessHost",
            "Host",
            "InternalFalServerlessError",
            "IsolatedFunction",
            "LocalHost",
            "Options",
            "RouteSignature",
            "UserFunctionException",
            "cached",
            "find_missing_dependencies",
            "function",
            "merge_basic_config",
        },
        fal.container: {
            "DEFAULT_DOCKERIGNORE",
            "ContainerImage",
            "DockerfileError",
            "DockerfileParser",
            "DockerignoreHandler",
        },
        fal.project: {
            "AppNotInProjectError",
            "find_project_root",
            "find_pyproject_toml",
            "parse_pyproject_toml",
            "project_app",
        },
    }
    for module, names in expected.items():
        assert set(module.__all__) == names, module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_import_function_errors_share_sdk_root() -> None:
    from fal.exceptions import FalServerlessException

    for name in ("FalMissingDependencyError", "UserFunctionException"):
        assert issubclass(getattr(fal.api.api, name), FalServerlessException)
    assert fal.api.api.cached is fal.cached
    assert fal.function is fal.api.api.function
