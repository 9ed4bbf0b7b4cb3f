"""Tables of the service store. A carnet's document is kept whole (JSON) with a row version, because
the ledger judges the whole document; travels carry their own version for the holder's devices."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

parties = Table(
    "parties",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("role", String(32), nullable=False),  # holder, representative, issuer, customs, chain, operator
    Column("name", String(200), nullable=False),
    Column("territory", String(2), nullable=True),  # customs of territory XX
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of a 256-bit API key
)

# Client certificates mapped to parties (mTLS terminated at a trusted proxy): a table of its own, so
# databases made before it gain it from create_all at start.
party_certs = Table(
    "party_certs",
    metadata,
    Column("sha256", String(64), primary_key=True),  # of the certificate's DER
    Column("party_id", String(64), nullable=False),
    Column("subject", String(400), nullable=False),
)

# Webhook subscriptions: events pushed to a party's URL, in order, at least once (HMAC-signed).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("party_id", String(64), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("kinds", String(400), nullable=False),  # comma-separated event kinds
    Column("secret", String(64), nullable=False),  # shared HMAC key, shown to the party once
    Column("last_event_id", Integer, nullable=False, default=0),  # delivered up to here
    Column("failures", Integer, nullable=False, default=0),  # consecutive failed deliveries
    Column("retry_at", Float, nullable=False, default=0.0),
    Column("disabled", String(400), nullable=True),  # why deliveries stopped, if they did
)

carnets = Table(
    "carnets",
    metadata,
    Column("carnet_id", String(40), primary_key=True),
    Column("issuer_id", String(64), nullable=False, index=True),
    Column("holder_id", String(64), nullable=True, index=True),
    Column("pin_hash", String(200), nullable=False),
    Column("doc", Text, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("updated", Float, nullable=False),
)

# PIN attempts, each written before its PIN is checked (so parallel guesses count); kept while they are
# within the window, except attempts refused by the limit (they checked nothing) and the right PIN.
pin_attempts = Table(
    "pin_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("carnet_id", String(40), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),
    Column("party_id", String(64), nullable=True, index=True),  # the caller who tried (per-caller limit)
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("carnet_id", String(40), nullable=False, index=True),
    Column("transaction_id", String(64), nullable=True, index=True),
    Column("territory", String(2), nullable=True),
    Column("kind", String(32), nullable=False),  # submitted, committed, rejected, cancelled, ...
    Column("detail", Text, nullable=False),
    Column("at", Float, nullable=False),
)

submissions = Table(
    "submissions",
    metadata,
    Column("tracking_id", String(64), primary_key=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("carnet_id", String(40), nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("territory", String(2), nullable=False),
    Column("at", Float, nullable=False),
)

# Customs answers applied, once each: written in the same transaction as their effect, so an answer whose
# application failed leaves no trace here and is applied when customs send it again.
answers = Table(
    "answers",
    metadata,
    Column("message_id", String(64), primary_key=True),  # the answer's own message ID
    Column("territory", String(2), nullable=False),
    Column("in_reply_to", String(64), nullable=False, index=True),
    Column("outcome", String(32), nullable=False),  # committed, rejected
    Column("at", Float, nullable=False),
)

shares = Table(
    "shares",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("carnet_id", String(40), nullable=False),
    Column("travel_id", String(64), nullable=False),
    Column("transactions", Text, nullable=False),
    Column("expires", Float, nullable=False),
)

# National references per transaction, sent and received (issue 12: answers are matched by what real
# answers carry): the LRN we sent (= our message ID), the MRN an IE007 names, the MRN customs allocated
# (IE028/IE029, CDS DMSACC Declaration/ID). An answer naming a reference found nowhere here is refused.
references = Table(
    "references",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("value", String(64), nullable=False, index=True),  # the reference itself (LRN an..35, MRN an18)
    Column("scheme", String(8), nullable=False),  # LRN | MRN
    Column("direction", String(8), nullable=False),  # sent | received
    Column("message_id", String(64), nullable=False),  # the submission it belongs to
    Column("carnet_id", String(40), nullable=False),
    Column("transaction_id", String(64), nullable=False, index=True),
    Column("territory", String(2), nullable=False),
    Column("at", Float, nullable=False),
)
