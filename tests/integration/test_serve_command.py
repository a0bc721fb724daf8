"""`hazina serve` (what `make run` starts): seeds the demo, serves the API, lets the demo log in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hazina.cli.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from hazina.identity.totp import totp_code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_seeds_the_demo_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "hazina.cli.main",
        "serve",
        "--database",
        str(tmp_path / "demo.sqlite3"),
        "--port",
        str(port),
        "--customers",
        "40",
        "--model-registry",
        str(tmp_path / "models"),
    ]
    server = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the server exited early"
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.3)
        spec = httpx.get(f"{base}/openapi.json").json()
        assert "/v1/p2p-transfers" in spec["paths"]
        login = httpx.post(
            f"{base}/v1/operator-sessions",
            json={
                "username": "admin",
                "password": DEMO_PASSWORD,
                "totp_code": totp_code(DEMO_TOTP_SECRET, int(time.time())),
            },
        )
        assert login.status_code == 201, login.text
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        customers = httpx.get(f"{base}/v1/parties?kind=customer&limit=100", headers=headers)
        assert customers.status_code == 200
        assert len(customers.json()["data"]) == 40
        transactions = httpx.get(f"{base}/v1/transactions?limit=10", headers=headers)
        assert len(transactions.json()["data"]) == 10
        # The demo trained a model into the registry and screening uses it.
        models = httpx.get(f"{base}/v1/risk/models", headers=headers)
        assert models.status_code == 200, models.text
        assert [(m["version"], m["in_use"]) for m in models.json()] == [("v0001", True)]
        decisions = httpx.get(f"{base}/v1/risk/decisions?limit=20", headers=headers)
        assert decisions.status_code == 200, decisions.text
        assert decisions.json()["data"], "the demo's payments were screened"
        for decision in decisions.json()["data"]:
            assert decision["model_version"] == "v0001"
            assert decision["fallback"] is None
            assert decision["reasons"]
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert "Demo operator" in output
    assert f"Console http://127.0.0.1:{port}/console/" in output  # where it listens
    assert "hzk_" in output  # the demo API key, shown once
    assert "Trained the demo fraud model v0001" in output
    assert "Fraud model: v0001" in output
