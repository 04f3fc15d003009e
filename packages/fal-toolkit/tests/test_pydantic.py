"""Request models: FalBaseModel, Field, Hidden and the *Field() helpers."""

from __future__ import annotations

import pytest

from fal.toolkit import (
    AudioField,
    FalBaseModel,
    Field,
    FileField,
    Hidden,
    ImageField,
    VideoField,
)


class Request(FalBaseModel):
    prompt: str = Field(description="What to draw.", ui={"widget": "textarea"})
    steps: int = Field(default=20, ge=1, le=100)
    seed: int = Hidden(Field(default=0))
    image_url: str = ImageField(default="", description="A start image.")


def test_fal_base_model_orders_visible_properties() -> None:
    schema = Request.model_json_schema()

    assert schema["x-fal-order-properties"] == ["prompt", "steps", "image_url"]
    assert list(schema["properties"]) == ["prompt", "steps", "seed", "image_url"]


def test_field_ui_hints_land_in_schema() -> None:
    properties = Request.model_json_schema()["properties"]

    assert properties["prompt"]["ui"] == {"widget": "textarea"}
    assert properties["prompt"]["description"] == "What to draw."
    assert "ui" not in properties["steps"]


def test_field_keeps_pydantic_validation() -> None:
    with pytest.raises(ValueError, match="steps"):
        Request(prompt="cat", steps=0)


def test_hidden_field_is_marked_and_keeps_default() -> None:
    properties = Request.model_json_schema()["properties"]

    assert properties["seed"]["hidden"] is True
    assert Request(prompt="cat").seed == 0
    assert Request(prompt="cat", seed=7).seed == 7


def test_hidden_without_default_is_refused() -> None:
    with pytest.raises(ValueError, match="default"):
        Hidden(Field(description="needs a value"))


def test_hidden_keeps_existing_schema_extra() -> None:
    field = Hidden(Field(default=1, ui={"widget": "slider"}))

    assert field.json_schema_extra == {"ui": {"widget": "slider"}, "hidden": True}


@pytest.mark.parametrize(
    ("helper", "kind"),
    [
        (FileField, "file"),
        (ImageField, "image"),
        (AudioField, "audio"),
        (VideoField, "video"),
    ],
)
def test_file_field_helpers_mark_their_kind(helper: object, kind: str) -> None:
    assert callable(helper)

    class Model(FalBaseModel):
        url: str = helper(description="A file.")  # type: ignore[operator]

    properties = Model.model_json_schema()["properties"]
    assert properties["url"]["ui"] == {"field": kind}
    assert properties["url"]["description"] == "A file."
    assert Model(url="https://example.com/a").url == "https://example.com/a"


def test_hidden_of_plain_value_is_refused() -> None:
    with pytest.raises(TypeError, match="Field"):
        Hidden(5)
