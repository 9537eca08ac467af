"""The sample's tools: argument and result shapes, latency distributions, failure modes.

Latencies are in milliseconds. Fast local tools are lognormal around a few milliseconds; network tools are
heavy-tailed (Pareto), so their p95 sits far above their median, as in real agent traces.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Arguments and result builders get the session's random generator and a dict of topic slots.
Slots = dict[str, Any]
ArgsFn = Callable[[random.Random, Slots], dict[str, Any]]
ResultFn = Callable[[random.Random, Slots, dict[str, Any]], tuple[Any, str]]


def lognormal(median_ms: float, sigma: float) -> Callable[[random.Random], float]:
    """A lognormal latency with the given median."""
    mu = math.log(median_ms)
    return lambda rng: rng.lognormvariate(mu, sigma)


def pareto(minimum_ms: float, alpha: float) -> Callable[[random.Random], float]:
    """A Pareto latency (heavy tail) starting at ``minimum_ms``."""
    return lambda rng: minimum_ms * rng.paretovariate(alpha)


@dataclass(frozen=True)
class ToolSpec:
    """One tool the sample agents can call."""

    name: str
    latency_ms: Callable[[random.Random], float]
    failure_rate: float
    errors: tuple[str, ...]
    """Error message templates (``str.format`` with the call's arguments)."""
    args: ArgsFn
    result: ResultFn
    result_tokens: tuple[int, int]
    """Range of tokens the provider is billed for when the full tool output goes back into the prompt."""
    pending_rate: float = 0.0
    """Share of calls that are still running in the background when the session ends (async jobs)."""
    timeout_ms: float | None = None
    """Client timeout: a call whose latency reaches it fails with a ``ReadTimeout`` after exactly this long."""


# --- argument and result builders ------------------------------------------------------------------------


def _calc_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    a, b = rng.randint(12, 9800), rng.randint(2, 480)
    op = rng.choice(["*", "/", "+", "-"])
    return {"expression": f"{a} {op} {b}"}


def _calc_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    a, op, b = args["expression"].split()
    x, y = float(a), float(b)
    value = {"*": x * y, "/": x / y, "+": x + y, "-": x - y}[op]
    value = round(value, 4)
    return {"value": value}, f"{args['expression']} = {value}"


def _read_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"path": s["file"], "max_bytes": rng.choice([8192, 16384, 65536])}


def _read_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    lines = rng.randint(40, 900)
    snippet = s.get("snippet", "# (binary or empty file)")
    return (
        {"path": args["path"], "lines": lines, "truncated": lines > 400},
        f"{args['path']} ({lines} lines)\n{snippet}",
    )


def _tests_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"command": s.get("test_command", "pytest -q"), "timeout_s": 600}


def _tests_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    total = rng.randint(40, 1400)
    failed = rng.choice([0, 0, 0, 1, 2, 3])
    passed = total - failed
    text = f"$ {args['command']}\n{passed} passed, {failed} failed in {rng.uniform(2, 90):.2f}s"
    if failed:
        text += f"\nFAILED {s.get('test_name', 'tests/test_core.py::test_roundtrip')} - AssertionError: expected 3 < 2"
    return {"passed": passed, "failed": failed, "exit_code": 1 if failed else 0}, text


def _python_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"code": s.get("python_code", "df.describe()")}


def _python_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    rows = rng.randint(12, 50_000)
    mean = rng.uniform(3, 900)
    return (
        {"stdout": f"rows={rows} mean={mean:.2f}", "exit_code": 0},
        f">>> {args['code']}\nrows={rows} mean={mean:.2f} (p50 < mean: right-skewed)",
    )


def _sql_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"query": s.get("sql", "SELECT count(*) FROM events"), "database": s.get("database", "analytics")}


def _sql_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    n = rng.randint(1, 48)
    cols = s.get("sql_columns", ["key", "value"])
    sample = [
        [f"{c}_{i}" if j == 0 else round(rng.uniform(0, 10_000), 2) for j, c in enumerate(cols)] for i in range(3)
    ]
    header = " | ".join(cols)
    body = "\n".join(" | ".join(str(v) for v in row) for row in sample)
    return {"row_count": n, "columns": cols, "rows": sample}, f"{n} rows\n{header}\n{body}\n…"


def _search_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"query": s.get("search_query", "latest release notes"), "num_results": rng.choice([5, 8, 10])}


def _search_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    hits = [
        {"title": t, "url": u}
        for t, u in rng.sample(s.get("search_hits", [("Documentation", "https://docs.example.org/")]), k=1)
    ]
    more = rng.randint(2, args["num_results"])
    text = "\n".join(f"1. {h['title']} — {h['url']}" for h in hits) + f"\n(+{more} more results)"
    return {"results": hits, "total": more + 1}, text


def _fetch_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    hits = s.get("search_hits", [("Documentation", "https://docs.example.org/")])
    return {"url": rng.choice(hits)[1], "format": "markdown"}


def _fetch_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    size = rng.randint(4_000, 180_000)
    return (
        {"url": args["url"], "status": 200, "bytes": size},
        f"200 OK {args['url']} ({size:,} bytes, converted to markdown)\n{s.get('page_excerpt', '')}",
    )


def _flights_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {
        "origin": s["origin_code"],
        "destination": s["dest_code"],
        "date": s["date"],
        "passengers": s["passengers"],
        "cabin": rng.choice(["economy", "economy", "premium_economy", "business"]),
    }


def _flights_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    airlines = ["TAP Air Portugal", "Lufthansa", "easyJet", "Ryanair", "KLM", "Iberia", "Air France", "Vueling"]
    offers: list[dict[str, Any]] = []
    for _ in range(3):
        offers.append(
            {
                "airline": rng.choice(airlines),
                "depart": f"{rng.randint(6, 21):02d}:{rng.choice(['05', '20', '35', '50'])}",
                "stops": rng.choice([0, 0, 1]),
                "price_eur": rng.randint(49, 690),
            }
        )
    offers.sort(key=lambda o: o["price_eur"])
    lines = [f"{o['airline']} {o['depart']} {o['stops']} stop(s) €{o['price_eur']}" for o in offers]
    return {"offers": offers}, f"{args['origin']} → {args['destination']} on {args['date']}:\n" + "\n".join(lines)


def _weather_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"city": s["dest"], "days": rng.choice([3, 5, 7])}


def _weather_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    temps = [rng.randint(8, 27) for _ in range(args["days"])]
    rain = rng.randint(0, 80)
    return (
        {"city": args["city"], "daily_max_c": temps, "rain_probability": rain / 100},
        f"{args['city']}: highs {min(temps)}–{max(temps)} °C, rain chance {rain}%",
    )


def _order_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"order_id": s["order_id"]}


def _order_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    status = rng.choice(["shipped", "delivered", "processing", "returned"])
    return (
        {"order_id": args["order_id"], "status": status, "items": rng.randint(1, 5), "carrier": "DHL"},
        f"Order {args['order_id']}: {status}, {s['product']} × 1, carrier DHL",
    )


def _kb_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"query": s.get("kb_query", "refund policy"), "top_k": 3}


def _kb_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    article = s.get("kb_article", "Returns & refunds")
    return {"articles": [{"title": article, "score": round(rng.uniform(0.6, 0.95), 3)}]}, f"Top article: {article}"


def _ticket_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"subject": s.get("ticket_subject", "Customer issue"), "priority": rng.choice(["low", "normal", "high"])}


def _ticket_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    ticket = f"SUP-{rng.randint(10_000, 99_999)}"
    return {"ticket": ticket, "priority": args["priority"]}, f"Created {ticket} ({args['priority']}): {args['subject']}"


def _papers_args(rng: random.Random, s: Slots) -> dict[str, Any]:
    return {"query": s.get("search_query", "retrieval augmented generation"), "year_from": rng.choice([2019, 2021])}


def _papers_result(rng: random.Random, s: Slots, args: dict[str, Any]) -> tuple[Any, str]:
    n = rng.randint(3, 40)
    title = s.get("paper", "A Survey of the Field")
    return {"count": n, "top": [{"title": title, "year": rng.randint(2019, 2026)}]}, f"{n} papers; top: “{title}”"


_HTTP_ERRORS = (
    "HTTP 429 Too Many Requests: rate limit exceeded, retry after {retry} s",
    "HTTP 503 Service Unavailable: upstream temporarily overloaded",
    "ReadTimeout: no response after 30.0 s",
)

TOOLS: dict[str, ToolSpec] = {
    t.name: t
    for t in [
        ToolSpec(
            "calculator",
            lognormal(1.2, 0.45),
            0.012,
            ("ZeroDivisionError: division by zero", "SyntaxError: invalid expression near '{expression}'"),
            _calc_args,
            _calc_result,
            (15, 40),
        ),
        ToolSpec(
            "read_file",
            lognormal(4.0, 0.7),
            0.06,
            (
                "FileNotFoundError: [Errno 2] No such file or directory: '{path}'",
                "PermissionError: [Errno 13] Permission denied: '{path}'",
            ),
            _read_args,
            _read_result,
            (300, 3500),
        ),
        ToolSpec(
            "kb_search",
            lognormal(45.0, 0.5),
            0.02,
            ("HTTP 503 Service Unavailable: search index is rebuilding",),
            _kb_args,
            _kb_result,
            (200, 900),
        ),
        ToolSpec(
            "lookup_order",
            lognormal(28.0, 0.5),
            0.04,
            (
                "HTTP 404 Not Found: order {order_id} does not exist",
                "PermissionError: API key lacks scope 'orders:read'",
            ),
            _order_args,
            _order_result,
            (80, 250),
        ),
        ToolSpec(
            "run_sql",
            lognormal(180.0, 0.9),
            0.045,
            (
                'Binder Error: Referenced column "revenu" not found in FROM clause',
                "QueryTimeout: statement exceeded 30 s and was cancelled",
                "permission denied for table payroll",
            ),
            _sql_args,
            _sql_result,
            (150, 1500),
        ),
        ToolSpec(
            "get_weather",
            lognormal(240.0, 0.35),
            0.02,
            ("HTTP 503 Service Unavailable: weather provider down",),
            _weather_args,
            _weather_result,
            (60, 160),
        ),
        ToolSpec(
            "create_ticket",
            lognormal(420.0, 0.4),
            0.03,
            ("HTTP 409 Conflict: a ticket for this order is already open",),
            _ticket_args,
            _ticket_result,
            (40, 90),
        ),
        ToolSpec(
            "search_papers",
            lognormal(850.0, 0.6),
            0.04,
            (_HTTP_ERRORS[0], _HTTP_ERRORS[1]),
            _papers_args,
            _papers_result,
            (400, 2200),
        ),
        ToolSpec(
            "web_search",
            pareto(320.0, 1.7),
            0.045,
            _HTTP_ERRORS,
            _search_args,
            _search_result,
            (500, 1800),
            timeout_ms=30_000.0,
        ),
        ToolSpec(
            "fetch_url",
            pareto(550.0, 1.15),
            0.09,
            (
                *_HTTP_ERRORS,
                "HTTP 404 Not Found: {url}",
                "SSLError: certificate verify failed for {url}",
            ),
            _fetch_args,
            _fetch_result,
            (1500, 7000),
            pending_rate=0.01,
            timeout_ms=30_000.0,
        ),
        ToolSpec(
            "run_python",
            lognormal(950.0, 0.9),
            0.07,
            (
                "Traceback (most recent call last):\n  File \"<cell>\", line 3, in <module>\nKeyError: 'date'",
                "MemoryError: sandbox limit of 2 GiB exceeded",
                "TimeoutError: execution exceeded 120 s",
            ),
            _python_args,
            _python_result,
            (100, 1200),
            pending_rate=0.015,
        ),
        ToolSpec(
            "search_flights",
            lognormal(1600.0, 0.55),
            0.05,
            (_HTTP_ERRORS[0], "HTTP 503 Service Unavailable: upstream GDS unavailable"),
            _flights_args,
            _flights_result,
            (300, 900),
        ),
        ToolSpec(
            "run_tests",
            lognormal(9000.0, 0.6),
            0.06,
            (
                "TimeoutError: test run exceeded 600 s",
                "ProcessError: pytest exited with code 4 (usage error: file or directory not found)",
            ),
            _tests_args,
            _tests_result,
            (200, 2500),
            pending_rate=0.02,
        ),
    ]
}
