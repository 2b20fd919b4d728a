package io.tollgate.limiter.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.ListKeysResponse;
import io.tollgate.api.v1.ListPlansResponse;
import io.tollgate.api.v1.UpdateKeyRequest;
import io.tollgate.api.v1.UpdateUsageRequest;
import io.tollgate.api.v1.UsagePlan;
import io.tollgate.limiter.api.AdminAuth;
import io.tollgate.limiter.api.PlanMessages;
import io.tollgate.limiter.api.StatusMapping;
import io.tollgate.limiter.decide.Counters;
import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.RuleDump;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.protocol.PlanCheck;
import io.tollgate.limiter.protocol.RequestValidator;
import io.tollgate.limiter.service.PlanAdmin;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The admin endpoints on the HTTP port, as proto3 JSON of the {@code tollgate.v1} messages, and
 * the plan check's {@code /v1/check} ({@link PlanCheckEndpoint}).
 *
 * <pre>
 *   GET    /admin/plans                       → {"plans": [...]}
 *   POST   /admin/plans                       UsagePlan → 201 UsagePlan
 *   GET    /admin/plans/{id}                  → UsagePlan
 *   PUT    /admin/plans/{id}                  UsagePlan → UsagePlan
 *   DELETE /admin/plans/{id}                  → {}
 *   PUT    /admin/plans/{id}/keys/{keyId}     → ApiKey (adds the key to the plan)
 *   DELETE /admin/plans/{id}/keys/{keyId}     → ApiKey (removes it)
 *   GET    /admin/plans/{id}/usage?from=&amp;to=[&amp;key=]   → GetUsageResponse
 *   POST   /admin/plans/{id}/usage/{keyId}    {"remaining": n} or {"reset": true} → QuotaStatus
 *   GET    /admin/keys[?plan=]                → {"keys": [...]}
 *   POST   /admin/keys                        CreateKeyRequest → 201 CreateKeyResponse
 *   GET    /admin/keys/{id}                   → ApiKey
 *   PATCH  /admin/keys/{id}                   {"name": ..., "enabled": ...} → ApiKey
 *   DELETE /admin/keys/{id}                   → {}
 *   GET    /admin/config                      → the loaded rules as text, one limit a line
 *                                             ({@link RuleDump})
 *   GET    /admin/counters?domain=&amp;descriptor=k=v,k2=v2   → the matched rules' counters
 *   DELETE /admin/counters?domain=&amp;descriptor=...         → resets them; the counters after
 *   POST   /admin/counters/reset?domain=&amp;descriptor=...   (the same, for clients without DELETE)
 * </pre>
 *
 * <p>Every /admin request needs {@code Authorization: Bearer <token>} (401 otherwise). Errors are
 * {@code {"error": "<reason>"}} with 400, 401, 404, 405, 409 or 503.
 */
public final class AdminEndpoints {

  private static final int MAX_ADMIN_QUEUED = 256;
  /** How long a counters read or reset waits for the grid (on an admin thread). */
  private static final long COUNTERS_TIMEOUT_SECONDS = 10;
  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(AdminEndpoints.class.getName());

  private final PlanAdmin admin;
  private final PlanCheckEndpoint checks;
  private final AdminAuth auth;
  private final Supplier<RuleSet> rules;
  private final Counters counters;
  /**
   * Admin calls wait on the database: up to 16 threads, created on demand, and at most
   * {@link #MAX_ADMIN_QUEUED} calls waiting for one; past that, 503.
   */
  private final ExecutorService executor = adminPool();
  private final JsonFormat.Parser parser = JsonFormat.parser();
  private final JsonFormat.Printer printer =
      JsonFormat.printer().omittingInsignificantWhitespace().includingDefaultValueFields();

  public AdminEndpoints(PlanAdmin admin, PlanCheck checks, AdminAuth auth,
      Supplier<RuleSet> rules, Counters counters) {
    this.counters = counters;
    this.admin = admin;
    this.checks = new PlanCheckEndpoint(checks);
    this.auth = auth;
    this.rules = rules;
  }

  /** Adds /admin and the plan check's /v1/check ({@link PlanCheckEndpoint}) to the endpoints. */
  public void register(HttpEndpoints http) {
    http.addContext("/admin/", this::dispatchAdmin);
    http.addContext("/v1/check", checks);
  }

  /** Stops the admin pool. */
  public void stop() {
    executor.shutdownNow();
  }

  private static ExecutorService adminPool() {
    ThreadPoolExecutor pool = new ThreadPoolExecutor(16, 16, 30, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(MAX_ADMIN_QUEUED), r -> {
          Thread t = new Thread(r, "tollgate-http-admin");
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** Admin calls read and write the database: they run on the admin pool, never an event loop. */
  private void dispatchAdmin(Exchange exchange) {
    try {
      executor.execute(() -> {
        try {
          admin(exchange);
        } catch (RuntimeException e) {
          error(exchange, 500, "internal error");
        }
      });
    } catch (RejectedExecutionException e) {
      error(exchange, 503, "too many admin requests in progress");
    }
  }

  // ---- /admin

  private void admin(Exchange exchange) {
    String why = auth.refusal(exchange.header("Authorization"));
    if (why != null) {
      exchange.responseHeaders().set("WWW-Authenticate", "Bearer realm=\"tollgate-admin\"");
      error(exchange, 401, why);
      return;
    }
    String method = exchange.method();
    try {
      route(exchange, method, segments(exchange.path()));
    } catch (RuntimeException e) {
      StatusMapping.logIfDatabase(e);
      error(exchange, StatusMapping.httpStatus(e), StatusMapping.message(e));
    }
  }

  private void route(Exchange exchange, String method, String[] p) {
    // p[0] == "admin"
    if (p.length == 2 && p[1].equals("config")) {
      if (method.equals("GET")) {
        exchange.respond(200, "text/plain; charset=utf-8", RuleDump.of(rules.get()));
      } else {
        notAllowed(exchange, "GET");
      }
      return;
    }
    if (p.length >= 2 && p[1].equals("counters")) {
      boolean reset = p.length == 3 && p[2].equals("reset");
      if (p.length == 2 || reset) {
        String allowed = reset ? "POST" : "GET, DELETE";
        if (reset ? !method.equals("POST") : !method.equals("GET") && !method.equals("DELETE")) {
          notAllowed(exchange, allowed);
          return;
        }
        counters(exchange, reset || method.equals("DELETE"));
        return;
      }
    }
    if (p.length >= 2 && p[1].equals("plans")) {
      if (p.length == 2) {
        switch (method) {
          case "GET" -> json(exchange, 200,
              ListPlansResponse.newBuilder()
                  .addAllPlans(PlanMessages.plansToProto(admin.listPlans())).build());
          case "POST" -> {
            UsagePlan plan = parse(exchange, UsagePlan.newBuilder());
            if (plan != null) {
              json(exchange, 201,
                  PlanMessages.toProto(admin.createPlan(PlanMessages.toPlan(plan))));
            }
          }
          default -> notAllowed(exchange, "GET, POST");
        }
        return;
      }
      String id = p[2];
      if (p.length == 3) {
        switch (method) {
          case "GET" -> json(exchange, 200, PlanMessages.toProto(admin.getPlan(id)));
          case "PUT" -> {
            UsagePlan plan = parse(exchange, UsagePlan.newBuilder());
            if (plan != null) {
              if (!plan.getId().isEmpty() && !plan.getId().equals(id)) {
                error(exchange, 400, "id: '" + plan.getId() + "' differs from the path's '"
                    + id + "'");
                return;
              }
              json(exchange, 200, PlanMessages.toProto(admin.updatePlan(
                  PlanMessages.toPlan(plan.toBuilder().setId(id).build()))));
            }
          }
          case "DELETE" -> {
            admin.deletePlan(id);
            send(exchange, 200, "{}");
          }
          default -> notAllowed(exchange, "GET, PUT, DELETE");
        }
        return;
      }
      if (p.length == 5 && p[3].equals("keys")) {
        switch (method) {
          case "PUT" -> json(exchange, 200, PlanMessages.toProto(admin.addKeyToPlan(id, p[4])));
          case "DELETE" -> json(exchange, 200,
              PlanMessages.toProto(admin.removeKeyFromPlan(id, p[4])));
          default -> notAllowed(exchange, "PUT, DELETE");
        }
        return;
      }
      if (p.length == 4 && p[3].equals("usage")) {
        if (!method.equals("GET")) {
          notAllowed(exchange, "GET");
          return;
        }
        Map<String, String> q = query(exchange.rawQuery());
        json(exchange, 200, PlanMessages.toProto(admin.getUsage(id, q.getOrDefault("key", ""),
            q.getOrDefault("from", ""), q.getOrDefault("to", ""))));
        return;
      }
      if (p.length == 5 && p[3].equals("usage")) {
        if (!method.equals("POST")) {
          notAllowed(exchange, "POST");
          return;
        }
        UpdateUsageRequest r = parse(exchange, UpdateUsageRequest.newBuilder());
        if (r != null) {
          json(exchange, 200, PlanMessages.updateUsage(admin,
              r.toBuilder().setPlanId(id).setKeyId(p[4]).build()));
        }
        return;
      }
    } else if (p.length >= 2 && p[1].equals("keys")) {
      if (p.length == 2) {
        switch (method) {
          case "GET" -> {
            String plan = query(exchange.rawQuery()).getOrDefault("plan", "");
            json(exchange, 200,
                ListKeysResponse.newBuilder()
                    .addAllKeys(PlanMessages.keysToProto(admin.listKeys(plan))).build());
          }
          case "POST" -> {
            CreateKeyRequest r = parse(exchange, CreateKeyRequest.newBuilder());
            if (r != null) {
              json(exchange, 201, PlanMessages.createKey(admin, r));
            }
          }
          default -> notAllowed(exchange, "GET, POST");
        }
        return;
      }
      if (p.length == 3) {
        String id = p[2];
        switch (method) {
          case "GET" -> json(exchange, 200, PlanMessages.toProto(admin.getKey(id)));
          case "PATCH" -> {
            UpdateKeyRequest r = parse(exchange, UpdateKeyRequest.newBuilder());
            if (r != null) {
              json(exchange, 200, PlanMessages.toProto(admin.updateKey(id,
                  r.hasName() ? r.getName() : null, r.hasEnabled() ? r.getEnabled() : null)));
            }
          }
          case "DELETE" -> {
            admin.deleteKey(id);
            send(exchange, 200, "{}");
          }
          default -> notAllowed(exchange, "GET, PATCH, DELETE");
        }
        return;
      }
    }
    error(exchange, 404, "no such admin resource: " + exchange.path());
  }

  // ---- /admin/counters

  /** Reads (or resets, then reads) the counters one descriptor matches; see {@link Counters}. */
  private void counters(Exchange exchange, boolean reset) {
    Map<String, String> q = query(exchange.rawQuery());
    String domain = q.get("domain");
    if (domain == null || domain.isEmpty()) {
      error(exchange, 400, "domain: required");
      return;
    }
    if (RequestValidator.tooLong(domain) || !RequestValidator.wellFormed(domain)) {
      error(exchange, 400, "domain: longer than " + RequestValidator.MAX_STRING_BYTES
          + " bytes or not valid UTF-8");
      return;
    }
    Entries descriptor;
    try {
      descriptor = Entries.parse(q.get("descriptor"));
    } catch (IllegalArgumentException e) {
      error(exchange, 400, e.getMessage());
      return;
    }
    List<Counters.Counter> found;
    try {
      found = (reset ? counters.reset(domain, descriptor) : counters.read(domain, descriptor))
          .get(COUNTERS_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error(exchange, 503, "interrupted");
      return;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      error(exchange, 503, "the counters did not answer: " + StatusMapping.message(cause));
      return;
    }
    if (found.isEmpty()) {
      error(exchange, 404, "no rule with a limit matches descriptor '" + q.get("descriptor")
          + "' in domain '" + domain + "'");
      return;
    }
    if (reset) {
      LOG.info("admin: reset " + found.size() + " counter(s) of a descriptor in domain "
          + domain);
    }
    StringBuilder sb = new StringBuilder("{\"domain\":");
    quote(sb, domain).append(",\"descriptor\":[");
    for (int i = 0; i < descriptor.size(); i++) {
      sb.append(i == 0 ? "{\"key\":" : ",{\"key\":");
      quote(sb, descriptor.key(i)).append(",\"value\":");
      quote(sb, descriptor.value(i)).append('}');
    }
    sb.append("],\"reset\":").append(reset).append(",\"counters\":[");
    for (int i = 0; i < found.size(); i++) {
      Counters.Counter c = found.get(i);
      sb.append(i == 0 ? "{\"rule\":" : ",{\"rule\":");
      quote(sb, c.rule()).append(",\"key\":");
      quote(sb, c.key()).append(",\"algorithm\":\"").append(c.algorithm())
          .append("\",\"limit\":").append(c.limit())
          .append(",\"remaining\":").append(c.remaining())
          .append(",\"reset_after_seconds\":")
          .append(c.resetAfterNanos() <= 0 ? 0 : (c.resetAfterNanos() + 999_999_999L) / 1_000_000_000L)
          .append(",\"shadow_mode\":").append(c.shadowMode()).append('}');
    }
    send(exchange, 200, sb.append("]}").toString());
  }

  /** A descriptor given as {@code key=value,key2=value2}. */
  private record Entries(String[] keys, String[] values) implements DescriptorView {

    static Entries parse(String text) {
      if (text == null || text.isEmpty()) {
        throw new IllegalArgumentException(
            "descriptor: required, as key=value,key2=value2");
      }
      String[] parts = text.split(",", -1);
      if (parts.length > RequestValidator.MAX_ENTRIES) {
        throw new IllegalArgumentException("descriptor: has " + parts.length
            + " entries; at most " + RequestValidator.MAX_ENTRIES + " are allowed");
      }
      String[] keys = new String[parts.length];
      String[] values = new String[parts.length];
      for (int i = 0; i < parts.length; i++) {
        int eq = parts[i].indexOf('=');
        keys[i] = eq < 0 ? parts[i] : parts[i].substring(0, eq);
        values[i] = eq < 0 ? "" : parts[i].substring(eq + 1);
        if (keys[i].isEmpty()) {
          throw new IllegalArgumentException("descriptor: entry " + i
              + " has an empty key (expected key=value,key2=value2)");
        }
        for (String s : new String[] {keys[i], values[i]}) {
          if (RequestValidator.tooLong(s) || !RequestValidator.wellFormed(s)) {
            throw new IllegalArgumentException("descriptor: entry " + i + " is longer than "
                + RequestValidator.MAX_STRING_BYTES + " bytes or not valid UTF-8");
          }
        }
      }
      return new Entries(keys, values);
    }

    @Override
    public int size() {
      return keys.length;
    }

    @Override
    public String key(int i) {
      return keys[i];
    }

    @Override
    public String value(int i) {
      return values[i];
    }
  }

  private static String[] segments(String rawPath) {
    String trimmed = rawPath.replaceAll("^/+|/+$", "");
    String[] parts = trimmed.split("/+");
    for (int i = 0; i < parts.length; i++) {
      parts[i] = Utf8.percentDecoded(parts[i], "path");
    }
    return parts;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> out = new HashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = Utf8.percentDecoded(eq < 0 ? pair : pair.substring(0, eq), "query");
      String v = eq < 0 ? "" : Utf8.percentDecoded(pair.substring(eq + 1), "query");
      out.put(k, v);
    }
    return out;
  }

  /** Parses the body into {@code builder}; answers 400 and returns {@code null} when it fails. */
  @SuppressWarnings("unchecked")
  private <T extends Message> T parse(Exchange exchange, Message.Builder builder) {
    try {
      String text = Utf8.decode(exchange.body(), "request body");
      parser.merge(text.isBlank() ? "{}" : text, builder);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      error(exchange, 400, "invalid JSON " + builder.getDescriptorForType().getName() + ": "
          + e.getMessage());
      return null;
    }
    return (T) builder.build();
  }

  private static void notAllowed(Exchange exchange, String allowed) {
    exchange.responseHeaders().set("Allow", allowed);
    error(exchange, 405, "method " + exchange.method() + " not allowed");
  }

  private void json(Exchange exchange, int status, MessageOrBuilder message) {
    try {
      send(exchange, status, printer.print(message));
    } catch (InvalidProtocolBufferException e) {
      error(exchange, 500, "cannot print the answer: " + e.getMessage());
    }
  }

  static void error(Exchange exchange, int status, String message) {
    StringBuilder sb = new StringBuilder("{\"error\":");
    send(exchange, status, quote(sb, message).append('}').toString());
  }

  /** Appends {@code text} as a JSON string. */
  private static StringBuilder quote(StringBuilder sb, String text) {
    sb.append('"');
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"');
  }

  private static void send(Exchange exchange, int status, String body) {
    exchange.respond(status, "application/json", body + "\n");
  }
}
