"""The deploy files name only commands, options, settings and ports that exist, so none drifts.

Docker is not needed: the compose file is parsed with PyYAML, the Dockerfile and nginx site
are read as text, and every name in them is resolved against the CLI (Typer) and ``Settings``.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest
import typer.main
import yaml

from flowpilot.kernel.settings import ENV_PREFIX, Settings
from flowpilot.runtime import cli
from flowpilot.runtime.middleware import _BodyTooLarge
from tests.servers import ROOT

DEPLOY = ROOT / "deploy"
FILES = ["Dockerfile", "compose.yaml", ".env.example", "nginx.conf"]
APP_SERVICES = {"migrate", "web1", "web2", "worker"}
WEB_PORT = 8000


def _text(name: str) -> str:
    return (DEPLOY / name).read_text()


def _readme_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Deploying")
    return readme[start : readme.index("\n## ", start + 1)]


def _compose() -> dict[str, Any]:
    return yaml.safe_load(_text("compose.yaml"))  # type: ignore[no-any-return]


def _dotenv() -> dict[str, str]:
    pairs = {}
    for line in _text(".env.example").splitlines():
        line = line.strip().removeprefix("# ")
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def _dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", _text("Dockerfile"), re.M)
    assert match, "the Dockerfile has no exec-form CMD"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


ROOT_COMMAND = typer.main.get_command(cli.app)


def _resolve(args: list[str]) -> Any:
    """The CLI command ``flowpilot <args>`` runs; fails on an unknown command or option.

    Arguments end at the first word that is neither an option nor an option's value (prose
    after a command in a comment). Typer has its own click: a group is what has ``commands``.
    """
    command: Any = ROOT_COMMAND
    rest = list(args)
    while hasattr(command, "commands"):
        assert rest, f"`flowpilot {' '.join(args)}` names no command"
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"`flowpilot {' '.join(args)}`: no command {name!r}"
        command = sub
    options = {
        opt: param for param in command.params for opt in (*param.opts, *param.secondary_opts)
    }
    tokens = iter(rest)
    for token in tokens:
        if not token.startswith("-"):
            break
        option, _, value = token.partition("=")
        assert option in options, f"`flowpilot {' '.join(args)}`: no option {option}"
        param = options[option]
        if not value and not param.is_flag and option not in param.secondary_opts:
            next(tokens, None)  # the option's value
    return command


def _named_commands(text: str) -> list[list[str]]:
    """Every ``flowpilot <command> [options]`` written in prose, comments or code."""
    found = []
    for match in re.finditer(r"(?<![\w/.-])flowpilot ([a-z][a-z-]*(?![\w.])[^\n`]*)", text):
        line = match.group(1)
        try:
            tokens = shlex.split(line)
        except ValueError:  # an apostrophe in the prose that follows
            tokens = line.split()
        found.append([t for t in tokens if not t.startswith("[")])
    return found


def test_compose_has_the_production_shape() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "nginx", *APP_SERVICES}
    for name in APP_SERVICES:
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["worker"]["command"] == ["worker"]
    for web in ("web1", "web2"):
        assert services[web]["command"][0] == "serve" and "--no-migrate" in services[web]["command"]
        assert services[web]["environment"]["FLOWPILOT_RUN_WORKERS"] == "false"
        assert services[web]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["worker"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    for name in APP_SERVICES:  # one image, several roles; the bus and database are shared
        env = services[name]["environment"]
        assert env["FLOWPILOT_REDIS_URL"].startswith("redis://redis:")
        assert env["FLOWPILOT_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_every_command_and_option_the_deploy_files_name_exists() -> None:
    named = [_dockerfile_cmd()]
    named += [s["command"] for n, s in _compose()["services"].items() if n in APP_SERVICES]
    for source in [*(_text(f) for f in FILES), _readme_section()]:
        named += _named_commands(source)
    assert len(named) > 10
    for args in named:
        _resolve(args)
    # The roles the image is documented with.
    assert _resolve(_dockerfile_cmd()).name == "serve"


def test_every_setting_the_deploy_files_name_exists() -> None:
    fields = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    for source in [*(_text(f) for f in FILES), _readme_section()]:
        for name in set(re.findall(r"\bFLOWPILOT_[A-Z0-9_]+", source)):
            assert name in fields, f"{name} is not a setting"
    # .env.example: what it sets is valid, and compose's own variables are all defined there.
    env = _dotenv()
    chosen = {k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items() if ENV_PREFIX in k}
    settings = Settings(**chosen)
    assert settings.secure_cookies
    for variable in set(re.findall(r"\$\{([A-Z_]+)", _text("compose.yaml"))):
        assert variable in env, f"compose.yaml uses ${{{variable}}}, .env.example does not set it"
    nginx_address = _compose()["services"]["nginx"]["networks"]["flowpilot"]["ipv4_address"]
    assert settings.trusted_proxies == [f"{nginx_address}/32"]


def test_ports_agree_across_image_compose_and_nginx() -> None:
    dockerfile = _text("Dockerfile")
    assert re.search(rf"^EXPOSE {WEB_PORT}$", dockerfile, re.M)
    assert f"127.0.0.1:{WEB_PORT}/healthz" in dockerfile
    serve_commands = [_dockerfile_cmd()] + [
        s["command"]
        for s in _compose()["services"].values()
        if s.get("command", [""])[0] == "serve"
    ]
    for command in serve_commands:
        assert command[command.index("--port") + 1] == str(WEB_PORT)
        assert command[command.index("--host") + 1] == "0.0.0.0"
    site = _text("nginx.conf")
    upstream = re.search(r"upstream flowpilot \{(.*?)\n\}", site, re.S)
    assert upstream
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(1), re.M)
    assert servers == [("web1", str(WEB_PORT)), ("web2", str(WEB_PORT))]
    assert re.findall(r"^\s*listen\s+(\d+);", site, re.M) == ["80"]
    ports = _compose()["services"]["nginx"]["ports"]
    assert ports == ["${HTTP_PORT:-8080}:80"]
    mount = _compose()["services"]["nginx"]["volumes"][0]
    assert mount.startswith("./nginx.conf:/etc/nginx/conf.d/")


def test_nginx_body_limit_is_the_apps() -> None:
    site = _text("nginx.conf")
    size = re.search(r"client_max_body_size (\d+)([km]?);", site)
    assert size
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[size.group(2)]
    limit = Settings().max_body_bytes
    assert int(size.group(1)) * scale == limit
    # nginx's own 413 answers as the app does, word for word.
    answer = re.search(r"return 413 '(.*)';", site)
    assert answer and json.loads(answer.group(1)) == {"detail": _BodyTooLarge(limit).detail}


@pytest.mark.parametrize("name", ["serve", "worker", "db"])
def test_the_image_roles_are_cli_commands(name: str) -> None:
    assert name in ROOT_COMMAND.commands  # type: ignore[attr-defined]


def test_the_image_copies_what_exists_and_runs_as_a_user() -> None:
    dockerfile = _text("Dockerfile")
    sources = [
        src for line in re.findall(r"^COPY (.+)$", dockerfile, re.M) for src in line.split()[:-1]
    ]
    assert sources, "the Dockerfile copies nothing"
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    # The migrations are read beside the package (runtime/migrate.py): both must be copied.
    assert {"alembic.ini", "migrations", "flowpilot"} <= set(sources)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["flowpilot"\]$', dockerfile, re.M)
