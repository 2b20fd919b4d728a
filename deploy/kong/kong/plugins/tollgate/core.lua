-- The Tollgate plugin's logic, free of Kong: it asks Tollgate's /check over a cosocket (plain
-- lua-nginx-module, so the test suite runs it in Debian's nginx) and says what to do.
--
--   local decision = core.decide(conf, request)
--
-- conf: the plugin's configuration (see schema.lua): url, domain, descriptors, timeout,
--   fault_tolerant, hide_client_headers, keepalive_timeout, keepalive_pool_size.
-- request: { method, uri (path with query), client_ip, host, scheme,
--   header = function(name) -> string or nil }.
-- decision: { action = "pass" | "deny" | "error", headers = { name = value } for the client,
--   err = message to log or nil }.
--   "pass":  let the request through and add headers to the response;
--   "deny":  Tollgate said 429: answer 429 with headers;
--   "error": Tollgate could not decide (connection error, timeout or 5xx) and fault_tolerant is
--            false, or Tollgate answered any other status (a 400: the plugin's descriptors are
--            wrong), which fault_tolerant never lets through: answer 500.

local ngx = ngx
local concat = table.concat
local escape = ngx.escape_uri

local _M = { _VERSION = "0.1.0" }

-- Headers of Tollgate's answer that are passed on to the client.
local COPIED = {
  "RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining",
  "X-RateLimit-Reset", "Retry-After",
}

-- Headers the plugin sets itself for /check's sources; never copied from the client.
local RESERVED = {
  ["host"] = true, ["x-real-ip"] = true, ["x-forwarded-for"] = true,
  ["x-forwarded-method"] = true, ["x-forwarded-uri"] = true, ["x-forwarded-host"] = true,
  ["x-forwarded-proto"] = true, ["x-original-method"] = true, ["x-original-uri"] = true,
}

local function parse_url(url)
  local host, port, path = url:match("^http://([^/:]+):?(%d*)(/?.*)$")
  if not host then
    return nil, "url must be http://host[:port]/path, got " .. tostring(url)
  end
  return host, tonumber(port) or 80, path ~= "" and path or "/"
end

-- The /check query for a configuration; built once per configuration table.
local queries = setmetatable({}, { __mode = "k" })

local function query(conf)
  local q = queries[conf]
  if q then
    return q
  end
  local parts = { "domain=" .. escape(conf.domain) }
  local headers = {}
  for _, spec in ipairs(conf.descriptors) do
    -- Tollgate splits on , and : before it percent-decodes, so those two stay as they are.
    local encoded = spec:gsub("[^,:]+", escape)
    parts[#parts + 1] = "descriptor=" .. encoded
    for name in spec:gmatch("[^,]+:[Hh][Ee][Aa][Dd][Ee][Rr]%.([^,]+)") do
      headers[#headers + 1] = name
    end
  end
  q = { string = concat(parts, "&"), headers = headers }
  queries[conf] = q
  return q
end

local function header_line(name, value)
  -- Values come from the client: never let one end the header or start another.
  return name .. ": " .. tostring(value):gsub("[\r\n]", " ") .. "\r\n"
end

-- One GET to Tollgate; returns status, headers (lower-case names) or nil, error.
local function call(conf, request)
  local host, port, path = parse_url(conf.url)
  if not host then
    return nil, port
  end
  local q = query(conf)
  local lines = {
    "GET " .. path .. "?" .. q.string .. " HTTP/1.1\r\n",
    "Host: " .. host .. ":" .. port .. "\r\n",
  }
  if request.client_ip then
    lines[#lines + 1] = header_line("X-Real-IP", request.client_ip)
  end
  -- /check reads X-Forwarded-Method/-Uri first, then X-Original-*; both are set here.
  lines[#lines + 1] = header_line("X-Forwarded-Method", request.method)
  lines[#lines + 1] = header_line("X-Forwarded-Uri", request.uri)
  lines[#lines + 1] = header_line("X-Original-Method", request.method)
  lines[#lines + 1] = header_line("X-Original-URI", request.uri)
  if request.host then
    lines[#lines + 1] = header_line("X-Forwarded-Host", request.host)
  end
  if request.scheme then
    lines[#lines + 1] = header_line("X-Forwarded-Proto", request.scheme)
  end
  for _, name in ipairs(q.headers) do
    -- A client's copy of a header set above must not reach Tollgate next to ours.
    local value = not RESERVED[name:lower()] and request.header(name) or nil
    if type(value) == "table" then
      value = concat(value, ",")
    end
    if value then
      lines[#lines + 1] = header_line(name, value)
    end
  end
  lines[#lines + 1] = "\r\n"

  local sock = ngx.socket.tcp()
  local timeout = conf.timeout or 500
  sock:settimeouts(timeout, timeout, timeout)
  local ok, err = sock:connect(host, port)
  if not ok then
    return nil, "cannot connect to " .. host .. ":" .. port .. ": " .. err
  end
  ok, err = sock:send(concat(lines))
  if not ok then
    sock:close()
    return nil, "cannot send to Tollgate: " .. err
  end
  local status_line
  status_line, err = sock:receive("*l")
  if not status_line then
    sock:close()
    return nil, "no answer from Tollgate: " .. err
  end
  local status = tonumber(status_line:match("^HTTP/1%.%d (%d%d%d)"))
  if not status then
    sock:close()
    return nil, "bad status line from Tollgate: " .. status_line
  end
  local headers = {}
  while true do
    local line
    line, err = sock:receive("*l")
    if not line then
      sock:close()
      return nil, "cannot read Tollgate's headers: " .. err
    end
    if line == "" then
      break
    end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      headers[name:lower()] = value
    end
  end
  -- Read the (short, text) body so that the connection can be reused.
  local length = tonumber(headers["content-length"])
  local reusable = headers["connection"] ~= "close"
  if length then
    if length > 0 then
      local _, body_err = sock:receive(length)
      if body_err then
        reusable = false
      end
    end
  elseif (headers["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
    while true do
      local size_line = sock:receive("*l")
      local size = size_line and tonumber(size_line:match("^%x+"), 16)
      if not size then
        reusable = false
        break
      end
      local _, chunk_err = sock:receive(size + 2)
      if chunk_err then
        reusable = false
        break
      end
      if size == 0 then
        break
      end
    end
  else
    reusable = false
  end
  if reusable then
    sock:setkeepalive(conf.keepalive_timeout or 60000, conf.keepalive_pool_size or 32)
  else
    sock:close()
  end
  return status, headers
end

--- Asks Tollgate about one request; see the top of this file.
function _M.decide(conf, request)
  local status, headers_or_err = call(conf, request)
  local out = {}
  if status == 200 or status == 429 then
    if not conf.hide_client_headers then
      for _, name in ipairs(COPIED) do
        local v = headers_or_err[name:lower()]
        if v then
          out[name] = v
        end
      end
    end
    return { action = status == 200 and "pass" or "deny", headers = out }
  end
  local err = status and ("Tollgate answered " .. status) or headers_or_err
  -- Fail open only when Tollgate could not decide: no answer, or a 5xx. Any other status (a
  -- 400 for descriptors it cannot use) is a configuration error and never lets a request by.
  if conf.fault_tolerant and (not status or status >= 500) then
    return { action = "pass", headers = out, err = err }
  end
  return { action = "error", headers = out, err = err }
end

return _M
