-- Configuration of the Kong plugin "tollgate" (Kong 3.x schema).
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "tollgate",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          -- Tollgate's /check on its HTTP port.
          { url = typedefs.url { required = true, default = "http://127.0.0.1:8080/check" } },
          -- The rule domain, and the descriptors in /check's KEY:SOURCE[,KEY:SOURCE...] form,
          -- e.g. "remote_address:remote_address" or "api_key:header.apikey".
          { domain = { type = "string", required = true } },
          { descriptors = { type = "array", required = true, len_min = 1,
              elements = { type = "string", match = "^[^,:]+:[^,]+" } } },
          -- Milliseconds for connecting, sending and reading each.
          { timeout = { type = "number", required = true, default = 500, gt = 0 } },
          -- As in Kong's rate-limiting: when Tollgate cannot decide (unreachable, timeout or a
          -- 5xx), let the request through (true) or answer 500 (false). Any other answer but
          -- 200/429 (a 400: bad descriptors) is always a 500.
          { fault_tolerant = { type = "boolean", required = true, default = true } },
          -- Do not pass Tollgate's RateLimit and X-RateLimit headers on to the client.
          { hide_client_headers = { type = "boolean", required = true, default = false } },
          { keepalive_timeout = { type = "number", required = true, default = 60000, gt = 0 } },
          { keepalive_pool_size = { type = "integer", required = true, default = 32, gt = 0 } },
        },
    } },
  },
}
