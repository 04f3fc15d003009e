"""FalServerlessConnection.run and register(files=...) on a real platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import fal
from fal.file_sync import FileSync
from fal.sdk import (
    FalServerlessClient,
    FalServerlessConnection,
    HostedRunState,
    get_grpc_host,
)
from fal_platform.testing import RunningPlatform


@pytest.fixture(scope="module")
def connection(platform: RunningPlatform) -> Iterator[FalServerlessConnection]:
    with FalServerlessClient(get_grpc_host()).connect() as opened:
        yield opened


def add_six(base: int) -> dict[str, object]:
    import six  # only in the run's environment

    return {"sum": base + 6, "six": six.__version__}


def twenty() -> int:
    return 20


def explode() -> None:
    raise RuntimeError("the function exploded on purpose")


class NoteReader(fal.App, keep_alive=30):
    app_auth = "public"

    @fal.endpoint("/")
    def read(self) -> dict:
        return {"note": Path("notes/hello.txt").read_text()}


def test_run_streams_logs_then_success_and_deletes_its_app(
    connection: FalServerlessConnection,
) -> None:
    environment = connection.define_environment("virtualenv", requirements=["six"])

    items = list(
        connection.run(
            add_six,
            [environment],
            setup_function=twenty,
            application_name="sdk-run-six",
        )
    )

    states = [item.status.state for item in items]
    assert states[-1] is HostedRunState.SUCCESS, items[-1].logs
    assert set(states[:-1]) <= {HostedRunState.IN_PROGRESS}
    assert any(item.logs for item in items[:-1])
    final = items[-1]
    assert final.result is not None and final.result["sum"] == 26
    assert final.result["six"]
    assert final.service_urls is not None and final.run_id
    assert connection.list_applications("sdk-run-six") == []


def test_run_failing_function_ends_in_internal_failure_with_traceback(
    connection: FalServerlessConnection,
) -> None:
    items = list(connection.run(explode, None, application_name="sdk-run-boom"))

    final = items[-1]
    assert final.status.state is HostedRunState.INTERNAL_FAILURE
    assert final.result is None
    text = "\n".join(log.message for log in final.logs)
    assert "the function exploded on purpose" in text
    assert "RuntimeError" in text
    assert connection.list_applications("sdk-run-boom") == []


def test_register_files_manifest_reaches_runner_working_dir(
    connection: FalServerlessConnection, tmp_path: Path
) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "hello.txt").write_text("hello from a manifest")
    (tmp_path / "app.py").write_text("")  # paths are relative to the app file
    sync = FileSync(tmp_path / "app.py")
    try:
        uploaded, failures = sync.sync_files(["notes"])
    finally:
        sync.close()
    assert failures == []

    items = list(
        connection.register(
            NoteReader, None, application_name="note-reader", files=uploaded
        )
    )

    result = items[-1]
    assert result.result is not None and result.service_urls is not None
    response = httpx.post(result.service_urls.run, json={}, timeout=300)
    assert response.status_code == 200, response.text
    assert response.json() == {"note": "hello from a manifest"}
