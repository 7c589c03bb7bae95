"""Contended claims over HTTP with wrk (Debian's ``wrk``, a C load generator: the client does
not eat the box), reusable by any benchmark that has a server URL and open handoffs.

    pairs = claim_pairs(handoff_ids, senior_tokens)       # every handoff, each senior in turn
    result = run_claims(url, pairs, seconds=8, connections=16)
    result.attempts_per_second, result.statuses           # {200: winners, 409: refusals}
    result.unnamed                                        # 409s not naming the holder: 0

Each handoff is attempted by every token in ``senior_tokens`` back to back (wrk threads take
interleaved entries, so the attempts on one handoff race on different connections). Entries are
never reused: when wrk gets to the end of the list it stops counting (``exhausted``), so every
measured attempt is a real contended claim on a handoff still worth fighting for.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """
local pairs_ = %(pairs)s
local index = 0
local threads = {}
local nthreads = %(threads)d

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  exhausted = 0
  unnamed = 0
end

function request()
  local i = index * nthreads + offset + 1
  index = index + 1
  if i > #pairs_ then
    exhausted = exhausted + 1
    i = #pairs_
  end
  local entry = pairs_[i]
  return wrk.format("POST", entry[1], {["Authorization"] = "Bearer " .. entry[2]}, "")
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 409 and not string.find(body, '"claimed_by_id":"', 1, true) then
    unnamed = unnamed + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  local spent = 0
  local refusals_unnamed = 0
  for _, thread in ipairs(threads) do
    refusals_unnamed = refusals_unnamed + thread:get("unnamed")
    for status, n in pairs(thread:get("statuses")) do
      total[tostring(status)] = (total[tostring(status)] or 0) + n
    end
    spent = spent + thread:get("exhausted")
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%%s": %%d', status, n))
  end
  io.write(string.format('WRK_RESULT {"statuses": {%%s}, "exhausted": %%d, "unnamed": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d, "seconds": %%f}\\n',
    table.concat(parts, ", "), spent, refusals_unnamed, latency:percentile(50),
    latency:percentile(99), summary.duration / 1e6))
end
"""


@dataclass
class ClaimsResult:
    statuses: dict[int, int]
    exhausted: int
    unnamed: int  # 409s that did not name the holder (must be 0)
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def attempts(self) -> int:
        return sum(self.statuses.values())

    @property
    def attempts_per_second(self) -> float:
        return self.attempts / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    """Debian's wrk (``apt-get install wrk`` when missing, as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def claim_pairs(handoff_ids: list[str], tokens: list[str]) -> list[tuple[str, str]]:
    return [(f"/api/v1/handoffs/{h}/claim", t) for h in handoff_ids for t in tokens]


def run_claims(
    url: str,
    pairs: list[tuple[str, str]],
    *,
    seconds: int = 8,
    connections: int = 16,
    threads: int = 2,
) -> ClaimsResult:
    lua_pairs = "{" + ",".join(f"{{{json.dumps(p)},{json.dumps(t)}}}" for p, t in pairs) + "}"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "claims.lua"
        script.write_text(SCRIPT % {"pairs": lua_pairs, "threads": threads})
        done = subprocess.run(
            [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
             "-s", str(script), url],
            capture_output=True, text=True, timeout=seconds + 60,
        )  # fmt: skip
    match = re.search(r"^WRK_RESULT (.*)$", done.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(match.group(1))
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    return ClaimsResult(
        statuses,
        raw["exhausted"],
        raw["unnamed"],
        raw["seconds"],
        raw["p50_us"] / 1000,
        raw["p99_us"] / 1000,
    )
