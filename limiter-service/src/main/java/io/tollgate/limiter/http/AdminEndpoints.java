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
import io.tollgate.limiter.rule.RuleDump;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.service.PlanCheck;
import io.tollgate.limiter.service.PlanAdmin;
import java.util.HashMap;
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
 * </pre>
 *
 * <p>Every /admin request needs {@code Authorization: Bearer <token>} (401 otherwise). Errors are
 * {@code {"error": "<reason>"}} with 400, 401, 404, 405, 409 or 503.
 */
public final class AdminEndpoints {

  private static final int MAX_ADMIN_QUEUED = 256;

  private final PlanAdmin admin;
  private final PlanCheckEndpoint checks;
  private final AdminAuth auth;
  private final Supplier<RuleSet> rules;
  /**
   * Admin calls wait on the database: up to 16 threads, created on demand, and at most
   * {@link #MAX_ADMIN_QUEUED} calls waiting for one; past that, 503.
   */
  private final ExecutorService executor = adminPool();
  private final JsonFormat.Parser parser = JsonFormat.parser();
  private final JsonFormat.Printer printer =
      JsonFormat.printer().omittingInsignificantWhitespace().includingDefaultValueFields();

  public AdminEndpoints(PlanAdmin admin, PlanCheck checks, AdminAuth auth,
      Supplier<RuleSet> rules) {
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
