-- SPDX-License-Identifier: Apache-2.0
-- Loaded by the wrk scripts of bench/measure.d/http.sh (dofile): counts every answer by
-- status so that a figure is made of 2xx answers only, and the events those answers
-- acknowledged, so that the hook can check the ledger grew by exactly that many. A script
-- that loads it defines `acked(body)` (events one 2xx answer acknowledges) and calls
-- count_sent() from its request(); done() prints one `wrk_result` line for the hook.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread globals: each wrk thread runs its own Lua state; done() reads them back
-- through thread:get().
ok, failed, sent, events = 0, 0, 0, 0
first_failure = ""

function count_sent()
  sent = sent + 1
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    events = events + acked(body)
  else
    failed = failed + 1
    if first_failure == "" then
      first_failure = status .. " " .. string.sub(body or "", 1, 160):gsub("%s+", " ")
    end
  end
end

done = function(summary, latency, requests)
  local t_ok, t_failed, t_sent, t_events, why = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    t_ok = t_ok + t:get("ok")
    t_failed = t_failed + t:get("failed")
    t_sent = t_sent + t:get("sent")
    t_events = t_events + t:get("events")
    if why == "" then why = t:get("first_failure") end
  end
  -- Connection errors and timeouts never reach response(): they are failures too.
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "wrk_result ok %d failed %d socket_errors %d sent %d events %d seconds %.6f " ..
    "p50_us %d p99_us %d max_us %d first_failure %s\n",
    t_ok, t_failed, socket, t_sent, t_events, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), latency.max, why))
end
