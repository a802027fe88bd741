"""Addresses of the original pages the chat page shows under 「查看原文页」, signed by the server.

The page's images are fetched by the browser without the API's key, so each address carries an
HMAC of what it shows (base, document, page, span) made with the data folder's page secret when
the citation was shown: only a reader who was shown the citation holds its address.
"""

import hashlib
import hmac
import secrets
from pathlib import Path
from urllib.parse import quote

PAGE_IMAGES = "/page-images"
SECRET_FILE = "page-state.secret"


def page_secret(data_dir: Path) -> str:
    """The page's secret (it encrypts the browser's saved state and signs page-image addresses), kept under the data
    folder so restarts can read it."""
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


class PageLinks:
    """Signs and checks page-image addresses with one secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode("utf-8")

    @classmethod
    def of(cls, data_dir: Path) -> "PageLinks":
        """The links signed with the data folder's page secret (made on first use)."""
        return cls(page_secret(Path(data_dir)))

    def signature(self, kb: str, doc_id: str, page: int, start: int, end: int) -> str:
        """The signature of one page image with one span boxed."""
        message = f"page-image\n{kb}\n{doc_id}\n{page}\n{start}\n{end}".encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def valid(self, kb: str, doc_id: str, page: int, start: int, end: int, sig: str) -> bool:
        """Whether an address was signed here."""
        return hmac.compare_digest(self.signature(kb, doc_id, page, start, end), sig)

    def url(self, citation) -> str:
        """The signed address of a citation's page, its passage boxed."""
        kb = citation.kb or "default"
        sig = self.signature(kb, citation.doc_id, citation.page, citation.start, citation.end)
        return (
            f"{PAGE_IMAGES}/{quote(kb)}/{quote(citation.doc_id)}/{citation.page}.png"
            f"?start={citation.start}&end={citation.end}&sig={sig}"
        )
