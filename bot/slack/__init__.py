"""Slack front end: Bolt app factory, listeners, Block Kit. Knows nothing about numpy or HTTP."""
