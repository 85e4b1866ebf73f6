"""The package as the container image ships it: built from the files the Dockerfile copies,
installed into a fresh virtualenv, and started the way the image starts it.

The image itself cannot be built here (no Docker engine), so this does what its build
stage does, with the Python the tests run on (which must be the image's), and then runs
the image's command with its environment and its health check.
"""

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from app.graphiql import ASSETS
from tests.live_server import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
IMAGE_PORT = "8000"


def dockerfile_instructions(keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines()
            if line.split(None, 1)[:1] == [keyword]]


def image_environment() -> dict[str, str]:
    environment: dict[str, str] = {}
    for arguments in dockerfile_instructions("ENV"):
        for assignment in shlex.split(arguments):
            name, _, value = assignment.partition("=")
            environment[name] = value
    return environment


def test_the_image_runs_the_python_the_tests_run_on():
    bases = dockerfile_instructions("FROM")
    versions = {re.match(r"python:(\d+\.\d+)", base).group(1) for base in bases}
    assert versions == {f"{sys.version_info.major}.{sys.version_info.minor}"}, bases


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built, as the image's build stage does, from only the files it copies."""
    source = tmp_path_factory.mktemp("image-source")
    for arguments in dockerfile_instructions("COPY"):
        if arguments.startswith("--from"):
            continue
        *copied, _destination = arguments.split()
        for name in copied:
            origin = ROOT / name
            if origin.is_dir():
                shutil.copytree(origin, source / name,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(origin, source / name)
    built = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", built,
         source])
    (wheel,) = built.glob("bookings-*.whl")
    return wheel


def test_the_wheel_holds_graphiqls_files_with_their_licences_the_migrations_and_catalogues(
        wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ASSETS:
        assert f"app/graphiql_assets/{asset.path}" in names
        assert f"app/graphiql_assets/{asset.package}@{asset.version}/LICENSE" in names
    assert "app/graphiql.js" in names and "app/_migrations/alembic.ini" in names
    # Compiled message catalogues: an installed server speaks Spanish without a build step.
    assert "app/i18n/locales/es/LC_MESSAGES/messages.mo" in names
    assert any(name.startswith("app/_migrations/versions/") for name in names)


def test_the_image_command_serves_from_a_fresh_virtualenv_in_production(
        wheel, database_url, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel])

    port = str(free_port())
    environment = image_environment()
    assert environment["BOOKINGS_ENV"] == "production"
    environment.update(
        PATH=environment["PATH"].replace("/opt/venv/bin", str(venv / "bin")),
        BOOKINGS_DATA_DIR=str(tmp_path / "data"),
        # Given at run time, as the Dockerfile says; GraphiQL on, to check the page too.
        DATABASE_URL=database_url, BOOKINGS_SECRET_KEY="s" * 48, BOOKINGS_GRAPHIQL="true",
        BOOKINGS_APP_URL="https://app.example.com")
    command = json.loads(dockerfile_instructions("CMD")[-1])
    command = [part if part != IMAGE_PORT else port for part in command]
    command[command.index("--host") + 1] = "127.0.0.1"  # not every interface of this machine
    log = tmp_path / "server.log"
    with log.open("w") as output:
        # From an empty folder: nothing of the checkout is importable, only the installed wheel.
        server = subprocess.Popen(command, env=environment, cwd=tmp_path, stdout=output,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server, log.read_text)
        health_check = dockerfile_instructions("HEALTHCHECK")[0].split("CMD", 1)[1]
        run(shlex.split(health_check.replace(f":{IMAGE_PORT}/", f":{port}/")),
            env=environment, cwd=tmp_path)

        page = httpx.get(f"{url}/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        for asset in ASSETS:
            assert f'src="/graphiql/assets/{asset.path}"' in page.text or \
                f'href="/graphiql/assets/{asset.path}"' in page.text
            served = httpx.get(f"{url}/graphiql/assets/{asset.path}")
            assert served.status_code == 200 and asset.matches(served.content), asset.path
        answer = httpx.post(f"{url}/graphql", json={"query": "{ __typename }"})
        assert answer.json() == {"data": {"__typename": "Query"}}
    finally:
        server.terminate()
        server.wait(timeout=20)
    # Production logs are JSON lines: the request above is one of them.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("logger") == "app.access" and line.get("path") == "/graphql"
               for line in lines), log.read_text()
    assert server.returncode == 128 + signal.SIGTERM, log.read_text()  # a clean stop


def run(command: list, **options) -> None:
    finished = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                              check=False, **options)
    assert finished.returncode == 0, f"{command}\n{finished.stdout}\n{finished.stderr}"
