-- Tollgate schema, version 1: usage plans, API keys and quota counters.
-- Runs unchanged on H2 2.x and PostgreSQL 15: standard types only, no TEXT, no SERIAL,
-- and no column named after a keyword of either (DAY, KEY, LIMIT, OFFSET, VALUE).

-- A usage plan. The throttle columns are both NULL when the plan has no throttle, and the
-- quota columns all NULL when it has no quota.
CREATE TABLE tollgate_plan (
  id              VARCHAR(64)              NOT NULL,
  name            VARCHAR                  NOT NULL,
  description     VARCHAR                  NOT NULL,
  throttle_rate   DOUBLE PRECISION,
  throttle_burst  BIGINT,
  quota_limit     BIGINT,
  quota_period    VARCHAR(16),
  quota_offset    INTEGER,
  quota_time_zone VARCHAR(64),
  created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
  updated_at      TIMESTAMP WITH TIME ZONE NOT NULL,
  CONSTRAINT tollgate_plan_pk PRIMARY KEY (id),
  CONSTRAINT tollgate_plan_throttle CHECK (
    (throttle_rate IS NULL AND throttle_burst IS NULL)
    OR (throttle_rate > 0 AND throttle_burst > 0)),
  CONSTRAINT tollgate_plan_quota CHECK (
    (quota_limit IS NULL AND quota_period IS NULL AND quota_offset IS NULL
      AND quota_time_zone IS NULL)
    OR (quota_limit >= 0 AND quota_period IN ('DAY', 'WEEK', 'MONTH') AND quota_offset >= 0
      AND quota_time_zone IS NOT NULL))
);

-- The API stages a plan covers; stage_order keeps the plan's list order.
CREATE TABLE tollgate_plan_stage (
  plan_id     VARCHAR(64)  NOT NULL,
  api         VARCHAR(512) NOT NULL,
  stage       VARCHAR(512) NOT NULL,
  stage_order INTEGER      NOT NULL,
  CONSTRAINT tollgate_plan_stage_pk PRIMARY KEY (plan_id, api, stage),
  CONSTRAINT tollgate_plan_stage_plan FOREIGN KEY (plan_id)
    REFERENCES tollgate_plan (id) ON DELETE CASCADE
);

-- A plan's per-method throttles on one of its stages; method_key is "METHOD /route".
CREATE TABLE tollgate_plan_method (
  plan_id    VARCHAR(64)      NOT NULL,
  api        VARCHAR(512)     NOT NULL,
  stage      VARCHAR(512)     NOT NULL,
  method_key VARCHAR(1024)    NOT NULL,
  rate       DOUBLE PRECISION NOT NULL,
  burst      BIGINT           NOT NULL,
  CONSTRAINT tollgate_plan_method_pk PRIMARY KEY (plan_id, api, stage, method_key),
  CONSTRAINT tollgate_plan_method_stage FOREIGN KEY (plan_id, api, stage)
    REFERENCES tollgate_plan_stage (plan_id, api, stage) ON DELETE CASCADE,
  CONSTRAINT tollgate_plan_method_throttle CHECK (rate > 0 AND burst > 0)
);

-- An API key, found by the hash of its value (checks look keys up that way).
CREATE TABLE tollgate_api_key (
  hash       VARCHAR(128)             NOT NULL,
  id         VARCHAR(255)             NOT NULL,
  name       VARCHAR                  NOT NULL,
  enabled    BOOLEAN                  NOT NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL,
  CONSTRAINT tollgate_api_key_pk PRIMARY KEY (hash),
  CONSTRAINT tollgate_api_key_id UNIQUE (id)
);

-- The plans a key is in. No foreign key to tollgate_plan: a key may be in a plan declared in the
-- YAML config, which has no row here.
CREATE TABLE tollgate_key_plan (
  key_hash VARCHAR(128) NOT NULL,
  plan_id  VARCHAR(64)  NOT NULL,
  CONSTRAINT tollgate_key_plan_pk PRIMARY KEY (key_hash, plan_id),
  CONSTRAINT tollgate_key_plan_key FOREIGN KEY (key_hash)
    REFERENCES tollgate_api_key (hash) ON DELETE CASCADE
);
CREATE INDEX tollgate_key_plan_plan ON tollgate_key_plan (plan_id);

-- A key's quota counter in a plan: requests used in the period starting at period_start
-- (epoch seconds). key_id is the key's public id, not its hash.
CREATE TABLE tollgate_quota_counter (
  plan_id      VARCHAR(64)  NOT NULL,
  key_id       VARCHAR(255) NOT NULL,
  period_start BIGINT       NOT NULL,
  used         BIGINT       NOT NULL,
  CONSTRAINT tollgate_quota_counter_pk PRIMARY KEY (plan_id, key_id)
);

-- Requests per key, plan and UTC day, for usage reports.
CREATE TABLE tollgate_daily_usage (
  plan_id   VARCHAR(64)  NOT NULL,
  key_id    VARCHAR(255) NOT NULL,
  usage_day DATE         NOT NULL,
  requests  BIGINT       NOT NULL,
  CONSTRAINT tollgate_daily_usage_pk PRIMARY KEY (plan_id, key_id, usage_day)
);
-- Usage reports ask for one plan over a range of days, for every key.
CREATE INDEX tollgate_daily_usage_plan_day ON tollgate_daily_usage (plan_id, usage_day);
