"""What the sample agents talk about: topics with their system prompts, slot values and message templates.

Templates are ``str.format`` strings over a per-session slot dict, so one session talks about one city, one bug or
one order throughout, while sessions differ. Some texts carry code and characters that need HTML escaping
(``<``, ``>``, ``&``) because real transcripts do.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Slots = dict[str, Any]


@dataclass(frozen=True)
class Topic:
    """One kind of conversation."""

    name: str
    agent: str
    teams: tuple[str, ...]
    tags: tuple[str, ...]
    tools: tuple[tuple[str, float], ...]
    """Tools this agent has, with relative call weights."""
    system: str
    slots: Callable[[random.Random], Slots]
    titles: tuple[str, ...]
    openers: tuple[str, ...]
    followups: tuple[str, ...]
    preambles: tuple[str, ...]
    """Short assistant text accompanying tool calls."""
    answers: tuple[str, ...]
    summary: str


_CITIES = [
    ("Lisbon", "LIS", "Portugal"),
    ("Porto", "OPO", "Portugal"),
    ("Barcelona", "BCN", "Spain"),
    ("Madrid", "MAD", "Spain"),
    ("Rome", "FCO", "Italy"),
    ("Amsterdam", "AMS", "the Netherlands"),
    ("Copenhagen", "CPH", "Denmark"),
    ("Vienna", "VIE", "Austria"),
    ("Prague", "PRG", "Czechia"),
    ("Athens", "ATH", "Greece"),
    ("Edinburgh", "EDI", "Scotland"),
    ("Kraków", "KRK", "Poland"),
]
_ORIGINS = [("Berlin", "BER"), ("London", "LHR"), ("Paris", "CDG"), ("Munich", "MUC"), ("Zürich", "ZRH")]

_BUGS = [
    (
        "src/parser/tokenizer.py",
        "the tokenizer drops the last token when the input ends with `&&`",
        "if i < len(src) && src[i] == '&':",
        "tests/test_tokenizer.py::test_trailing_and",
    ),
    (
        "src/api/handlers.rs",
        "the handler returns `Result<Vec<String>, Error>` but the caller expects `Option<&str>`",
        "fn names(&self) -> Result<Vec<String>, Error> { self.items.iter().map(|x| x.name.clone()).collect() }",
        "tests/api.rs::names_roundtrip",
    ),
    (
        "web/src/components/Table.tsx",
        "the table re-renders on every keystroke because `useMemo` depends on a new array",
        "const rows = useMemo(() => data.filter(r => r.score > min), [data, [min]]);",
        "web/src/components/Table.test.tsx",
    ),
    (
        "services/billing/invoice.go",
        "rounding makes invoice totals differ by one cent from the line items",
        "total := math.Round(sum*100) / 100 // sum of float64 line items",
        "services/billing/invoice_test.go",
    ),
    (
        "lib/cache.py",
        "the LRU cache is not thread-safe and occasionally raises `KeyError` under load",
        "if key in self._data and len(self._data) > self.maxsize: del self._data[next(iter(self._data))]",
        "tests/test_cache.py::test_concurrent_get",
    ),
    (
        "include/ring_buffer.hpp",
        "`std::vector<std::pair<int, int>>` grows without bound when the reader falls behind",
        "template <typename T> void RingBuffer<T>::push(const T& v) { if (size_ < cap_) data_.push_back(v); }",
        "tests/ring_buffer_test.cpp",
    ),
]
_LANG = {".py": "Python", ".rs": "Rust", ".tsx": "TypeScript/React", ".go": "Go", ".hpp": "C++"}
_TEST_CMD = {
    ".py": "pytest -q",
    ".rs": "cargo test",
    ".tsx": "npm test -- --watch=false",
    ".go": "go test ./...",
    ".hpp": "ctest --output-on-failure",
}


def _coding_slots(rng: random.Random) -> Slots:
    file, bug, snippet, test = rng.choice(_BUGS)
    ext = file[file.rfind(".") :]
    lib = rng.choice(["tokio", "pandas", "React Query", "gRPC", "SQLAlchemy", "Boost.Asio"])
    return {
        "file": file,
        "bug": bug,
        "snippet": snippet,
        "test_name": test,
        "lang": _LANG[ext],
        "test_command": _TEST_CMD[ext],
        "lib": lib,
        "search_query": f"{lib} {_LANG[ext]} known issue",
        "search_hits": [
            (f"{lib} issue tracker", f"https://github.com/example/{lib.lower().replace(' ', '-')}/issues"),
            (f"{lib} documentation", f"https://docs.example.org/{lib.lower().replace(' ', '-')}/"),
        ],
        "python_code": "import timeit; timeit.timeit('f(10_000)', globals=globals(), number=20)",
        "page_excerpt": f"# {lib} changelog\n- fixed: race in connection pool\n- changed: default timeout 30 s -> 10 s",
    }


_DATASETS = [
    ("orders", ["region", "revenue_eur", "orders"], "quarterly revenue by region"),
    ("events", ["day", "active_users", "sessions"], "daily active users over the last 90 days"),
    ("tickets", ["category", "median_hours", "tickets"], "time to resolution by support category"),
    ("experiments", ["variant", "conversion", "users"], "the A/B test on the new checkout flow"),
    ("inventory", ["warehouse", "stock_units", "skus"], "stock-outs per warehouse"),
]


def _data_slots(rng: random.Random) -> Slots:
    table, cols, question = rng.choice(_DATASETS)
    threshold = rng.choice([100, 500, 1000, 5000])
    return {
        "table": table,
        "question": question,
        "sql_columns": cols,
        "sql": f"SELECT {cols[0]}, sum({cols[1]}) AS {cols[1]}, count(*) AS {cols[2]} FROM {table} "
        f"WHERE created_at >= now() - INTERVAL 90 DAY AND {cols[1]} > 0 GROUP BY 1 HAVING count(*) > {threshold}",
        "threshold": threshold,
        "database": rng.choice(["analytics", "warehouse", "product_metrics"]),
        "file": f"data/{table}_{rng.randint(2024, 2026)}.csv",
        "snippet": f"{','.join(cols)}\n{cols[0]}_1,{rng.randint(10, 999)},{rng.randint(1, 99)}",
        "python_code": f"df = pd.read_parquet('{table}.parquet'); df.groupby('{cols[0]}')['{cols[1]}'].describe()",
        "metric": cols[1],
    }


def _travel_slots(rng: random.Random) -> Slots:
    dest, code, country = rng.choice(_CITIES)
    origin, ocode = rng.choice(_ORIGINS)
    day = rng.randint(1, 28)
    month = rng.choice(["November", "December", "January", "March", "April", "May"])
    month_num = {"November": 11, "December": 12, "January": 1, "March": 3, "April": 4, "May": 5}[month]
    year = 2026 if month_num >= 10 else 2027
    return {
        "dest": dest,
        "dest_code": code,
        "country": country,
        "origin": origin,
        "origin_code": ocode,
        "date": f"{year}-{month_num:02d}-{day:02d}",
        "month": month,
        "nights": rng.randint(2, 9),
        "passengers": rng.choice([1, 1, 2, 2, 3, 4]),
        "budget": rng.choice([600, 900, 1200, 2000, 3500]),
        "search_query": f"best neighbourhoods to stay in {dest} {month}",
        "search_hits": [
            (f"Where to stay in {dest}: a neighbourhood guide", f"https://travel.example.com/{code.lower()}/stay"),
            (f"{dest} public transport & airport transfers", f"https://transit.example.com/{code.lower()}"),
        ],
        "page_excerpt": f"## {dest} on a budget\nB&B rooms from €70; check-in < 14:00 costs €15 extra.",
    }


_PRODUCTS = ["Aero 14 laptop", "Nimbus noise-cancelling headphones", "Trail 2 running shoes", "Orbit smart speaker"]
_ISSUES = [
    ("a damaged parcel", "Damaged or missing items"),
    ("a refund that has not arrived", "Returns & refunds"),
    ("a wrong size", "Exchanges"),
    ("a charge that appears twice on my card", "Billing & double charges"),
    ("a delivery stuck in transit", "Tracking a delivery"),
]


def _support_slots(rng: random.Random) -> Slots:
    issue, article = rng.choice(_ISSUES)
    order = f"ORD-{rng.randint(100_000, 999_999)}"
    product = rng.choice(_PRODUCTS)
    return {
        "order_id": order,
        "product": product,
        "issue": issue,
        "kb_query": issue,
        "kb_article": article,
        "ticket_subject": f"{order}: {issue}",
        "amount": f"{rng.randint(19, 1499)}.{rng.choice(['00', '49', '99'])}",
        "customer": rng.choice(["Dana", "Luis", "Priya", "Tom", "Aiko", "Fatima", "Jonas"]),
    }


_SUBJECTS = [
    ("retrieval-augmented generation", "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks"),
    ("heat pumps in cold climates", "Field Performance of Air-Source Heat Pumps below −15 °C"),
    ("urban cycling infrastructure", "Protected Bike Lanes and Ridership: Evidence from 40 Cities"),
    ("sodium-ion batteries", "Sodium-Ion Batteries: Materials, Costs & Outlook"),
    ("sleep and memory consolidation", "Sleep Spindles and Declarative Memory: A Meta-Analysis"),
    ("LLM evaluation methods", "Holistic Evaluation of Language Models"),
]


def _research_slots(rng: random.Random) -> Slots:
    subject, paper = rng.choice(_SUBJECTS)
    slug = subject.split()[0].lower()
    return {
        "subject": subject,
        "paper": paper,
        "search_query": f"{subject} review 2025",
        "search_hits": [
            (paper, f"https://arxiv.example.org/abs/{rng.randint(2101, 2612)}.{rng.randint(10000, 99999)}"),
            (f"{subject}: what the evidence says", f"https://research.example.net/{slug}"),
        ],
        "page_excerpt": f"Abstract — we review studies on {subject} (n < 50 in most trials) & find mixed results.",
        "words": rng.choice([300, 500, 800, 1200]),
    }


def _devops_slots(rng: random.Random) -> Slots:
    service = rng.choice(["checkout-api", "search-indexer", "auth-gateway", "notifications"])
    return {
        "service": service,
        "file": f"/var/log/{service}/error.log",
        "snippet": f"ERROR {service} upstream connect error or disconnect/reset before headers (p99 > 2s)",
        "sql_columns": ["minute", "p99_ms", "errors"],
        "sql": f"SELECT minute, p99_ms, errors FROM service_latency WHERE service = '{service}' AND p99_ms > 2000",
        "database": "metrics",
        "search_query": f"{service} 502 errors envoy upstream reset",
        "search_hits": [
            ("Envoy: upstream connect error", "https://envoy.example.io/docs/faq/upstream-reset"),
            ("Status page", f"https://status.example.com/{service}"),
        ],
        "page_excerpt": "All systems operational <span>except</span> eu-west-1 degraded performance.",
        "python_code": "errors.resample('5min').sum().idxmax()",
    }


TOPICS: tuple[Topic, ...] = (
    Topic(
        "coding",
        "code-assistant",
        ("platform", "payments", "web"),
        ("coding", "debugging"),
        (("read_file", 5), ("run_tests", 3), ("run_python", 2), ("web_search", 2), ("fetch_url", 1)),
        "You are a senior software engineer pairing with the user. Read the code before changing it, run the tests "
        "after every change, and show diffs in fenced code blocks.",
        _coding_slots,
        ("Fix: {bug}", "Debug failing test in {file}", "{lang} bug in {file}"),
        (
            "Our CI is red: {bug}. The code is in `{file}`:\n```\n{snippet}\n```\nCan you find the problem?",
            "I think {bug}. Here's the line I suspect:\n```\n{snippet}\n```\nWhy would that happen?",
            "Can you look at {file}? The test {test_name} fails since yesterday's merge.",
        ),
        (
            "That fixed it locally, but {test_name} is still flaky on CI. Any idea?",
            "Can you also add a regression test for the case where the input is empty?",
            "Is there a known issue with {lib} that could cause this?",
            "Please refactor it so the condition reads `a < b && b < c` instead of the nested ifs.",
            "Does this change affect performance? The hot path runs ~10k times per request.",
            "Run the full test suite again please.",
        ),
        (
            "Let me read the file first.",
            "I'll run the tests to reproduce it.",
            "Checking the {lib} issue tracker.",
            "",
        ),
        (
            "The bug is an off-by-one: the loop stops at `len(src) - 1`, so the last token is never emitted when "
            "the input ends with `&&`. Fix:\n```\n{snippet}\n```\nbecomes a bounds check before indexing; "
            "{test_name} passes now.",
            "The root cause is the dependency array: `[data, [min]]` creates a new array each render, so the memo "
            "never hits. Use `[data, min]`. I also added a test that asserts render count < 3.",
            "I changed the signature so callers get `Option<&str>` via `.as_deref()`; no allocation on the hot path. "
            "All tests pass ({test_command}).",
            "Done: the condition is flattened to `a < b && b < c`, behaviour is unchanged and the new regression "
            "test covers the empty input.",
            "Rounding per line item and summing integers (cents) fixes the one-cent drift. I'd avoid float for "
            "money entirely; see the diff above.",
        ),
        "The user is fixing a {lang} bug in {file}: {bug}. We reproduced it, proposed a fix and added tests; "
        "open question: flakiness of {test_name} on CI.",
    ),
    Topic(
        "data-analysis",
        "data-analyst",
        ("growth", "finance", "operations"),
        ("analytics", "sql"),
        (("run_sql", 6), ("run_python", 4), ("read_file", 1), ("calculator", 1)),
        "You are a data analyst with read-only access to the {database} warehouse. Prefer SQL for aggregation, "
        "Python for plots and statistics; always state the time window and filters you used.",
        _data_slots,
        ("Analysis: {question}", "{table}: {metric} breakdown", "Question about {question}"),
        (
            "Can you pull {question} from the {table} table? Only rows with {metric} > 0 please.",
            "I need {question} for the board deck by Friday — top segments & anything unusual.",
            "Why did {metric} drop last month? Start with the {table} table.",
        ),
        (
            "Break it down by week instead of month.",
            "Exclude test accounts (email LIKE '%@example.com') and rerun.",
            "What's the p95, not just the mean? The distribution looks skewed.",
            "Can you plot that as a bar chart and export the table as CSV?",
            "Is the difference between the top two segments statistically significant?",
            "Only keep groups with more than {threshold} rows.",
        ),
        ("Running the query.", "Let me compute that in Python.", "I'll check the raw file first.", ""),
        (
            "Here's {question}: the top segment accounts for 41% of {metric}; two segments fell below the "
            "threshold of {threshold} rows and were excluded. The drop is concentrated in the last two weeks.",
            "The distribution is right-skewed (mean > median), so I report the median and p95. Week 44 is an "
            "outlier caused by a bulk import; excluding it, the trend is flat (±3%).",
            "The difference is significant (Welch's t-test, p < 0.01, n = 12,480). Chart and CSV are attached.",
            "After excluding test accounts & internal users, {metric} is 6.2% lower but the ranking is unchanged.",
        ),
        "Analysis of {question} on {table} in {database}: filters {metric} > 0, groups with > {threshold} rows; "
        "findings: skewed distribution, week 44 outlier; chart and CSV exported.",
    ),
    Topic(
        "travel",
        "travel-planner",
        ("people-ops", "sales"),
        ("travel", "booking"),
        (("search_flights", 4), ("get_weather", 2), ("web_search", 3), ("fetch_url", 2), ("calculator", 1)),
        "You are a travel planner. Find flights and accommodation within the user's budget, mention the weather, "
        "and never book anything without explicit confirmation.",
        _travel_slots,
        ("Trip to {dest} in {month}", "Flight {origin_code} → {dest_code}", "{dest} weekend, {nights} nights"),
        (
            "I'd like to fly from {origin} to {dest} around {date} for {nights} nights, {passengers} people. "
            "Budget about €{budget} in total.",
            "Can you find me a flight to {dest} in {month}? I'm leaving from {origin}.",
            "Planning a trip to {dest}, {country} — what's the weather like in {month} and how do I get there "
            "from {origin}?",
        ),
        (
            "Is there anything cheaper if I leave a day earlier?",
            "What about hotels near the old town? Max €150/night, B&B is fine.",
            "How do I get from the airport to the city centre?",
            "Will it rain? Should I pack a jacket?",
            "Can you compare direct flights vs one stop, including the total travel time?",
            "Convert the total to USD please.",
        ),
        ("Searching flights.", "Let me check the forecast.", "Looking that up.", ""),
        (
            "Best option: direct flight {origin_code} → {dest_code} on {date}, about €{budget} for {passengers} "
            "traveller(s) with bags. Expect mild weather; a light jacket is enough. Shall I hold the fare?",
            "In {dest} the old town has B&B rooms from ~€70; check-in before 14:00 may cost extra. The airport "
            "metro takes ~25 min to the centre (ticket ≈ €2).",
            "Leaving a day earlier saves roughly 18%, but the only cheaper option has a 1-stop connection (< 1h "
            "layover), which I wouldn't risk with checked bags.",
            "Total for {nights} nights with flights is within your €{budget} budget; breakdown: flights 46%, "
            "hotel 44%, transfers & city pass 10%.",
        ),
        "Trip planning {origin} → {dest} ({country}) around {date}, {nights} nights, {passengers} pax, budget "
        "€{budget}; compared flights, weather and neighbourhoods; nothing booked yet.",
    ),
    Topic(
        "customer-support",
        "support-agent",
        ("support",),
        ("support", "orders"),
        (("lookup_order", 5), ("kb_search", 4), ("create_ticket", 2)),
        "You are a customer support agent for an online shop. Verify the order before promising anything; refunds "
        "over €500 need a ticket for a human agent. Be concise & friendly.",
        _support_slots,
        ("Order {order_id}: {issue}", "{customer} – {issue}", "Support: {product}"),
        (
            "Hi, this is {customer}. My order {order_id} ({product}) has {issue}. What can I do?",
            "Hello! I have {issue} with order {order_id}. I paid €{amount}.",
            "My {product} never arrived — order {order_id}. Tracking says <delivered> but it's not here.",
        ),
        (
            "How long does the refund take?",
            "Can I exchange it instead of a refund?",
            "I already sent photos of the damage yesterday.",
            "Can you escalate this? It's been two weeks.",
            "Thanks! Will I get an email confirmation?",
        ),
        ("Let me look up your order.", "Checking our policy.", ""),
        (
            "Thanks {customer}, I found order {order_id}. I've started the process for {issue}; you'll get an "
            "email within 24 hours. Refunds reach your card in 5–10 business days.",
            "Our policy covers {issue} within 30 days. Because the amount is above €500 I created a ticket so a "
            "specialist can approve it today.",
            "I'm sorry about that. I escalated your case with high priority; the ticket number is in the email "
            "we just sent.",
        ),
        "{customer} contacted support about {issue} on order {order_id} ({product}, €{amount}); order verified, "
        "policy checked, ticket opened where needed.",
    ),
    Topic(
        "research",
        "research-assistant",
        ("research", "strategy"),
        ("research", "literature"),
        (("web_search", 4), ("search_papers", 3), ("fetch_url", 3)),
        "You are a research assistant. Cite sources with links, distinguish evidence from opinion, and flag "
        "studies with small samples.",
        _research_slots,
        ("Literature review: {subject}", "Research: {subject}", "What's known about {subject}?"),
        (
            "Can you give me an overview of recent research on {subject}? About {words} words.",
            "I'm writing a report on {subject}. Find the most cited papers since 2021 & summarise them.",
            "What does the evidence say about {subject}? I keep reading contradictory claims.",
        ),
        (
            "Which of these studies had the largest sample size?",
            "Can you find a counter-argument or a critical review?",
            "Summarise that paper's method in three bullet points.",
            "Put the sources in a table: title, year, sample size, main finding.",
            "Anything newer than 2025?",
        ),
        ("Searching.", "Let me read that paper.", "Looking for reviews.", ""),
        (
            "Summary of {subject}: the strongest evidence comes from “{paper}”; most other studies have small "
            "samples (n < 50), so effects are uncertain. Two critical reviews question the methodology.",
            "Here are the key sources in a table, newest first. The consensus is moderate; heterogeneity between "
            "studies is high (I² > 70%).",
            "The method: (1) pooled data from independent trials, (2) random-effects model, (3) sensitivity "
            "analysis excluding low-quality studies. Results held after exclusion.",
        ),
        "Literature review on {subject} (~{words} words requested); key source “{paper}”; noted small samples "
        "and critical reviews.",
    ),
    Topic(
        "devops",
        "ops-copilot",
        ("platform", "sre"),
        ("incident", "ops"),
        (("read_file", 3), ("run_sql", 3), ("web_search", 2), ("fetch_url", 2), ("run_python", 1)),
        "You are an SRE assistant helping during incidents. Read logs and metrics before proposing changes; never "
        "restart production services without confirmation.",
        _devops_slots,
        ("Incident: {service} 502s", "{service} latency spike", "Investigate {service} errors"),
        (
            "We're seeing 502s on {service} since 14:05 UTC. Can you check the error log?",
            "p99 latency of {service} is > 2s. What changed?",
            "Alert fired: {service} error rate 4.3%. Help me triage.",
        ),
        (
            "Is it correlated with the deploy at 13:58?",
            "Check the upstream status page.",
            "Which minute had the most errors?",
            "Draft the incident summary for the status page.",
        ),
        ("Reading the log.", "Querying the latency metrics.", "Checking the status page.", ""),
        (
            "The errors start at 14:03 — two minutes after the deploy of {service}. The log shows upstream resets "
            "(`p99 > 2s`); rolling back is the fastest mitigation.",
            "Peak was 14:12 with 1,204 errors/min. The upstream status page reports degraded performance in "
            "eu-west-1, which matches our error pattern.",
            "Draft: “Between 14:03 and 14:31 UTC some requests to {service} failed with 502 errors. A rollback "
            "restored service; we are working with our provider on the root cause.”",
        ),
        "Incident on {service}: 502s and p99 > 2s since ~14:03 UTC, correlated with a deploy and an upstream "
        "degradation in eu-west-1; mitigation: rollback.",
    ),
)

#: Relative frequency of the topics.
TOPIC_WEIGHTS: tuple[float, ...] = (0.26, 0.2, 0.16, 0.18, 0.12, 0.08)

#: (user, team) pairs; ``team`` is drawn from the topic when None.
USERS: tuple[str, ...] = (
    "maria.santos",
    "jonas.weber",
    "aiko.tanaka",
    "li.wei",
    "fatima.haddad",
    "tom.oconnor",
    "priya.nair",
    "lucas.martin",
    "sofia.rossi",
    "ahmed.khan",
    "emma.johansson",
    "noah.kim",
    "olga.petrova",
    "diego.alvarez",
    "zoe.dubois",
    "samuel.okafor",
    "hannah.schmidt",
    "ravi.patel",
    "mia.novak",
    "ben.cohen",
)

ENVIRONMENTS: tuple[tuple[str, float], ...] = (("production", 0.78), ("staging", 0.15), ("development", 0.07))
