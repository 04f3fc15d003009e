"""Encryption of app secrets at rest, with a key the operator supplies.

Values are sealed with Fernet (AES-128-CBC plus HMAC-SHA256, from
``cryptography``) under one key per registry. The key lives outside the
database (a file, or an environment variable), so a copy of the database
alone reveals no secret. ``fal-platform up`` generates the key file into the
platform home when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from fal_registry.errors import RegistryError, SecretsUnavailable

SECRETS_KEY_ENV = "FAL_PLATFORM_SECRETS_KEY"


def generate_key() -> str:
    """A new random key, as the text a key file holds."""
    return Fernet.generate_key().decode()


class SecretBox:
    """Seals and opens secret values with the registry's key."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.strip().encode())
        except ValueError as error:
            raise RegistryError(
                "The secrets key is not valid: it must be 32 url-safe base64 "
                "encoded bytes (generate one with fal_registry.encryption."
                "generate_key())."
            ) from error

    @classmethod
    def from_file(cls, path: Path) -> SecretBox:
        try:
            key = path.read_text()
        except OSError as error:
            raise RegistryError(
                f"Cannot read the secrets key file {path}: {error.strerror}."
            ) from error
        return cls(key)

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise SecretsUnavailable(
                "A stored secret cannot be decrypted with this registry's secrets "
                "key: the key changed since the secret was set; set it again."
            ) from error


class NoSecretBox:
    """Stands in when the operator gave no key: secrets are refused."""

    def seal(self, value: str) -> str:
        raise SecretsUnavailable(
            "This registry has no secrets key: start it with --secrets-key-file "
            f"or ${SECRETS_KEY_ENV} to store secrets."
        )

    def open(self, ciphertext: str) -> str:
        return self.seal(ciphertext)


def load_secret_box(path: Path | None) -> SecretBox | NoSecretBox:
    """The box of the key in ``path``, else in the environment, else none."""
    if path is not None:
        return SecretBox.from_file(path)
    key = os.environ.get(SECRETS_KEY_ENV)
    if key:
        return SecretBox(key)
    return NoSecretBox()
