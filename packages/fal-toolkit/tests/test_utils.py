"""get_image_size and get_gpu_type (this machine has no GPU)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from fal.toolkit import ImageSize, get_gpu_type, get_image_size


@pytest.mark.parametrize(
    ("preset", "size"),
    [
        ("square_hd", (1024, 1024)),
        ("square", (512, 512)),
        ("portrait_4_3", (768, 1024)),
        ("portrait_16_9", (576, 1024)),
        ("landscape_4_3", (1024, 768)),
        ("landscape_16_9", (1024, 576)),
    ],
)
def test_get_image_size_resolves_preset(preset: str, size: tuple[int, int]) -> None:
    resolved = get_image_size(preset)
    assert (resolved.width, resolved.height) == size


def test_get_image_size_accepts_dict_and_image_size() -> None:
    given = ImageSize(width=640, height=480)

    assert get_image_size(given) is given
    assert get_image_size({"width": 300, "height": 200}) == ImageSize(
        width=300, height=200
    )


def test_get_image_size_unknown_preset_lists_known() -> None:
    with pytest.raises(ValueError, match=r"'huge'.*square_hd"):
        get_image_size("huge")


def test_get_image_size_bad_dict_is_refused() -> None:
    with pytest.raises(ValidationError, match="width"):
        get_image_size({"width": "wide", "height": 10})


def _fake_nvidia_smi(directory: Path, script: str) -> None:
    binary = directory / "nvidia-smi"
    binary.write_text("#!/bin/sh\n" + script)
    binary.chmod(0o755)


def test_get_gpu_type_without_nvidia_smi_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    assert get_gpu_type() == ""


def test_get_gpu_type_on_this_machine_reports_none_cleanly() -> None:
    # No GPU here: either no nvidia-smi, or one that finds no device.
    assert get_gpu_type() == ""


def test_get_gpu_type_with_failing_driver_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_nvidia_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])

    assert get_gpu_type() == ""


def test_get_gpu_type_reports_first_gpu_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_nvidia_smi(tmp_path, "printf 'NVIDIA H100 80GB HBM3\\nNVIDIA H100\\n'\n")
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])

    assert get_gpu_type() == "NVIDIA H100 80GB HBM3"
