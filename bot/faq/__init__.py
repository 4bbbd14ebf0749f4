"""The FAQ engine. Knows nothing about Slack."""
