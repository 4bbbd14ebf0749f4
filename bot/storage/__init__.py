"""The pieces behind ``bot.store``: database URLs, the schema, and the in-process fallback."""
