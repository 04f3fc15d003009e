"""Loading the App class of a user's file, and each way it can fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import fal
from fal.exceptions import AppLoadError
from fal.utils import load_function_from

ONE_APP = """
import fal


class Greeter(fal.App, app_auth="public"):
    @fal.endpoint("/")
    def hello(self, name: str) -> dict:
        return {"greeting": f"hello {name}"}

    @fal.endpoint("/bye")
    def bye(self) -> dict:
        return {}
"""

TWO_APPS = """
import fal


class First(fal.App):
    pass


class Second(fal.App):
    pass
"""

WriteApp = Callable[..., Path]


def test_load_single_app_returns_loaded_function(write_app: WriteApp) -> None:
    path = write_app(ONE_APP)

    loaded = load_function_from(None, str(path))

    assert issubclass(loaded.function, fal.App)
    assert loaded.class_name == "Greeter"
    assert loaded.endpoints == ["/", "/bye"]
    assert loaded.app_name == "greeter"
    assert loaded.app_auth == "public"
    assert loaded.source_code == path.read_text()


def test_load_with_overrides_uses_given_name_and_auth(write_app: WriteApp) -> None:
    loaded = load_function_from(
        None, str(write_app(ONE_APP)), app_name="hi", app_auth="private"
    )

    assert loaded.app_name == "hi"
    assert loaded.app_auth == "private"


def test_load_named_app_picks_that_class(write_app: WriteApp) -> None:
    loaded = load_function_from(None, str(write_app(TWO_APPS)), "Second")

    assert loaded.class_name == "Second"


def test_load_same_file_twice_gives_one_module_per_file(write_app: WriteApp) -> None:
    first = load_function_from(None, str(write_app(ONE_APP)))
    second = load_function_from(None, str(write_app(ONE_APP)))

    assert first.function.__module__ != second.function.__module__


def test_load_missing_file_raises_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.py"

    with pytest.raises(AppLoadError, match=r"nowhere\.py: no such file"):
        load_function_from(None, str(missing))


def test_load_syntax_error_raises_with_line_number(write_app: WriteApp) -> None:
    path = write_app("import fal\n\nclass Broken(fal.App:\n    pass\n")

    with pytest.raises(AppLoadError, match=r"app.py:3: syntax error"):
        load_function_from(None, str(path))


def test_load_import_failure_raises_with_error_type(write_app: WriteApp) -> None:
    path = write_app("import not_a_real_module_xyz\n")

    with pytest.raises(AppLoadError, match="ModuleNotFoundError"):
        load_function_from(None, str(path))


def test_load_file_without_app_raises_no_app(write_app: WriteApp) -> None:
    path = write_app("import fal\n\nVALUE = 1\n")

    with pytest.raises(AppLoadError, match=r"defines no fal\.App subclass"):
        load_function_from(None, str(path))


def test_load_several_apps_without_name_raises_listing_them(
    write_app: WriteApp,
) -> None:
    with pytest.raises(AppLoadError, match=r"several App classes \(First, Second\)"):
        load_function_from(None, str(write_app(TWO_APPS)))


def test_load_unknown_name_raises_listing_existing(write_app: WriteApp) -> None:
    with pytest.raises(AppLoadError, match=r"'Third'.*First, Second"):
        load_function_from(None, str(write_app(TWO_APPS)), "Third")


def test_load_app_importing_sibling_module_succeeds(write_app: WriteApp) -> None:
    path = write_app(
        "import fal\nimport helpers_for_loader_test as helpers\n\n"
        "class Uses(fal.App):\n    local_python_modules = ['helpers_for_loader_test']\n"
    )
    (path.parent / "helpers_for_loader_test.py").write_text("VALUE = 7\n")

    loaded = load_function_from(None, str(path))

    assert loaded.class_name == "Uses"
