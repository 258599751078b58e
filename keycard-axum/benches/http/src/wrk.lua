-- The load generator's script: with KEYCARD_TOKENS set, each request carries the next token of
-- that file (one a line, in turn: a pool no cache can help with); without it, wrk sends the
-- command line's Authorization header on every request. `done` prints one machine-readable line
-- for the runner: requests, duration (µs), p50 and p99 latency (µs), non-2xx responses, socket
-- errors.
local tokens = {}
local count = 0
local path = os.getenv("KEYCARD_TOKENS")
if path ~= nil and path ~= "" then
  for line in io.lines(path) do
    count = count + 1
    tokens[count] = "Bearer " .. line
  end
end

if count > 0 then
  -- The requests are formatted once, in `init` (after wrk has set the host and path), so that
  -- each request costs wrk a table lookup, not a string build: the load generator must not be
  -- what bounds the round.
  local requests = {}
  local next = 0
  init = function(args)
    for i = 1, count do
      requests[i] = wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
    end
  end
  request = function()
    next = next % count + 1
    return requests[next]
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KEYCARD_RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
