"""With no API keys the APIs answer this machine only: a request through a reverse proxy never counts as local.

The proxy is real: Debian's nginx running the README's own example, pointed at the app on loopback.
"""

import re
import subprocess

import httpx
import pytest

from conftest import free_port, make_settings
from serving import served, wait_until_up
from settings import REPO_ROOT
from sysdeps import require_programs

DOCUMENTS = "/api/v1/documents"


@pytest.fixture(scope="module")
def keyless_app(sample_service, tmp_path_factory):
    """The app with no API keys configured (open to this machine only), served on loopback."""
    from web.server import create_server

    settings = make_settings(tmp_path_factory.mktemp("keyless"))
    with served(create_server(sample_service, settings)) as url:
        yield url


def readme_nginx_example() -> str:
    """The nginx configuration the README gives for several app processes."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^    # nginx\n(.*?^    }\n)", readme, re.M | re.S)
    assert block, "the README's deployment section holds an nginx example"
    return "\n".join(line[4:] for line in block.group(1).splitlines())


def runnable(example: str, app_port: int, listen_port: int, prefix) -> str:
    """The README's example with its upstream on the test app and plain HTTP on a loopback port, in a whole nginx.conf."""
    example = re.sub(r"upstream policyqa \{[^}]*\}", f"upstream policyqa {{ server 127.0.0.1:{app_port}; }}", example)
    example = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{listen_port};", example)
    temp = " ".join(f"{name}_temp_path {prefix}/{name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        f"pid {prefix}/nginx.pid; error_log {prefix}/error.log; daemon off; worker_processes 1;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{ access_log off; {temp}\n{example}\n}}\n"
    )


@pytest.fixture(scope="module")
def readme_proxy(keyless_app, tmp_path_factory):
    """nginx on a loopback port running the README's example in front of the keyless app; yields its URL."""
    require_programs({"nginx": ["nginx-light"]})
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    (prefix / "nginx.conf").write_text(
        runnable(readme_nginx_example(), int(keyless_app.rsplit(":", 1)[1]), port, prefix), encoding="utf-8"
    )
    process = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/healthz", process, "nginx")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_a_direct_request_from_this_machine_is_answered(keyless_app):
    port = keyless_app.rsplit(":", 1)[1]
    assert httpx.get(keyless_app + DOCUMENTS).status_code == 200
    assert httpx.get(keyless_app + DOCUMENTS, headers={"Host": f"localhost:{port}"}).status_code == 200


def test_the_readme_nginx_example_does_not_make_remote_callers_local(readme_proxy):
    through = httpx.get(readme_proxy + DOCUMENTS)
    assert through.status_code == 403 and "POLICYQA_API_KEYS" in through.json()["detail"]
    assert httpx.get(readme_proxy + "/healthz").status_code == 200, "the proxy itself works"


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "policyqa.example.gov.cn"},  # what nginx passes with `proxy_set_header Host $host`
        {"Host": "policyqa"},  # nginx's default: the upstream's name
        {"X-Forwarded-For": "127.0.0.1"},  # a caller claiming to be local, through a proxy that appends
        {"X-Real-IP": "203.0.113.7"},
        {"Forwarded": "for=203.0.113.7"},
        {"Via": "1.1 proxy"},
    ],
)
def test_a_request_that_came_through_a_proxy_is_refused_without_keys(keyless_app, headers):
    refused = httpx.get(keyless_app + DOCUMENTS, headers=headers)
    assert refused.status_code == 403 and "反向代理" in refused.json()["detail"]
