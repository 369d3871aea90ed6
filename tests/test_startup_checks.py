"""Every process refuses bad production settings at start: one line, exit 2, no traceback.

Real processes (manage.py, the WSGI module, the Celery app, gunicorn) with settings.base and
an environment built here, so nothing from the test settings leaks in.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from settings.checks import DEV_SECRET_KEY, settings_problems

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GOOD_SECRET_KEY = secrets.token_urlsafe(50)
GOOD_FERNET_KEY = Fernet.generate_key().decode()
# Settings a process reads from the environment that would change what is under test.
_CONTROLLED = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DEBUG", "DJANGO_SETTINGS_MODULE")

ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "wsgi": [sys.executable, "-c", "import genesys_gateway.wsgi"],
    "celery": [str(BIN / "celery"), "-A", "genesys_gateway", "inspect", "ping", "--timeout=1"],
    "gunicorn": [str(BIN / "gunicorn"), "--bind", "127.0.0.1:0", "genesys_gateway.wsgi"],
}


def _env(**settings: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _CONTROLLED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "settings.base",
            "SECRET_KEY": GOOD_SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": GOOD_FERNET_KEY,
            # Never the database of the running suite: the checks need none.
            "DATABASE_URL": "sqlite:////nonexistent/never-opened.sqlite3",
        }
    )
    for key, value in settings.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _assert_refused(result: subprocess.CompletedProcess[str], *, mentions: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("genesys-gateway: refusing to start: ")
    assert mentions in lines[0]


BAD_SETTINGS = {
    "secret key missing": ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
    "secret key empty": ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    "secret key the development default": ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY is not set"),
    "secret key short": ({"SECRET_KEY": "short-but-not-empty"}, "SECRET_KEY is insecure"),
    "secret key few characters": ({"SECRET_KEY": "abab" * 20}, "SECRET_KEY is insecure"),
    "secret key django-insecure": (
        {"SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(50)},
        "SECRET_KEY is insecure",
    ),
    "encryption keys missing": ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS is empty"),
    "encryption keys blank": ({"FIELD_ENCRYPTION_KEYS": " , "}, "FIELD_ENCRYPTION_KEYS is empty"),
    "encryption key invalid": (
        {"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"},
        "FIELD_ENCRYPTION_KEYS entry 1 is not a Fernet key",
    ),
    "second encryption key invalid": (
        {"FIELD_ENCRYPTION_KEYS": f"{GOOD_FERNET_KEY},{GOOD_FERNET_KEY[:-2]}"},
        "FIELD_ENCRYPTION_KEYS entry 2 is not a Fernet key",
    ),
}


@pytest.mark.parametrize("case", BAD_SETTINGS, ids=list(BAD_SETTINGS))
def test_manage_py_refuses_bad_settings(case: str) -> None:
    overrides, mentions = BAD_SETTINGS[case]
    _assert_refused(_run(ENTRY_POINTS["manage.py"], _env(**overrides)), mentions=mentions)


@pytest.mark.parametrize("entry_point", ["wsgi", "celery", "gunicorn"])
@pytest.mark.parametrize("case", ["secret key missing", "encryption key invalid"])
def test_every_process_refuses_bad_settings(entry_point: str, case: str) -> None:
    overrides, mentions = BAD_SETTINGS[case]
    _assert_refused(_run(ENTRY_POINTS[entry_point], _env(**overrides)), mentions=mentions)


def test_both_problems_are_reported_on_the_one_line() -> None:
    result = _run(ENTRY_POINTS["manage.py"], _env(SECRET_KEY=None, FIELD_ENCRYPTION_KEYS="x"))
    _assert_refused(result, mentions="SECRET_KEY is not set; FIELD_ENCRYPTION_KEYS entry 1")


def test_good_settings_start() -> None:
    manage = _run(ENTRY_POINTS["manage.py"], _env())
    assert manage.returncode == 0, manage.stderr
    wsgi = _run(ENTRY_POINTS["wsgi"], _env())
    assert wsgi.returncode == 0, wsgi.stderr


def test_debug_mode_starts_without_production_secrets() -> None:
    result = _run(
        ENTRY_POINTS["manage.py"], _env(DEBUG="true", SECRET_KEY=None, FIELD_ENCRYPTION_KEYS=None)
    )
    assert result.returncode == 0, result.stderr


def test_secret_values_never_appear_in_the_refusal() -> None:
    weak = "weak-secret-value-xyz"
    result = _run(ENTRY_POINTS["manage.py"], _env(SECRET_KEY=weak, FIELD_ENCRYPTION_KEYS="k3y!"))
    _assert_refused(result, mentions="SECRET_KEY is insecure")
    assert weak not in result.stderr and "k3y!" not in result.stderr


def test_settings_problems_accepts_production_values_and_ignores_debug() -> None:
    assert (
        settings_problems(
            debug=False, secret_key=GOOD_SECRET_KEY, encryption_keys=[GOOD_FERNET_KEY]
        )
        == []
    )
    assert settings_problems(debug=True, secret_key="", encryption_keys=[]) == []
    assert len(settings_problems(debug=False, secret_key="", encryption_keys=[])) == 2


def documented_production_settings() -> dict[str, str]:
    """The `env` block under "Production settings" in docs/operations.md."""
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("## Production settings", 1)[1]
    block = re.search(r"```env\n(.*?)```", section, re.S)
    assert block, "docs/operations.md: no env block under 'Production settings'"
    values = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def test_check_deploy_is_clean_with_the_documented_production_settings() -> None:
    documented = documented_production_settings()
    assert {"SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE"} <= set(
        documented
    )
    # The documented secrets are placeholders; an operator generates real ones.
    documented.update(SECRET_KEY=GOOD_SECRET_KEY, FIELD_ENCRYPTION_KEYS=GOOD_FERNET_KEY)
    documented.pop("DATABASE_URL", None)
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = _run(command, _env(**documented))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_the_https_settings() -> None:
    # The clean result above comes from the documented values, not from a check that is off.
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = _run(command, _env(ALLOWED_HOSTS="gateway.example.com"))
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout
