-- SPDX-License-Identifier: Apache-2.0
-- wrk script: single-event POST /api/events with a bearer token (env TT_TOKEN), a
-- realistic event with a distinct entity_id per request. Answers are counted by
-- wrk_count.lua (env TT_WRK_COUNT: its path); a 2xx answer acknowledges one event.
local token = os.getenv("TT_TOKEN") or ""
local counter = 0
local types = {"CREATED", "ACTIVATED", "CLOSED", "SWAPPED_IN", "FAILED"}
dofile(os.getenv("TT_WRK_COUNT"))

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function acked(body)
  return 1
end

request = function()
  counter = counter + 1
  count_sent()
  local body = string.format(
    '{"entity":"strategy","entity_id":"s%d","event_type":"%s","actor":"bot-%d",' ..
    '"old_status":"PENDING","new_status":"ACTIVE",' ..
    '"reason":"Strategy activated by orchestrator after evaluation round %d",' ..
    '"metadata":{"symbol":"BTCUSDT","timeframe":"1h","score":0.%d}}',
    counter % 1000, types[counter % 5 + 1], counter % 20, counter, counter % 97)
  return wrk.format(nil, "/api/events", nil, body)
end
