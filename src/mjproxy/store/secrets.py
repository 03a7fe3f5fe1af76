"""Discord user tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) with the operator's key.

Tokens are always encrypted: without ``security.encryption_key`` the server generates a key on its first
start and keeps it in the data directory (``token-encryption.key``, mode 0600), apart from the database, so
a copy of the database alone does not give the tokens away.

Only the token is encrypted, inside the account's JSON (``user_token_enc`` instead of ``user_token``), so
the rest of the row stays readable for listing and debugging. Fernet authenticates the ciphertext: a
wrong key is detected, never turned into a garbage token sent to Discord.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from mjproxy.store.errors import TokenKeyError

ENCRYPTED_FIELD = "user_token_enc"
PLAIN_FIELD = "user_token"


KEY_FILE = "token-encryption.key"


def generate_key() -> str:
    return Fernet.generate_key().decode()


def data_dir_key(data_dir: str | Path) -> tuple[str, bool]:
    """The key kept in ``data_dir`` (created, mode 0600, on first use) and whether it was created just now."""
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    created = False
    with contextlib.suppress(FileExistsError):
        # O_EXCL: two processes starting at once cannot both write a key; the loser reads the winner's.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(generate_key() + "\n")
        created = True
    key = path.read_text("ascii").strip()
    try:
        Fernet(key.encode())
    except ValueError:
        raise TokenKeyError(f"{path} does not hold a Fernet key; restore it from a backup or set "
                            f"security.encryption_key") from None
    return key, created


class TokenCipher:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:
            raise TokenKeyError("security.encryption_key is not a Fernet key (32 url-safe base64-encoded bytes); "
                                "create one with `mjproxy keys gen-encryption-key`") from None

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str, *, account_id: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(f"security.encryption_key cannot decrypt the Discord token of account "
                                f"{account_id}: it was encrypted with another key. Configure the key the "
                                f"tokens were stored with; no account was changed") from None


def cipher_of(key: str) -> TokenCipher | None:
    return TokenCipher(key) if key else None
