-- Sends pre-built requests, each once: thread N reads BODIES_DIR/N.req, lines of
-- "<signature>\t<body>" (signature "-" for none), and stops the thread when it runs out,
-- so no body is ever sent twice and nothing is signed inside the load generator.
-- Without BODIES_DIR it GETs TARGET_PATH. Optional pacing: DELAY_MS per request per connection (wrk's delay()), for a fixed rate.
-- Optional AUTHORIZATION: the Authorization header of every request.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local dir = os.getenv("BODIES_DIR") or ""
  path = os.getenv("TARGET_PATH") or "/"
  pace = tonumber(os.getenv("DELAY_MS") or "0")
  local authorization = os.getenv("AUTHORIZATION") or ""
  requests = {}
  statuses = {}
  index = 0
  if dir == "" then
    -- No bodies: a plain GET of the path (the healthz baselines).
    local headers = {}
    if authorization ~= "" then headers["Authorization"] = authorization end
    requests[1] = wrk.format("GET", path, headers)
    cycle = true
    return
  end
  cycle = false
  for line in io.lines(dir .. "/" .. id .. ".req") do
    local tab = line:find("\t", 1, true)
    local signature = line:sub(1, tab - 1)
    local body = line:sub(tab + 1)
    local headers = { ["Content-Type"] = "application/json" }
    if signature ~= "-" then headers["X-Hub-Signature-256"] = signature end
    if authorization ~= "" then headers["Authorization"] = authorization end
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
end

function request()
  if cycle then return requests[1] end
  index = index + 1
  if index > #requests then
    wrk.thread:stop()
    index = #requests
  end
  return requests[index]
end

function delay()
  return pace
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests_)
  local parts = {}
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    parts[#parts + 1] = string.format('"p%s": %d', tostring(p), latency:percentile(p))
  end
  local codes = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      codes[#codes + 1] = string.format('"%d": %d', status, count)
    end
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, %s, "status": [%s]}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout + summary.errors.status,
    table.concat(parts, ", "), "{" .. table.concat(codes, ", ") .. "}"))
end
