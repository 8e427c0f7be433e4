"""Sealed secrets: credentials encrypted at rest with the server's key (plain Python, no ORM).

A sealed value is ``PREFIX + <Fernet token>``: AES-128-CBC with an HMAC-SHA256, so a changed or
truncated value is refused rather than decrypted to garbage. Values without the prefix are
stored in clear (no key was configured when they were written) and pass through unchanged,
which keeps a database readable while its secrets are sealed for the first time.

The key is text from the server configuration: either a Fernet key (``Fernet.generate_key()``)
or any passphrase, stretched with HKDF. Previous keys still open values sealed before a
rotation; ``reseal`` moves a value to the current key.
"""

import base64
import binascii
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "$cc-sealed$1$"
# What the web client shows for a saved secret; writing it back means "unchanged".
MASK = "\u2022" * 10

CLEAR, CURRENT, PREVIOUS, UNREADABLE = "clear", "current", "previous", "unreadable"


class SealingError(Exception):
    """A sealed value that none of the configured keys opens (key lost, or value altered)."""


def generate_key():
    return Fernet.generate_key().decode()


def _fernet_of(key_text):
    key_text = key_text.strip()
    try:
        if len(base64.urlsafe_b64decode(key_text.encode())) == 32:
            return Fernet(key_text.encode())
    except (binascii.Error, ValueError):
        pass  # not base64: a passphrase, stretched below
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"commerce_connector",
                   info=b"sealed secrets v1").derive(key_text.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _split_keys(text):
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


def fingerprint(key_text):
    """A short, non-reversible name for a key, to tell keys apart in the UI and in logs."""
    return hashlib.sha256(key_text.strip().encode()).hexdigest()[:12] if key_text else ""


def is_sealed(stored):
    return bool(stored) and stored.startswith(PREFIX)


class KeyRing:
    """The current key (seals and opens) and the previous ones (open only)."""

    def __init__(self, current=None, previous=()):
        self.current_text = (current or "").strip()
        self.previous_texts = [key for key in previous if key.strip() and key.strip() != self.current_text]
        self._current = _fernet_of(self.current_text) if self.current_text else None
        self._previous = [_fernet_of(key) for key in self.previous_texts]
        openers = ([self._current] if self._current else []) + self._previous
        self._opener = MultiFernet(openers) if openers else None

    @property
    def has_key(self):
        return self._current is not None

    @property
    def fingerprint(self):
        return fingerprint(self.current_text)

    def seal(self, plain):
        """``plain`` sealed with the current key; unchanged (clear) when no key is configured."""
        if not plain or is_sealed(plain) or self._current is None:
            return plain
        return PREFIX + self._current.encrypt(plain.encode()).decode()

    def unseal(self, stored):
        if not is_sealed(stored):
            return stored
        return self._open(stored)

    def state_of(self, stored):
        """clear, current (sealed with the current key), previous, or unreadable."""
        if not is_sealed(stored):
            return CLEAR
        token = stored[len(PREFIX):].encode()
        if self._current is not None:
            try:
                self._current.decrypt(token)
                return CURRENT
            except InvalidToken:
                pass  # not the current key's: try the previous ones
        for fernet in self._previous:
            try:
                fernet.decrypt(token)
                return PREVIOUS
            except InvalidToken:
                continue
        return UNREADABLE

    def reseal(self, stored):
        """``stored`` sealed with the current key (clear values sealed for the first time)."""
        if not stored or self._current is None:
            return stored
        return self.seal(self.unseal(stored))

    def _open(self, stored):
        return _open_cached(self, stored)


@functools.lru_cache(maxsize=512)
def _open_cached(ring, stored):
    # Webhook routes open the same secret on every delivery: decrypt once per key ring.
    if ring._opener is None:
        raise SealingError("the value is sealed but no commerce_connector_key is configured")
    try:
        return ring._opener.decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise SealingError("the value is sealed with a key that is not configured") from None


@functools.lru_cache(maxsize=8)
def key_ring(current, previous):
    """The key ring of these settings, built once: building derives keys."""
    return KeyRing(current, _split_keys(previous))
