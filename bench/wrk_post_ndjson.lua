-- SPDX-License-Identifier: Apache-2.0
-- wrk script: NDJSON batches to POST /api/events (env TT_TOKEN; TT_BATCH events per
-- request, default 1000), events shaped like wrk_post_event.lua's. Answers are counted by
-- wrk_count.lua (env TT_WRK_COUNT); a 2xx answer acknowledges the "count" it names, so a
-- refused batch adds nothing to the events figure.
local token = os.getenv("TT_TOKEN") or ""
local batch = tonumber(os.getenv("TT_BATCH") or "1000")
local counter = 0
local types = {"CREATED", "ACTIVATED", "CLOSED", "SWAPPED_IN", "FAILED"}
dofile(os.getenv("TT_WRK_COUNT"))

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-ndjson"
wrk.headers["Authorization"] = "Bearer " .. token

function acked(body)
  return tonumber(string.match(body or "", '"count":(%d+)') or "0")
end

request = function()
  count_sent()
  local lines = {}
  for i = 1, batch do
    counter = counter + 1
    lines[i] = string.format(
      '{"entity":"strategy","entity_id":"s%d","event_type":"%s","actor":"bot-%d",' ..
      '"old_status":"PENDING","new_status":"ACTIVE",' ..
      '"reason":"Strategy activated by orchestrator after evaluation round %d",' ..
      '"metadata":{"symbol":"BTCUSDT","timeframe":"1h","score":0.%d}}',
      counter % 1000, types[counter % 5 + 1], counter % 20, counter, counter % 97)
  end
  return wrk.format(nil, "/api/events", nil, table.concat(lines, "\n") .. "\n")
end
