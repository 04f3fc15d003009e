"""A dependency-free app: the quickest thing to deploy and call.

    fal deploy examples/hello.py
    curl -X POST "$GATEWAY/$OWNER/hello" -H 'content-type: application/json' \
        -d '{"name": "world"}'
"""

from __future__ import annotations

from pydantic import BaseModel

import fal


class Greeting(BaseModel):
    name: str = "world"


class Reply(BaseModel):
    message: str
    calls: int


class Hello(fal.App, keep_alive=30):
    app_name = "hello"
    app_auth = "public"

    def setup(self) -> None:
        self.calls = 0

    @fal.endpoint("/")
    def greet(self, greeting: Greeting) -> Reply:
        self.calls += 1
        return Reply(message=f"Hello, {greeting.name}!", calls=self.calls)

    @fal.endpoint("/fail")
    def fail(self, greeting: Greeting) -> Reply:
        raise ValueError(f"refusing to greet {greeting.name}")
