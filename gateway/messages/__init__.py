"""Messages the gateway exchanges with customs: projections of a carnet document, one per voucher.

A carnet document is the holder's whole file; a customs system receives one declaration (the carnet's
front-cover facts plus the declared items) and answers with one response. These are the units the
dialect mappings translate, and JSON → XML → JSON gives back exactly the same message.
"""

from gateway.messages.declaration import Declaration, DeclaredItem, Trader, declaration_for, split
from gateway.messages.response import Response

__all__ = ["Declaration", "DeclaredItem", "Response", "Trader", "declaration_for", "split"]
