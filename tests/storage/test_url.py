"""DATABASE_URL: which URLs are accepted, the driver they get, and that a password never
shows in what is printed."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.storage import Store
from bot.storage.url import parse_url

PASSWORD = "s3cret-pw"


@pytest.mark.parametrize("raw", [f"postgres://u:{PASSWORD}@db.example:5432/faq",
                                 f"postgresql://u:{PASSWORD}@db.example:5432/faq",
                                 f"postgresql+psycopg://u:{PASSWORD}@db.example:5432/faq"])
def test_postgres_urls_use_psycopg_3(raw):
    url = parse_url(raw)
    assert url.render_as_string() == "postgresql+psycopg://u:***@db.example:5432/faq"


@pytest.mark.parametrize("raw", [f"mysql://u:{PASSWORD}@h/db", "sqlite://", f"{PASSWORD}"])
def test_unsupported_urls_are_user_errors_without_the_password(raw):
    with pytest.raises(UserError) as error:
        Store.from_url(raw)
    assert "DATABASE_URL" in error.value.one_line()
    assert PASSWORD not in error.value.one_line()


def test_a_non_numeric_port_is_a_user_error():
    with pytest.raises(UserError, match="not a database URL"):
        Store.from_url(f"postgresql://u:{PASSWORD}@127.0.0.1:abc/db")
