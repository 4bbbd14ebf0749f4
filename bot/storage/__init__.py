"""faqbot's database: claims, the question and feedback log, FAQ edits, and the report's
queries.

SQLite by default, PostgreSQL (``DATABASE_URL``) when several dynos share the work. Everything
outside this package comes in through here; the modules behind it are:

- ``store``: ``Store``, the one object a process opens (``open_store``);
- ``claims``: the ``ClaimStore`` protocol and ``LocalClaims``, the in-process claim set;
- ``faq_edits``: ``StoredEdit`` and ``StaleEdit``, the FAQ edits and the change counter
  processes poll;
- ``escalations``: ``Escalation``, questions handed to a person, and what became of them;
- ``learning``: ``Suggestion``, phrasings learned from choice clicks and 👍 votes, and
  ``AskedQuestion``, what a reply answered;
- ``outage``: when to retry a database that is down;
- ``schema``: the tables; ``url``: parsing and redacting ``DATABASE_URL``, the default
  database in the per-user data directory, and refusing SQLite on Heroku;
- ``privacy``: pseudonyms for users and question texts;
- ``retention``: what LOG_RETENTION_DAYS erases (``Purged``: how much one purge did);
- ``queries``: reading the log back for ``faqbot report``, and the escalations waiting for
  an editor (``Waiting``) for the App Home.
"""

from bot.storage.claims import ClaimStore, LocalClaims
from bot.storage.escalations import CLAIMED, OPEN, RESOLVED, Escalation
from bot.storage.faq_edits import StaleEdit, StoredEdit
from bot.storage.learning import ACCEPTED, PENDING, REJECTED, AskedQuestion, Suggestion
from bot.storage.privacy import normalise
from bot.storage.queries import Log, Row, Waiting, read_log
from bot.storage.retention import Purged, is_purged
from bot.storage.schema import utcnow
from bot.storage.store import VOTES, Store, open_store
from bot.storage.url import describe_database, vet_choice

__all__ = ["ACCEPTED", "CLAIMED", "OPEN", "PENDING", "REJECTED", "RESOLVED", "VOTES",
           "AskedQuestion", "ClaimStore", "Escalation",
           "LocalClaims", "Log", "Purged", "Row", "StaleEdit", "Store", "StoredEdit", "Suggestion",
           "Waiting", "describe_database", "is_purged", "normalise", "open_store", "read_log",
           "utcnow", "vet_choice"]
