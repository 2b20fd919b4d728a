-- Kong plugin "tollgate": asks Tollgate's /check in the access phase and answers 429 with its
-- rate-limit headers when it says no. Only Kong's PDK calls live here; the logic is core.lua.
local core = require "kong.plugins.tollgate.core"

local kong = kong

local TollgateHandler = {
  -- Just below Kong's own rate-limiting (910), after authentication plugins, so that the
  -- consumer is known when the request is counted.
  PRIORITY = 901,
  VERSION = core._VERSION,
}

function TollgateHandler:access(conf)
  local decision = core.decide(conf, {
    method = kong.request.get_method(),
    uri = kong.request.get_path_with_query(),
    client_ip = kong.client.get_forwarded_ip(),
    host = kong.request.get_host(),
    scheme = kong.request.get_forwarded_scheme(),
    header = kong.request.get_header,
  })
  if decision.err then
    kong.log.err("tollgate: ", decision.err)
  end
  if decision.action == "deny" then
    return kong.response.exit(429, { message = "API rate limit exceeded" }, decision.headers)
  end
  if decision.action == "error" then
    return kong.response.exit(500, { message = "An unexpected error occurred" })
  end
  kong.ctx.plugin.headers = decision.headers
end

function TollgateHandler:header_filter(conf)
  local headers = kong.ctx.plugin.headers
  if headers and next(headers) then
    kong.response.set_headers(headers)
  end
end

return TollgateHandler
