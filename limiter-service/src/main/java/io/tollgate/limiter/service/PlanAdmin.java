package io.tollgate.limiter.service;

import com.google.protobuf.Timestamp;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.DailyUsage;
import io.tollgate.api.v1.GetUsageRequest;
import io.tollgate.api.v1.GetUsageResponse;
import io.tollgate.api.v1.KeyPlanRequest;
import io.tollgate.api.v1.KeyUsage;
import io.tollgate.api.v1.QuotaStatus;
import io.tollgate.api.v1.UpdateKeyRequest;
import io.tollgate.api.v1.UpdateUsageRequest;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.InvalidPlanException;
import io.tollgate.limiter.plan.PlanRules;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import io.tollgate.limiter.store.CatalogStore;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * The admin operations on plans, keys and usage, shared by the gRPC and HTTP transports.
 *
 * <p>Every change is validated completely before anything is written, runs under the
 * cluster-wide admin lock (so two admins cannot, say, put one key into two plans covering the
 * same stage at once), is written through to the database, and is announced to every member
 * before the call returns. Plans and keys declared in the YAML config are read-only here.
 */
public final class PlanAdmin {

  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(PlanAdmin.class.getName());

  /** The longest range a usage report may span. */
  static final int MAX_USAGE_DAYS = 90;

  private final Catalog catalog;
  private final CatalogStore store;
  private final WallClock clock;

  public PlanAdmin(Catalog catalog, WallClock clock) {
    this.catalog = catalog;
    this.store = catalog.store();
    this.clock = clock;
  }

  // ---- plans

  public io.tollgate.api.v1.UsagePlan createPlan(io.tollgate.api.v1.UsagePlan request) {
    UsagePlan plan = toPlan(request);
    return store.withAdminLock(() -> {
      if (catalog.config().plans().containsKey(plan.id())) {
        throw AdminException.conflict("plan '" + plan.id() + "' is declared in the config");
      }
      if (store.putPlanIfAbsent(plan) != null) {
        throw AdminException.conflict("plan '" + plan.id() + "' exists");
      }
      store.broadcastPlansChanged();
      LOG.info("admin: created plan " + plan.id());
      return toProto(plan);
    });
  }

  public io.tollgate.api.v1.UsagePlan getPlan(String id) {
    return toProto(existingPlan(id));
  }

  public List<io.tollgate.api.v1.UsagePlan> listPlans() {
    return catalog.plans().values().stream()
        .sorted(java.util.Comparator.comparing(UsagePlan::id))
        .map(PlanAdmin::toProto).toList();
  }

  public io.tollgate.api.v1.UsagePlan updatePlan(io.tollgate.api.v1.UsagePlan request) {
    UsagePlan plan = toPlan(request);
    return store.withAdminLock(() -> {
      UsagePlan old = existingPlan(plan.id());
      if (old.declared()) {
        throw AdminException.conflict("plan '" + plan.id()
            + "' is declared in the config; change it there");
      }
      // Every key in the plan must still satisfy the one-plan-per-stage rule.
      Map<String, UsagePlan> plans = catalog.plans();
      plans.put(plan.id(), plan);
      for (ApiKey k : catalog.keys()) {
        if (k.planIds().contains(plan.id())) {
          checkKeyPlans("api_stages", k.planIds(), plans);
        }
      }
      store.putPlan(plan);
      store.broadcastPlansChanged();
      LOG.info("admin: updated plan " + plan.id());
      return toProto(plan);
    });
  }

  public void deletePlan(String id) {
    store.withAdminLock(() -> {
      UsagePlan old = existingPlan(id);
      if (old.declared()) {
        throw AdminException.conflict("plan '" + id
            + "' is declared in the config; remove it there");
      }
      long members = catalog.keys().stream().filter(k -> k.planIds().contains(id)).count();
      if (members > 0) {
        throw AdminException.conflict("plan '" + id + "' has " + members
            + " key(s); remove them from the plan first");
      }
      store.deletePlan(id);
      store.broadcastPlansChanged();
      LOG.info("admin: deleted plan " + id);
      return null;
    });
  }

  private UsagePlan existingPlan(String id) {
    requireId("id", id);
    UsagePlan p = catalog.plan(id);
    if (p == null) {
      throw AdminException.notFound("plan '" + id + "' not found");
    }
    return p;
  }

  private UsagePlan toPlan(io.tollgate.api.v1.UsagePlan p) {
    try {
      PlanRules.checkId("id", p.getId());
      Throttle throttle = p.hasThrottle() ? throttle(p.getThrottle()) : null;
      Quota quota = null;
      if (p.hasQuota()) {
        io.tollgate.api.v1.Quota q = p.getQuota();
        quota = new Quota(q.getLimit(), PlanRules.parsePeriod("quota.period", q.getPeriod()),
            q.getOffset(), PlanRules.parseZone("quota.time_zone", q.getTimeZone()));
      }
      List<ApiStage> stages = new ArrayList<>();
      for (io.tollgate.api.v1.ApiStage s : p.getApiStagesList()) {
        Map<String, Throttle> methods = new LinkedHashMap<>();
        s.getMethodsMap().forEach((k, v) -> methods.put(k, throttle(v)));
        stages.add(new ApiStage(s.getApi(), s.getStage(), methods));
      }
      if (p.getName().length() > 128) {
        throw AdminException.invalid("name: longer than 128 characters");
      }
      if (p.getDescription().length() > 1024) {
        throw AdminException.invalid("description: longer than 1024 characters");
      }
      UsagePlan plan = new UsagePlan(p.getId(), p.getName(), p.getDescription(), throttle, quota,
          stages, false);
      PlanRules.checkPlan("", plan, catalog.config().accountThrottle());
      return plan;
    } catch (InvalidPlanException e) {
      throw AdminException.invalid(e.getMessage());
    }
  }

  private static Throttle throttle(io.tollgate.api.v1.Throttle t) {
    return new Throttle(t.getRate(), t.getBurst());
  }

  static io.tollgate.api.v1.UsagePlan toProto(UsagePlan p) {
    io.tollgate.api.v1.UsagePlan.Builder b = io.tollgate.api.v1.UsagePlan.newBuilder()
        .setId(p.id()).setName(nullToEmpty(p.name())).setDescription(nullToEmpty(p.description()))
        .setDeclaredInConfig(p.declared());
    if (p.throttle() != null) {
      b.setThrottle(toProto(p.throttle()));
    }
    if (p.quota() != null) {
      b.setQuota(io.tollgate.api.v1.Quota.newBuilder().setLimit(p.quota().limit())
          .setPeriod(p.quota().period().name()).setOffset(p.quota().offset())
          .setTimeZone(p.quota().zone().getId()));
    }
    for (ApiStage s : p.apiStages()) {
      io.tollgate.api.v1.ApiStage.Builder sb = io.tollgate.api.v1.ApiStage.newBuilder()
          .setApi(s.api()).setStage(s.stage());
      s.methods().forEach((k, v) -> sb.putMethods(k, toProto(v)));
      b.addApiStages(sb);
    }
    return b.build();
  }

  private static io.tollgate.api.v1.Throttle toProto(Throttle t) {
    return io.tollgate.api.v1.Throttle.newBuilder().setRate(t.rate()).setBurst(t.burst()).build();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  // ---- keys

  public CreateKeyResponse createKey(CreateKeyRequest r) {
    String name = r.getName();
    if (name.isBlank() || name.length() > 128) {
      throw AdminException.invalid("name: required, at most 128 characters");
    }
    String value = r.getValue();
    if (value.isEmpty()) {
      value = ApiKeys.generate();
    } else if (value.length() < ApiKeys.MIN_IMPORTED_LENGTH || value.length() > ApiKeys.MAX_LENGTH
        || !value.chars().allMatch(c -> c > ' ' && c < 127)) {
      throw AdminException.invalid("value: an imported key must have "
          + ApiKeys.MIN_IMPORTED_LENGTH + " to " + ApiKeys.MAX_LENGTH
          + " printable ASCII characters without spaces");
    }
    String hash = ApiKeys.hash(value);
    Set<String> plans = new TreeSet<>(r.getPlanIdsList());
    for (String p : plans) {
      requireId("plan_ids", p);
    }
    ApiKey key = new ApiKey(ApiKeys.newId(), name, hash, !r.hasEnabled() || r.getEnabled(), plans,
        Instant.ofEpochMilli(clock.epochNanos() / 1_000_000), false);
    String shown = value;
    return store.withAdminLock(() -> {
      checkKeyPlans("plan_ids", plans, catalog.plans());
      if (catalog.config().keys().containsKey(hash) || store.putKeyIfAbsent(key) != null) {
        throw AdminException.conflict("a key with this value exists");
      }
      store.broadcastKeyChanged(hash);
      LOG.info("admin: created key " + key.id() + " in plans " + key.planIds()
          + (r.getValue().isEmpty() ? "" : " (imported)"));
      return CreateKeyResponse.newBuilder().setKey(toProto(key)).setValue(shown).build();
    });
  }

  public io.tollgate.api.v1.ApiKey getKey(String id) {
    return toProto(existingKey(id));
  }

  public List<io.tollgate.api.v1.ApiKey> listKeys(String planId) {
    if (!planId.isEmpty()) {
      existingPlan(planId);
    }
    return catalog.keys().stream()
        .filter(k -> planId.isEmpty() || k.planIds().contains(planId))
        .map(PlanAdmin::toProto).toList();
  }

  public io.tollgate.api.v1.ApiKey updateKey(UpdateKeyRequest r) {
    if (r.hasName() && (r.getName().isBlank() || r.getName().length() > 128)) {
      throw AdminException.invalid("name: must have 1 to 128 characters");
    }
    return changeKey(r.getId(), k -> {
      ApiKey out = k;
      if (r.hasName()) {
        out = out.withName(r.getName());
      }
      if (r.hasEnabled()) {
        out = out.withEnabled(r.getEnabled());
      }
      return out;
    });
  }

  public void deleteKey(String id) {
    store.withAdminLock(() -> {
      ApiKey k = writableKey(id);
      store.deleteKey(k.hash());
      store.broadcastKeyChanged(k.hash());
      LOG.info("admin: deleted key " + id);
      return null;
    });
  }

  public io.tollgate.api.v1.ApiKey addKeyToPlan(KeyPlanRequest r) {
    requireId("plan_id", r.getPlanId());
    return changeKey(r.getKeyId(), k -> {
      existingPlan(r.getPlanId());
      Set<String> plans = new TreeSet<>(k.planIds());
      if (!plans.add(r.getPlanId())) {
        throw AdminException.conflict("key '" + k.id() + "' is already in plan '"
            + r.getPlanId() + "'");
      }
      checkKeyPlans("plan_id", plans, catalog.plans());
      return k.withPlans(plans);
    });
  }

  public io.tollgate.api.v1.ApiKey removeKeyFromPlan(KeyPlanRequest r) {
    requireId("plan_id", r.getPlanId());
    return changeKey(r.getKeyId(), k -> {
      Set<String> plans = new TreeSet<>(k.planIds());
      if (!plans.remove(r.getPlanId())) {
        throw AdminException.notFound("key '" + k.id() + "' is not in plan '" + r.getPlanId()
            + "'");
      }
      return k.withPlans(plans);
    });
  }

  private io.tollgate.api.v1.ApiKey changeKey(String id,
      java.util.function.UnaryOperator<ApiKey> change) {
    return store.withAdminLock(() -> {
      ApiKey k = writableKey(id);
      ApiKey changed = change.apply(k);
      store.putKey(changed);
      store.broadcastKeyChanged(changed.hash());
      LOG.info("admin: changed key " + id + ": enabled=" + changed.enabled() + ", plans="
          + changed.planIds());
      return toProto(changed);
    });
  }

  private ApiKey existingKey(String id) {
    requireId("id", id);
    ApiKey k = catalog.keyById(id);
    if (k == null) {
      throw AdminException.notFound("key '" + id + "' not found");
    }
    return k;
  }

  private ApiKey writableKey(String id) {
    ApiKey k = existingKey(id);
    if (k.declared()) {
      throw AdminException.conflict("key '" + id + "' is declared in the config; change it there");
    }
    return k;
  }

  private static void checkKeyPlans(String field, Set<String> plans,
      Map<String, UsagePlan> all) {
    try {
      PlanRules.checkKeyPlans(field, plans, all);
    } catch (InvalidPlanException e) {
      throw AdminException.invalid(e.getMessage());
    }
  }

  private static void requireId(String field, String id) {
    try {
      PlanRules.checkId(field, id);
    } catch (InvalidPlanException e) {
      throw AdminException.invalid(e.getMessage());
    }
  }

  static io.tollgate.api.v1.ApiKey toProto(ApiKey k) {
    return io.tollgate.api.v1.ApiKey.newBuilder().setId(k.id()).setName(nullToEmpty(k.name()))
        .setEnabled(k.enabled()).addAllPlanIds(k.planIds())
        .setCreatedAt(Timestamp.newBuilder().setSeconds(k.createdAt().getEpochSecond())
            .setNanos(k.createdAt().getNano()))
        .setDeclaredInConfig(k.declared()).build();
  }

  // ---- usage

  public GetUsageResponse getUsage(GetUsageRequest r) {
    UsagePlan plan = existingPlan(r.getPlanId());
    LocalDate from = date("from", r.getFrom());
    LocalDate to = date("to", r.getTo());
    if (to.isBefore(from)) {
      throw AdminException.invalid("to: " + to + " is before from " + from);
    }
    long days = ChronoUnit.DAYS.between(from, to) + 1;
    if (days > MAX_USAGE_DAYS) {
      throw AdminException.invalid("to: the range spans " + days + " days; at most "
          + MAX_USAGE_DAYS);
    }
    List<ApiKey> keys = new ArrayList<>();
    if (r.getKeyId().isEmpty()) {
      for (ApiKey k : catalog.keys()) {
        if (k.planIds().contains(plan.id())) {
          keys.add(k);
        }
      }
    } else {
      ApiKey k = existingKey(r.getKeyId());
      if (!k.planIds().contains(plan.id())) {
        throw AdminException.notFound("key '" + k.id() + "' is not in plan '" + plan.id() + "'");
      }
      keys.add(k);
    }
    Collection<String> ids = keys.stream().map(ApiKey::id).toList();
    Map<String, SortedMap<LocalDate, Long>> usage = ids.isEmpty() ? Map.of()
        : store.dailyUsage(plan.id(), ids, from, to);
    GetUsageResponse.Builder b = GetUsageResponse.newBuilder().setPlanId(plan.id())
        .setFrom(from.toString()).setTo(to.toString());
    CalendarQuota quota = plan.quota() == null ? null : calendar(plan.quota());
    for (ApiKey k : keys) {
      KeyUsage.Builder kb = KeyUsage.newBuilder().setKeyId(k.id()).setKeyName(nullToEmpty(k.name()));
      SortedMap<LocalDate, Long> perDay = usage.getOrDefault(k.id(), new java.util.TreeMap<>());
      for (LocalDate d = from; !d.isAfter(to); d = d.plusDays(1)) {
        kb.addDays(DailyUsage.newBuilder().setDate(d.toString())
            .setRequests(perDay.getOrDefault(d, 0L)));
      }
      if (quota != null) {
        kb.setQuota(toProto(store.readQuota(CheckService.quotaKey(plan.id(), k.id()), quota)));
      }
      b.addKeys(kb);
    }
    return b.build();
  }

  public QuotaStatus updateUsage(UpdateUsageRequest r) {
    UsagePlan plan = existingPlan(r.getPlanId());
    ApiKey k = existingKey(r.getKeyId());
    if (!k.planIds().contains(plan.id())) {
      throw AdminException.notFound("key '" + k.id() + "' is not in plan '" + plan.id() + "'");
    }
    if (plan.quota() == null) {
      throw AdminException.invalid("plan_id: plan '" + plan.id() + "' has no quota");
    }
    Long remaining;
    switch (r.getChangeCase()) {
      case REMAINING -> {
        if (r.getRemaining() < 0) {
          throw AdminException.invalid("remaining: " + r.getRemaining() + " is negative");
        }
        remaining = r.getRemaining();
      }
      case RESET -> {
        if (!r.getReset()) {
          throw AdminException.invalid("reset: must be true when given");
        }
        remaining = null;
      }
      default -> throw AdminException.invalid("remaining or reset: one is required");
    }
    QuotaSnapshot after = store.adjustQuota(CheckService.quotaKey(plan.id(), k.id()),
        calendar(plan.quota()), remaining);
    LOG.info("admin: " + (remaining == null ? "reset" : "set remaining " + remaining)
        + " of the quota of key " + k.id() + " in plan " + plan.id());
    return toProto(after);
  }

  private static CalendarQuota calendar(Quota q) {
    return new CalendarQuota(q.limit(), q.period(), q.offset(), q.zone());
  }

  private static LocalDate date(String field, String value) {
    if (value.isEmpty()) {
      throw AdminException.invalid(field + ": required (YYYY-MM-DD)");
    }
    try {
      return LocalDate.parse(value);
    } catch (DateTimeParseException e) {
      throw AdminException.invalid(field + ": '" + value + "' is not a date (YYYY-MM-DD)");
    }
  }

  static QuotaStatus toProto(QuotaSnapshot s) {
    return QuotaStatus.newBuilder().setLimit(s.limit()).setUsed(s.used())
        .setRemaining(s.remaining())
        .setPeriodStart(Timestamp.newBuilder().setSeconds(s.periodStart()))
        .setPeriodEnd(Timestamp.newBuilder().setSeconds(s.periodEnd())).build();
  }
}
