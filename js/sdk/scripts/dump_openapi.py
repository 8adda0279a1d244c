"""Writes the marketplace API's OpenAPI document (JSON) to the path given, or to stdout.

The app is built exactly as `aigc serve` builds it, bound to a throwaway deployment on the
embedded chain and a throwaway SQLite database, so the document is the one the server publishes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ledger import EmbeddedChain, deploy
from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chain = EmbeddedChain()
        deployment = deploy(chain, chain.dev_accounts()[0])
        settings = ApiSettings(
            database_url=f"sqlite:///{Path(tmp) / 'openapi.db'}",
            blob_dir=Path(tmp) / "blobs",
            indexer_interval_s=0,
        )
        doc = create_app(settings, deployment).openapi()
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
