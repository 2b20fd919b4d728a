-- Just enough of Kong for deploy/kong's handler.lua and schema.lua to run in plain nginx with
-- lua-nginx-module: the PDK calls the handler makes, over ngx.*, and the schema's defaults.
--
--   access_by_lua_block        { require("fake_kong").phase("access", { ...config... }) }
--   header_filter_by_lua_block { require("fake_kong").phase("header_filter", { ...config... }) }

package.preload["kong.db.schema.typedefs"] = function()
  return {
    protocols_http = { type = "set" },
    url = function(overrides)
      local t = { type = "string" }
      for k, v in pairs(overrides or {}) do
        t[k] = v
      end
      return t
    end,
  }
end

local function config_fields()
  for _, field in ipairs(require("kong.plugins.tollgate.schema").fields) do
    if field.config then
      return field.config.fields
    end
  end
  error("schema.lua has no config record")
end

-- The configuration as Kong would hand it over: defaults filled in, required fields checked.
local function with_defaults(conf)
  local out = {}
  for _, f in ipairs(config_fields()) do
    local name, def = next(f)
    local v = conf[name]
    if v == nil then
      v = def.default
    end
    if v == nil and def.required then
      error("config." .. name .. " is required")
    end
    out[name] = v
  end
  return out
end

local ctx_key = "fake_kong_plugin_ctx"

_G.kong = {
  request = {
    get_method = function() return ngx.req.get_method() end,
    get_path_with_query = function() return ngx.var.request_uri end,
    get_host = function() return ngx.var.host end,
    get_forwarded_scheme = function() return ngx.var.scheme end,
    get_header = function(name) return ngx.req.get_headers()[name] end,
  },
  client = {
    get_forwarded_ip = function() return ngx.var.remote_addr end,
  },
  response = {
    exit = function(status, body, headers)
      ngx.status = status
      for k, v in pairs(headers or {}) do
        ngx.header[k] = v
      end
      ngx.header["Content-Type"] = "application/json; charset=utf-8"
      -- Kong encodes a table body as JSON; the handler only sends { message = "..." }.
      ngx.say('{"message":"' .. body.message .. '"}')
      return ngx.exit(status)
    end,
    set_headers = function(headers)
      for k, v in pairs(headers) do
        ngx.header[k] = v
      end
    end,
  },
  log = {
    err = function(...) ngx.log(ngx.ERR, ...) end,
  },
}

setmetatable(kong, { __index = function(_, k)
  if k == "ctx" then
    local c = ngx.ctx[ctx_key]
    if not c then
      c = { plugin = {} }
      ngx.ctx[ctx_key] = c
    end
    return c
  end
end })

-- Loaded after the global exists: the handler reads it once, as Kong's plugins do.

local handler = require "kong.plugins.tollgate.handler"

local confs = setmetatable({}, { __mode = "k" })

local _M = {}

--- Runs one phase of the handler with a configuration (a table literal in nginx.conf).
function _M.phase(name, conf)
  local full = confs[conf]
  if not full then
    full = with_defaults(conf)
    confs[conf] = full
  end
  return handler[name](handler, full)
end

return _M
