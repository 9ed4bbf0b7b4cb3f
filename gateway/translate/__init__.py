"""The translation core: eATA messages ⇄ national XML dialects. Pure: no broker, HTTP or database.

``to_xml(message, territory)`` builds the dialect's document and checks it against our XSD profile;
``from_xml(root, territory)`` reads a national document back into the same message. Signing and
verification wrap around this (``gateway.signing``); transports wrap around that.
"""

from gateway.translate.core import (
    Message,
    dialect_for,
    from_bytes,
    from_xml,
    mapping_for,
    to_bytes,
    to_xml,
)

__all__ = ["Message", "dialect_for", "from_bytes", "from_xml", "mapping_for", "to_bytes", "to_xml"]
