"""Unit tests for the birthday app, with Flask's test client (no server, no Docker)."""

import importlib.util

import pytest

from workshop.paths import ROOT


@pytest.fixture
def client():
    spec = importlib.util.spec_from_file_location("birthday_app", ROOT / "app" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app.test_client()


def test_default_name_is_john(client, monkeypatch):
    monkeypatch.delenv("NAME", raising=False)
    response = client.get("/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "Happy birthday John"


def test_name_comes_from_the_environment(client, monkeypatch):
    monkeypatch.setenv("NAME", "Alice")
    assert client.get("/").get_data(as_text=True) == "Happy birthday Alice"


def test_non_ascii_name_comes_back_intact_in_utf8(client, monkeypatch):
    monkeypatch.setenv("NAME", "Zoë Ødegård 李")
    response = client.get("/")
    assert response.mimetype == "text/plain"
    assert response.mimetype_params.get("charset") == "utf-8"
    assert response.data == "Happy birthday Zoë Ødegård 李".encode()


def test_html_in_name_is_not_served_as_markup(client, monkeypatch):
    monkeypatch.setenv("NAME", "<script>alert(1)</script>")
    response = client.get("/")
    # Served as plain text, a browser shows the tags instead of running them.
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.get_data(as_text=True) == "Happy birthday <script>alert(1)</script>"


def test_unknown_path_is_404(client):
    assert client.get("/nope").status_code == 404


def test_main_listens_on_all_interfaces_port_8080(monkeypatch):
    """Running ``python app.py`` calls app.run(host="0.0.0.0", port=8080), as the seed does."""
    import runpy

    import flask

    calls = []
    monkeypatch.setattr(flask.Flask, "run", lambda self, **kw: calls.append(kw))
    runpy.run_path(str(ROOT / "app" / "app.py"), run_name="__main__")
    assert calls == [{"host": "0.0.0.0", "port": 8080}]
