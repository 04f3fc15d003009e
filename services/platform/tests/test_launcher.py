from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from fal_platform.cli import main
from fal_platform.platform import LocalPlatform, PlatformError, Ports, stop_home
from fal_platform.testing import free_port


def test_start_refuses_busy_port_naming_its_flag(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        platform = LocalPlatform(
            home=tmp_path, ports=Ports(gateway=0, registry=port, filestore=0, nats=0)
        )
        with pytest.raises(PlatformError, match="--registry-port") as error:
            platform.start()

    assert str(port) in str(error.value)
    assert platform.children == []
    assert not (tmp_path / "endpoints.json").exists()


def test_down_with_nothing_running_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["down", "--home", str(tmp_path)])
    assert exited.value.code == 0
    assert "Nothing was running" in capsys.readouterr().err
    assert stop_home(tmp_path) == []


def test_status_without_platform_explains_how_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["status", "--home", str(tmp_path)])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "fal-platform up" in err
    assert str(tmp_path) in err


def test_up_twice_on_one_home_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pids.json").write_text(f'{{"nats": {os.getpid()}}}')
    platform = LocalPlatform(home=tmp_path, ports=Ports(0, 0, 0, free_port()))
    with pytest.raises(PlatformError, match="already running"):
        platform.start()
    assert platform.children == []


def test_up_on_postgresql_keeps_registry_state_there(
    tmp_path: Path, postgres_url: str
) -> None:
    import uuid

    import sqlalchemy

    database = f"fal_launcher_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    platform = LocalPlatform(home=tmp_path, ports=Ports(0, 0, 0, 0), database_url=url)
    try:
        platform.start()
        assert not (tmp_path / "registry.db").exists()
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            keys = connection.execute(sqlalchemy.text("SELECT count(*) FROM api_keys"))
            assert keys.scalar() == 1
        engine.dispose()
    finally:
        platform.stop()
        with admin.connect() as connection:
            connection.execute(
                sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            )
        admin.dispose()
