"""HTTP API benchmark: payments per second through the whole stack, over loopback.

    python bench/api.py                         # SQLite
    python bench/api.py --postgres auto         # also PostgreSQL, on a throwaway local server
    python bench/api.py --postgres postgresql://user@host/db   # a fresh, empty database
    python bench/api.py --quick                 # a few hundred requests, SQLite only

Three processes per database. The server is uvicorn (one worker, uvloop + httptools) serving
`create_app` over a fresh database: a SQLite file with WAL and synchronous=FULL (the default
store), or PostgreSQL with its default settings (fsync and synchronous_commit on). It seeds its
customers, one agent and one merchant through the platform's services before it serves. The load
generator is a separate process that keeps a fixed number of requests in flight over HTTP/1.1
keep-alive connections (one request at a time per connection) and stops after `--requests` or
`--seconds`, whichever comes first. The mix: P2P between random customers, merchant payments by
merchant code, and cash-outs at the agent, each with its own Idempotency-Key. Only 201s count
as payments; every other status is reported, and any 5xx is a failure.

Prints requests/s, payments/s, p50/p99/p999 latency, error counts and the ratio to the target
of 2,000 payments/s with p99 under 50 ms (load generator on the same machine), and the CPU per
request of server and load generator over the timed phase. `--breakdown` adds where the
server's CPU goes (per-thread CPU clocks around a few methods; cheap enough to leave the
numbers nearly unchanged); `--profile FILE` writes cProfile stats of every server thread (CPU
time; the profiler itself slows the server several times over); `--direct` also runs the same mix
straight into the payments service from threads, without HTTP, for comparison. Numbers go into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

target_payments_per_second = 2_000
target_p99_ms = 50.0
server_start_timeout_s = 120.0  # seeding a thousand customers on a busy machine included
server_stop_timeout_s = 30.0
load_timeout_margin_s = 120.0  # on top of --seconds: connecting, warm-up, building requests
seed_threads = 16  # concurrent seeding calls, so that they share group commits
listen_backlog = 1_024
currency_code = "KES"
customer_funding_minor = 10_000_000  # KES 100,000 each: far more than a run can spend
amount_minor_min = 10_000  # KES 100: above every tariff's minimum
amount_minor_max = 200_000  # KES 2,000
agent_code = "BENCHAGENT"
merchant_code = "BENCHSHOP"
# The mix, as weights: 50% P2P, 30% merchant payments, 20% cash-outs.
mix = (("p2p", 50), ("merchant", 30), ("cash_out", 20))
paths = {
    "p2p": "/v1/p2p-transfers",
    "merchant": "/v1/merchant-payments",
    "cash_out": "/v1/cash-outs",
}


# -- the server process ----------------------------------------------------------------------


def seed(platform: Any, customers: int) -> dict[str, Any]:
    """An API key, the agent (with float), the merchant and `customers` funded customers, all
    through the services; returns what the load generator needs to address them."""
    from hazina.identity.roles import Scope
    from hazina.kernel.ids import prefixed
    from hazina.payments.domain.chart import PartyKind
    from hazina.payments.domain.limits import KycTier

    payments = platform.payments
    key = platform.identity.issue_key("bench", "bench", list(Scope), "bench").plaintext
    agent = payments.register_party(
        PartyKind.agent, "Bench Agent", [currency_code], code=agent_code, kyc_tier=KycTier.full
    )
    agent_wallet = payments.wallet_of(agent.id, currency_code).id
    payments.register_party(
        PartyKind.merchant,
        "Bench Shop",
        [currency_code],
        code=merchant_code,
        kyc_tier=KycTier.enhanced,
        details={"merchant_category_code": "5411", "city": "Nairobi"},
    )
    payments.purchase_float(agent_wallet, customers * customer_funding_minor, "bench float")

    def customer(number: int) -> tuple[str, str]:
        phone = f"+2547{10_000_000 + number:08d}"  # 07xx: valid Kenyan mobile numbers
        party = payments.register_party(
            PartyKind.customer,
            f"Customer {number}",
            [currency_code],
            phone=phone,
            kyc_tier=KycTier.full,
        )
        wallet = payments.wallet_of(party.id, currency_code).id
        payments.cash_in(agent_wallet, wallet, customer_funding_minor, currency_code)
        return phone, prefixed("wal", wallet)

    with ThreadPoolExecutor(seed_threads) as pool:
        funded = list(pool.map(customer, range(customers)))
    return {
        "api_key": key,
        "phones": [phone for phone, _ in funded],
        "wallets": [wallet for _, wallet in funded],
    }


class ThreadProfiles:
    """cProfile in every thread: the event loop, the request worker threads and the ledger's
    committer. Each thread enables its own profiler the first time it runs Python code. The
    timer is the thread's CPU time, not the wall clock: with a dozen threads taking turns on
    the GIL, wall time would charge every function for the time it waited for its turn."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.setprofile(self._enable_in_thread)
        self._enable_in_thread()

    def _enable_in_thread(self, *_: object) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self.profiles.append(profile)
        profile.enable()  # replaces this function as the thread's profiler

    def dump(self, path: Path) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        self.profiles[0].disable()
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            # Completed calls only. `create_stats` would first disable the profiler, which
            # closes the calls still open in that thread (a worker parked on its queue) with
            # this thread's CPU clock, charging them nonsense.
            profile.snapshot_stats()
            if profile.stats:  # type: ignore[attr-defined]
                stats.add(_Snapshot(profile.stats))  # type: ignore[attr-defined]
        stats.dump_stats(str(path))


@dataclass(slots=True)
class _Snapshot:
    """What `pstats.Stats.add` reads from a profile, without disabling it."""

    stats: dict[Any, Any]

    def create_stats(self) -> None:
        pass


class Breakdown:
    """Where the server's CPU goes, by thread and by step, measured with per-thread CPU clocks
    (`time.thread_time`) around a few methods of the ledger: a handful of clock reads per
    request, so that, unlike a profiler, it barely changes what it measures.

    The event loop thread runs uvicorn, Starlette/FastAPI routing, the middleware, request
    body parsing and pydantic validation, and response serialisation. The route (API key
    check, phone parsing, party look-ups, idempotency hash, the payments service, the response
    model) runs on the loop too on SQLite (`kernel.loop_bridge`, suspended while it waits for
    the committer), in worker threads on PostgreSQL; its steps are timed wherever they run.
    The committer runs each group's database transaction: the payments service's unit of work,
    the ledger's apply inside it, persisting and the journal, and the commit.

    A route on the loop is suspended inside `LedgerService.run` while the loop serves other
    requests, so the CPU clock of its thread across that call counts theirs too: the service's
    own CPU is its time less the time inside `run` (`ledger wait`), in which it does nothing.
    """

    def __init__(self) -> None:
        self.cpu_s: Counter[str] = Counter()
        self.wall_s: Counter[str] = Counter()
        self.requests = 0
        self._process_started = 0.0
        self._loop_started = 0.0

    def install(self) -> None:
        import importlib

        from hazina.ledger import service as ledger_service

        def timed(name: str, function: Callable[..., Any], worker_only: bool) -> Callable[..., Any]:
            def wrapper(*arguments: Any, **keywords: Any) -> Any:
                if worker_only and threading.current_thread().name == "ledger-committer":
                    return function(*arguments, **keywords)
                cpu, wall = time.thread_time(), time.perf_counter()
                try:
                    return function(*arguments, **keywords)
                finally:
                    self.cpu_s[name] += time.thread_time() - cpu
                    self.wall_s[name] += time.perf_counter() - wall

            return wrapper

        ledger_class = ledger_service.LedgerService
        original_run = ledger_class.run

        def run(ledger: Any, work: Callable[[Any], Any]) -> Any:
            waiting = timed("ledger wait", original_run, False)
            return waiting(ledger, timed("unit of work", work, False))

        ledger_class.run = run  # type: ignore[method-assign]
        # (label, module, class or None, attribute, worker threads only)
        for name, module_name, class_name, attribute, worker_only in (
            ("committer", "hazina.ledger.service", "LedgerService", "_commit", False),
            ("ledger apply", "hazina.ledger.service", "_Group", "create_transfers", False),
            ("ledger persist", "hazina.ledger.service", "_Group", "finish", False),
            ("commit", "hazina.ledger.store.sqlite", "SqliteWriteTransaction", "commit", False),
            ("commit", "hazina.ledger.store.postgres", "PostgresWriteTransaction", "commit", False),
            ("auth", "hazina.identity.service", "IdentityService", "authenticate", True),
            ("phone parsing", "hazina.api.routes_payments", None, "phone", True),
            ("look-ups", "hazina.payments.service", "PaymentsService", "find_party", True),
            ("look-ups", "hazina.payments.service", "PaymentsService", "wallet_of", True),
            ("look-ups", "hazina.payments.service", "PaymentsService", "wallet_of_code", True),
            ("idempotency hash", "hazina.api.routes_payments", None, "idempotency_for", True),
            ("response model", "hazina.api.routes_payments", None, "transaction_out", True),
            ("service", "hazina.payments.service", "PaymentsService", "send_p2p", True),
            ("service", "hazina.payments.service", "PaymentsService", "pay_merchant", True),
            ("service", "hazina.payments.service", "PaymentsService", "cash_out", True),
        ):
            owner: Any = importlib.import_module(module_name)
            if class_name is not None:
                owner = getattr(owner, class_name)
            setattr(owner, attribute, timed(name, getattr(owner, attribute), worker_only))

    def wrap_app(self, app: Any) -> Any:
        async def counting(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests += 1
            await app(scope, receive, send)

        return counting

    def start(self) -> None:
        self.cpu_s.clear()
        self.wall_s.clear()
        self.requests = 0
        self._process_started = time.process_time()
        self._loop_started = time.thread_time()  # called on the thread that runs the loop

    def finish(self) -> dict[str, Any]:
        process = time.process_time() - self._process_started
        loop = time.thread_time() - self._loop_started
        committer = self.cpu_s["committer"]
        return {
            "requests": self.requests,
            "process_cpu_s": process,
            "event_loop_cpu_s": loop,
            "worker_cpu_s": process - loop - committer,
            "committer_cpu_s": committer,
            "cpu_s": dict(self.cpu_s),
            "wall_s": dict(self.wall_s),
        }


def serve(
    database: str,
    customers: int,
    seed_path: Path,
    profile_path: Path | None,
    breakdown: Breakdown | None,
) -> None:
    import uvicorn

    from hazina.api.app import create_app
    from hazina.bootstrap import build_platform

    # Profiling starts before the platform exists, so that the ledger's committer thread is
    # profiled too; the seeding is included, so profile runs seed few customers.
    profiles = ThreadProfiles() if profile_path is not None else None
    if profiles is not None:
        profiles.start()
    platform = build_platform(database)
    try:
        seeded = seed(platform, customers)
        commits_after_seeding = platform.ledger.commits
        # Bound before serving and named in the seed file: no port race, and connections that
        # arrive before uvicorn is up wait in the backlog.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(listen_backlog)
        seeded["port"] = listener.getsockname()[1]
        seeded["server_pid"] = os.getpid()
        seeded["store"] = type(platform.ledger.store).__name__
        partial = seed_path.with_suffix(".partial")
        partial.write_text(json.dumps(seeded))
        partial.rename(seed_path)
        app = create_app(platform)
        gc.collect()
        gc.freeze()  # as `hazina serve` does once started
        config = uvicorn.Config(
            app if breakdown is None else breakdown.wrap_app(app),
            loop="uvloop",
            http="httptools",
            workers=1,
            log_level="warning",
            access_log=False,
            backlog=listen_backlog,
        )
        server = uvicorn.Server(config)

        def stop_when_stdin_closes() -> None:
            # The coordinator closes our stdin to stop us. Not a signal: uvicorn re-raises the
            # signal it caught after shutting down, which would end this process before the
            # statistics and the profile are written.
            sys.stdin.buffer.read()
            server.should_exit = True

        threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
        if breakdown is not None:
            breakdown.start()
        server.run(sockets=[listener])
        statistics: dict[str, Any] = {"commits": platform.ledger.commits - commits_after_seeding}
        if breakdown is not None:
            statistics["breakdown"] = breakdown.finish()
        if profiles is not None and profile_path is not None:
            profiles.dump(profile_path)
        statistics_path = seed_path.with_name("server-statistics.json")
        statistics_path.write_text(json.dumps(statistics))
    finally:
        platform.close()


# -- the load generator process --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Work:
    kind: str
    request: bytes  # the whole HTTP/1.1 request


def make_work(seeded: dict[str, Any], count: int, rng: random.Random) -> list[Work]:
    """`count` requests of the mix, each with a fresh Idempotency-Key, built before timing."""
    phones: list[str] = seeded["phones"]
    wallets: list[str] = seeded["wallets"]
    kinds = [kind for kind, _ in mix]
    weights = [weight for _, weight in mix]
    authorization = f"Bearer {seeded['api_key']}"
    result = []
    for kind in rng.choices(kinds, weights, k=count):
        payer = rng.randrange(len(wallets))
        amount = f"{rng.randint(amount_minor_min, amount_minor_max) / 100:.2f}"
        body: dict[str, str]
        if kind == "p2p":
            recipient = rng.randrange(len(wallets) - 1)
            recipient += recipient >= payer  # anyone but the payer
            body = {
                "sender_wallet": wallets[payer],
                "recipient_phone": phones[recipient],
                "amount": amount,
                "currency": currency_code,
            }
        elif kind == "merchant":
            body = {
                "payer_wallet": wallets[payer],
                "merchant_code": merchant_code,
                "amount": amount,
                "currency": currency_code,
            }
        else:
            body = {
                "customer_wallet": wallets[payer],
                "agent_code": agent_code,
                "amount": amount,
                "currency": currency_code,
            }
        content = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {paths[kind]} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            f"Authorization: {authorization}\r\n"
            f"Idempotency-Key: {uuid.UUID(int=rng.getrandbits(128), version=4)}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(content)}\r\n"
            "\r\n"
        )
        result.append(Work(kind, head.encode() + content))
    return result


class ResponseError(Exception):
    """The server answered something this client does not read (or closed the connection)."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    if length is None:
        raise ResponseError(f"no Content-Length in {head[:200]!r}")
    return status, await reader.readexactly(length)


@dataclass(slots=True)
class Tally:
    latencies_s: list[float]
    statuses: Counter[int]
    kinds: Counter[str]
    failures: Counter[str]
    examples: dict[int, str]  # one response body per error status, for the report


async def raw_worker(
    port: int, queue: Iterator[Work], deadline: float, tally: Tally, timed: bool
) -> None:
    """One keep-alive connection; one request at a time. Stops when the work runs out or the
    deadline passes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for work in queue:
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            writer.write(work.request)
            try:
                status, body = await read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ResponseError) as error:
                tally.failures[type(error).__name__] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if timed:
                tally.latencies_s.append(time.perf_counter() - started)
            tally.statuses[status] += 1
            tally.kinds[work.kind] += status == 201
            if status != 201 and status not in tally.examples:
                tally.examples[status] = body[:300].decode(errors="replace")
    finally:
        writer.close()


async def httpx_worker(
    client: Any, queue: Iterator[Work], deadline: float, tally: Tally, timed: bool
) -> None:
    for work in queue:
        if time.perf_counter() >= deadline:
            break
        head, _, content = work.request.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        path = lines[0].split(" ")[1]
        headers = dict(line.split(": ", 1) for line in lines[1:] if not line.startswith("Host"))
        started = time.perf_counter()
        try:
            response = await client.post(path, content=content, headers=headers)
        except Exception as error:
            tally.failures[type(error).__name__] += 1
            continue
        if timed:
            tally.latencies_s.append(time.perf_counter() - started)
        tally.statuses[response.status_code] += 1
        tally.kinds[work.kind] += response.status_code == 201
        if response.status_code != 201 and response.status_code not in tally.examples:
            tally.examples[response.status_code] = response.text[:300]


async def drive(
    client_kind: str, port: int, work: list[Work], concurrency: int, seconds: float, timed: bool
) -> tuple[Tally, float]:
    tally = Tally([], Counter(), Counter(), Counter(), {})
    queue = iter(work)  # shared: each worker takes the next request when it is free
    started = time.perf_counter()
    deadline = started + seconds
    if client_kind == "raw":
        await asyncio.gather(
            *(raw_worker(port, queue, deadline, tally, timed) for _ in range(concurrency))
        )
    else:
        import httpx

        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30.0
        ) as client:
            await asyncio.gather(
                *(httpx_worker(client, queue, deadline, tally, timed) for _ in range(concurrency))
            )
    return tally, time.perf_counter() - started


def generate_load(arguments: argparse.Namespace) -> None:
    import uvloop

    seeded = json.loads(Path(arguments.seed_file).read_text())
    rng = random.Random(arguments.rng_seed)
    warmup = make_work(seeded, arguments.warmup, rng)
    work = make_work(seeded, arguments.requests, rng)
    port = seeded["port"]
    uvloop.install()
    asyncio.run(drive(arguments.client, port, warmup, arguments.concurrency, 60.0, False))
    # CPU is read around the timed phase only: not the warm-up, not building the requests.
    server_pid = seeded["server_pid"]
    cpu_before, server_cpu_before = time.process_time(), process_cpu_s(server_pid)
    busy_before, total_before = machine_busy_s()
    tally, elapsed = asyncio.run(
        drive(arguments.client, port, work, arguments.concurrency, arguments.seconds, True)
    )
    busy_after, total_after = machine_busy_s()
    server_cpu = process_cpu_s(server_pid) - server_cpu_before
    result = {
        "elapsed_s": elapsed,
        "latencies_s": tally.latencies_s,
        "statuses": {str(k): v for k, v in tally.statuses.items()},
        "payments_by_kind": dict(tally.kinds),
        "failures": dict(tally.failures),
        "examples": {str(k): v for k, v in tally.examples.items()},
        "client_cpu_s": time.process_time() - cpu_before,
        "server_cpu_s": server_cpu,
        "machine_busy_fraction": (busy_after - busy_before) / max(1e-9, total_after - total_before),
    }
    Path(arguments.result_file).write_text(json.dumps(result))


# -- the coordinator -------------------------------------------------------------------------


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (Linux /proc)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextmanager
def server_process(
    database: str, customers: int, directory: Path, profile: Path | None, breakdown: bool
) -> Iterator[Path]:
    """A running, seeded server; yields the seed file that tells the load generator its port,
    API key and customers."""
    seed_path = directory / "seed.json"
    log_path = directory / "server.log"
    command = [
        sys.executable,
        __file__,
        "--role",
        "server",
        "--database",
        database,
        "--customers",
        str(customers),
        "--seed-file",
        str(seed_path),
    ]
    if profile is not None:
        command += ["--profile-file", str(profile)]
    if breakdown:
        command.append("--breakdown")
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        started = time.monotonic()
        while not seed_path.exists():
            if server.poll() is not None:
                raise SystemExit(f"the server exited:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() - started > server_start_timeout_s:
                raise SystemExit(f"the server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.05)
        wait_until_healthy(json.loads(seed_path.read_text())["port"], started)
        yield seed_path
    finally:
        if server.stdin is not None:
            server.stdin.close()  # the server's signal to shut down gracefully
        if server.poll() is None:
            try:
                server.wait(server_stop_timeout_s)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log_text = log_path.read_text()
        if "Traceback" in log_text or "ERROR" in log_text:
            print(f"server log:\n{log_text[-3000:]}", file=sys.stderr)


def wait_until_healthy(port: int, started: float) -> None:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if connection.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        if time.monotonic() - started > server_start_timeout_s:
            raise SystemExit("the server does not answer /healthz")
        time.sleep(0.05)


def check_store(label: str, store: str) -> None:
    """Refuse to report numbers of one database under the other's name."""
    expected = {"sqlite": "SqliteLedgerStore", "postgres": "PostgresLedgerStore"}[label]
    if store != expected:
        raise SystemExit(f"the {label} section runs on a {store}, not a {expected}")


def run_section(label: str, database: str, arguments: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hazina-bench-api-") as temporary:
        directory = Path(temporary)
        profile = Path(arguments.profile) if arguments.profile else None
        result_path = directory / "load.json"
        with server_process(
            database, arguments.customers, directory, profile, arguments.breakdown
        ) as seed_file:
            check_store(label, json.loads(seed_file.read_text())["store"])
            command = [
                sys.executable,
                __file__,
                "--role",
                "load",
                "--seed-file",
                str(seed_file),
                "--client",
                arguments.client,
                "--concurrency",
                str(arguments.concurrency),
                "--requests",
                str(arguments.requests),
                "--seconds",
                str(arguments.seconds),
                "--warmup",
                str(arguments.warmup),
                "--rng-seed",
                str(arguments.rng_seed),
                "--result-file",
                str(result_path),
            ]
            completed = subprocess.run(
                command,
                capture_output=True,
                timeout=arguments.seconds + load_timeout_margin_s,
                check=False,
            )
            if completed.returncode != 0:
                raise SystemExit(f"the load generator failed:\n{completed.stderr.decode()[-3000:]}")
        statistics_path = directory / "server-statistics.json"
        server_statistics = (
            json.loads(statistics_path.read_text()) if statistics_path.exists() else {}
        )
        result: dict[str, Any] = json.loads(result_path.read_text())
    result.update(label=label, commits=server_statistics.get("commits"))
    report(result, arguments)
    if "breakdown" in server_statistics:
        report_breakdown(server_statistics["breakdown"])
    return result


def direct_section(label: str, database: str, arguments: argparse.Namespace) -> None:
    """The same mix straight into the payments service from `--concurrency` threads in this
    process, with idempotency keys but no HTTP: what the API could reach if it cost nothing."""
    from hazina.bootstrap import build_platform
    from hazina.kernel.ids import parse_prefixed
    from hazina.payments.errors import PaymentError
    from hazina.payments.service import IdempotencyRequest

    platform = build_platform(database)
    try:
        check_store(label, type(platform.ledger.store).__name__)
        seeded = seed(platform, arguments.customers)
        payments = platform.payments
        agent = payments.wallet_of_code(agent_code, currency_code).id
        merchant = payments.wallet_of_code(merchant_code, currency_code).id
        wallets = [parse_prefixed("wal", wallet) for wallet in seeded["wallets"]]
        phones: list[str] = seeded["phones"]
        rng = random.Random(arguments.rng_seed)
        kinds = [kind for kind, _ in mix]
        weights = [weight for _, weight in mix]
        calls: list[Callable[[], object]] = []
        for number, kind in enumerate(
            rng.choices(kinds, weights, k=arguments.warmup + arguments.requests)
        ):
            payer = rng.randrange(len(wallets))
            amount = rng.randint(amount_minor_min, amount_minor_max)
            idempotency = IdempotencyRequest(
                "bench", f"direct-{number}", f"{number:064x}", 201, lambda record: "{}"
            )
            if kind == "p2p":
                recipient = rng.randrange(len(wallets) - 1)
                recipient += recipient >= payer
                call = partial(
                    payments.send_p2p,
                    wallets[payer],
                    phones[recipient],
                    amount,
                    currency_code,
                    "",
                    idempotency,
                )
            elif kind == "merchant":
                call = partial(
                    payments.pay_merchant,
                    wallets[payer],
                    merchant,
                    amount,
                    currency_code,
                    "",
                    idempotency,
                )
            else:
                call = partial(
                    payments.cash_out, wallets[payer], agent, amount, currency_code, idempotency
                )
            calls.append(call)
        latencies: list[float] = []
        refusals: Counter[str] = Counter()

        def drive(work: Iterator[Callable[[], object]], deadline: float, timed: bool) -> None:
            for call in work:  # shared by every thread: each takes the next call when free
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                try:
                    call()
                except PaymentError as error:
                    refusals[error.code] += 1
                    continue
                if timed:
                    latencies.append(time.perf_counter() - started)

        for work, seconds, timed in (
            (iter(calls[: arguments.warmup]), 60.0, False),
            (iter(calls[arguments.warmup :]), arguments.seconds, True),
        ):
            cpu_before, started = time.process_time(), time.perf_counter()
            deadline = started + seconds
            with ThreadPoolExecutor(arguments.concurrency) as pool:
                for future in [
                    pool.submit(drive, work, deadline, timed) for _ in range(arguments.concurrency)
                ]:
                    future.result()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    finally:
        platform.close()
    done = len(latencies)
    p50, p99, p999 = (percentile(latencies, f) * 1e3 for f in (0.5, 0.99, 0.999))
    print(
        f"{label:<8} {done:>7,} payments in {elapsed:5.1f} s, no HTTP:"
        f" {done / elapsed:>7,.0f} payments/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
        f"  p999 {p999:6.1f} ms  refused: {dict(refusals) or 'none'}"
        f"  CPU per payment {cpu / max(1, done) * 1e3:.2f} ms"
        f" ({arguments.concurrency} threads calling the payments service)",
        flush=True,
    )


def report(result: dict[str, Any], arguments: argparse.Namespace) -> None:
    latencies: list[float] = result["latencies_s"]
    statuses = {int(k): v for k, v in result["statuses"].items()}
    elapsed = result["elapsed_s"]
    requests = sum(statuses.values())
    payments = statuses.get(201, 0)
    payments_per_second = payments / elapsed
    p50, p99, p999 = (percentile(latencies, f) * 1e3 for f in (0.5, 0.99, 0.999))
    errors = {k: v for k, v in sorted(statuses.items()) if k != 201}
    error_text = ", ".join(f"{k}x{v}" for k, v in errors.items()) or "none"
    if result["failures"]:
        error_text += ", " + ", ".join(f"{k}x{v}" for k, v in result["failures"].items())
    met = payments_per_second >= target_payments_per_second and p99 < target_p99_ms
    print(
        f"{result['label']:<8} {requests:>7,} requests in {elapsed:5.1f} s"
        f"  {requests / elapsed:>7,.0f} requests/s  {payments_per_second:>7,.0f} payments/s"
        f"  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  p999 {p999:6.1f} ms"
        f"  errors: {error_text}"
        f"  x{payments_per_second / target_payments_per_second:.2f} of"
        f" {target_payments_per_second:,}/s target"
        f" ({'met' if met else 'not met'})",
        flush=True,
    )
    by_kind = ", ".join(f"{k} {v:,}" for k, v in sorted(result["payments_by_kind"].items()))
    per_commit = f"{payments / result['commits']:.1f}" if result["commits"] else "?"
    print(
        f"{'':<8} payments by kind: {by_kind}; {per_commit} payments per commit;"
        f" CPU per request: server {result['server_cpu_s'] / max(1, requests) * 1e3:.2f} ms,"
        f" load generator {result['client_cpu_s'] / max(1, requests) * 1e3:.2f} ms;"
        f" machine {result['machine_busy_fraction'] * 100:.0f}% busy"
        f" ({arguments.client} client, {arguments.concurrency} in flight)",
        flush=True,
    )
    for status, body in sorted(result["examples"].items()):
        print(f"{'':<8} e.g. {status}: {body[:200]}", flush=True)


def report_breakdown(breakdown: dict[str, Any]) -> None:
    """Server CPU per request, by part (warm-up requests included)."""
    requests = max(1, breakdown["requests"])
    cpu = breakdown["cpu_s"]
    wall = breakdown["wall_s"]
    unit = cpu.get("unit of work", 0.0)
    apply = cpu.get("ledger apply", 0.0)
    persist = cpu.get("ledger persist", 0.0)
    commit = cpu.get("commit", 0.0)
    committer = breakdown["committer_cpu_s"]
    worker = breakdown["worker_cpu_s"]
    loop = breakdown["event_loop_cpu_s"]
    route_parts = [
        ("API key check", cpu.get("auth", 0.0)),
        ("phone number parsing", cpu.get("phone parsing", 0.0)),
        ("party and wallet look-ups by the route", cpu.get("look-ups", 0.0)),
        ("idempotency request hash", cpu.get("idempotency hash", 0.0)),
        ("response model", cpu.get("response model", 0.0)),
        (
            "payments service before and after the commit",
            cpu.get("service", 0.0) - cpu.get("ledger wait", 0.0),
        ),
    ]
    parts = [
        ("event loop thread: HTTP, routing, validation, JSON, routes", loop),
        ("worker threads: routes run in the pool, hand-offs", worker),
        ("  route steps, on whichever thread they ran:", None),
        *((f"    {name}", seconds) for name, seconds in route_parts),
        ("committer: payments unit of work (SQL, checks, records)", unit - apply),
        ("committer: ledger apply (load accounts, validate)", apply),
        ("committer: ledger persist + journal", persist),
        ("committer: commit", commit),
        ("committer: other (BEGIN, group set-up)", committer - unit - persist - commit),
    ]
    total = breakdown["process_cpu_s"]
    print(f"{'':<8} server CPU per request ({requests:,} requests, warm-up included):")
    for name, seconds in parts:
        if seconds is None:
            print(f"{'':<10} {name}")
            continue
        print(
            f"{'':<10} {name:<58} {seconds / requests * 1e3:6.3f} ms"
            f"  {seconds / max(total, 1e-9) * 100:5.1f}%"
        )
    print(f"{'':<10} {'total (process CPU)':<58} {total / requests * 1e3:6.3f} ms")
    print(
        f"{'':<10} wall time per request: unit of work"
        f" {wall.get('unit of work', 0.0) / requests * 1e3:.3f} ms (ledger apply"
        f" {wall.get('ledger apply', 0.0) / requests * 1e3:.3f} ms), persist"
        f" {wall.get('ledger persist', 0.0) / requests * 1e3:.3f} ms,"
        f" commit {wall.get('commit', 0.0) / requests * 1e3:.3f} ms;"
        f" committer busy {wall.get('committer', 0.0) / requests * 1e3:.3f} ms",
        flush=True,
    )


@contextmanager
def postgres_database(option: str) -> Iterator[Callable[[], str]]:
    """Yields a function giving the connection string of a fresh, empty database per section."""
    if option != "auto":
        # A given server: the caller provides a fresh, empty database.
        yield lambda: option
        return
    # The throwaway server the test suite uses (tests/postgres_server.py): initdb + postgres
    # from the local binaries, default settings, removed afterwards.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.postgres_server import fresh_database, start_server

    with start_server() as server:
        yield lambda: fresh_database(server)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=60_000, help="timed requests at most")
    parser.add_argument("--seconds", type=float, default=30.0, help="timed seconds at most")
    parser.add_argument("--warmup", type=int, default=1_000, help="untimed requests first")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument("--postgres", help="'auto' (throwaway local server) or a DSN")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", help="write the server's cProfile stats to this file")
    parser.add_argument(
        "--breakdown", action="store_true", help="measure where the server's CPU goes"
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="also call the payments service directly from threads, without HTTP",
    )
    parser.add_argument("--rng-seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny run, for the test suite")
    # Internal: how this script starts its own server and load generator processes.
    parser.add_argument("--role", choices=("main", "server", "load"), default="main")
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--seed-file", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.role == "server":
        breakdown = Breakdown() if arguments.breakdown else None
        if breakdown is not None:
            breakdown.install()
        serve(
            arguments.database,
            arguments.customers,
            Path(arguments.seed_file),
            Path(arguments.profile_file) if arguments.profile_file else None,
            breakdown,
        )
        return
    if arguments.role == "load":
        generate_load(arguments)
        return
    if arguments.quick:
        arguments.requests, arguments.seconds, arguments.warmup = 300, 10.0, 50
        arguments.customers, arguments.postgres = 50, None
        arguments.no_sqlite = False

    results = []
    if not arguments.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="hazina-bench-api-db-") as temporary:
            database = str(Path(temporary) / "hazina.sqlite3")
            results.append(run_section("sqlite", database, arguments))
            if arguments.direct:
                direct_section("sqlite", str(Path(temporary) / "direct.sqlite3"), arguments)
    if arguments.postgres:
        with postgres_database(arguments.postgres) as new_database:
            results.append(run_section("postgres", new_database(), arguments))
            if arguments.direct:
                direct_section("postgres", new_database(), arguments)
    sys.stdout.flush()
    # A 5xx or a dropped connection is a bug, not a slow run: fail, so that nobody files the
    # numbers of a broken server.
    broken = [
        f"{result['label']}: {status}x{count}"
        for result in results
        for status, count in [*result["statuses"].items(), *result["failures"].items()]
        if not status.isdigit() or int(status) >= 500
    ]
    if broken:
        raise SystemExit(f"server errors: {', '.join(broken)}")


if __name__ == "__main__":
    main()
