"""faqbot: answers the questions people keep asking in Slack, from a team's FAQ."""

__version__ = "0.1.0"
