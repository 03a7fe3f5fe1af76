"""Discord user tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) with the operator's key.

Only the token is encrypted, inside the account's JSON (``user_token_enc`` instead of ``user_token``), so
the rest of the row stays readable for listing and debugging. Fernet authenticates the ciphertext: a
wrong key is detected, never turned into a garbage token sent to Discord.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from mjproxy.store.errors import TokenKeyError

ENCRYPTED_FIELD = "user_token_enc"
PLAIN_FIELD = "user_token"


def generate_key() -> str:
    return Fernet.generate_key().decode()


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
