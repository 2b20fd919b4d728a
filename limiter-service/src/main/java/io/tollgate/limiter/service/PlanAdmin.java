package io.tollgate.limiter.service;

import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.decide.LimitKeys;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.InvalidPlanException;
import io.tollgate.limiter.plan.PlanRules;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.UsagePlan;
import io.tollgate.limiter.store.CatalogStore;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * The admin operations on plans, keys and usage, shared by the gRPC and HTTP transports. It
 * speaks in the plan model's types; the transports map their messages to and from them
 * ({@code api.PlanMessages}).
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

  /** Creates a plan (not declared); fields already parsed, checked here against the rest. */
  public UsagePlan createPlan(UsagePlan request) {
    UsagePlan plan = checked(request);
    return store.withAdminLock(() -> {
      if (catalog.config().plans().containsKey(plan.id())) {
        throw AdminException.conflict("plan '" + plan.id() + "' is declared in the config");
      }
      if (store.putPlanIfAbsent(plan) != null) {
        throw AdminException.conflict("plan '" + plan.id() + "' exists");
      }
      store.broadcastPlansChanged();
      LOG.info("admin: created plan " + plan.id());
      return plan;
    });
  }

  public UsagePlan getPlan(String id) {
    return existingPlan(id);
  }

  /** Every plan, declared and stored, by id. */
  public List<UsagePlan> listPlans() {
    return catalog.plans().values().stream()
        .sorted(java.util.Comparator.comparing(UsagePlan::id)).toList();
  }

  public UsagePlan updatePlan(UsagePlan request) {
    UsagePlan plan = checked(request);
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
      return plan;
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

  /** The plan as stored through the API (never declared), checked against the config. */
  private UsagePlan checked(UsagePlan p) {
    try {
      PlanRules.checkId("id", p.id());
      if (p.name() != null && p.name().length() > 128) {
        throw AdminException.invalid("name: longer than 128 characters");
      }
      if (p.description() != null && p.description().length() > 1024) {
        throw AdminException.invalid("description: longer than 1024 characters");
      }
      UsagePlan plan = new UsagePlan(p.id(), p.name(), p.description(), p.throttle(), p.quota(),
          p.apiStages(), false);
      PlanRules.checkPlan("", plan, catalog.config().accountThrottle());
      return plan;
    } catch (InvalidPlanException e) {
      throw AdminException.invalid(e.getMessage());
    }
  }

  // ---- keys

  /**
   * A key just created, with its value: the only time the value is known.
   *
   * @param key the key as stored
   * @param value the key's value
   */
  public record CreatedKey(ApiKey key, String value) {}

  /**
   * Creates a key.
   *
   * @param value an imported value, or empty to generate one
   * @param enabled {@code null} for enabled
   */
  public CreatedKey createKey(String name, String value, Collection<String> planIds,
      Boolean enabled) {
    boolean imported = !value.isEmpty();
    if (name.isBlank() || name.length() > 128) {
      throw AdminException.invalid("name: required, at most 128 characters");
    }
    if (value.isEmpty()) {
      value = ApiKeys.generate();
    } else if (value.length() < ApiKeys.MIN_IMPORTED_LENGTH || value.length() > ApiKeys.MAX_LENGTH
        || !value.chars().allMatch(c -> c > ' ' && c < 127)) {
      throw AdminException.invalid("value: an imported key must have "
          + ApiKeys.MIN_IMPORTED_LENGTH + " to " + ApiKeys.MAX_LENGTH
          + " printable ASCII characters without spaces");
    }
    String hash = ApiKeys.hash(value);
    Set<String> plans = new TreeSet<>(planIds);
    for (String p : plans) {
      requireId("plan_ids", p);
    }
    ApiKey key = new ApiKey(ApiKeys.newId(), name, hash, enabled == null || enabled, plans,
        Instant.ofEpochMilli(clock.epochNanos() / 1_000_000), false);
    String shown = value;
    return store.withAdminLock(() -> {
      checkKeyPlans("plan_ids", plans, catalog.plans());
      if (catalog.config().keys().containsKey(hash) || store.putKeyIfAbsent(key) != null) {
        throw AdminException.conflict("a key with this value exists");
      }
      store.broadcastKeyChanged(hash);
      LOG.info("admin: created key " + key.id() + " in plans " + key.planIds()
          + (imported ? " (imported)" : ""));
      return new CreatedKey(key, shown);
    });
  }

  public ApiKey getKey(String id) {
    return existingKey(id);
  }

  /** Every key, or those in {@code planId} when it is not empty. */
  public List<ApiKey> listKeys(String planId) {
    if (!planId.isEmpty()) {
      existingPlan(planId);
    }
    return catalog.keys().stream()
        .filter(k -> planId.isEmpty() || k.planIds().contains(planId)).toList();
  }

  /**
   * Renames, enables or disables a key.
   *
   * @param name the new name, or {@code null} to keep it
   * @param enabled the new state, or {@code null} to keep it
   */
  public ApiKey updateKey(String id, String name, Boolean enabled) {
    if (name != null && (name.isBlank() || name.length() > 128)) {
      throw AdminException.invalid("name: must have 1 to 128 characters");
    }
    return changeKey(id, k -> {
      ApiKey out = k;
      if (name != null) {
        out = out.withName(name);
      }
      if (enabled != null) {
        out = out.withEnabled(enabled);
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

  public ApiKey addKeyToPlan(String planId, String keyId) {
    requireId("plan_id", planId);
    return changeKey(keyId, k -> {
      existingPlan(planId);
      Set<String> plans = new TreeSet<>(k.planIds());
      if (!plans.add(planId)) {
        throw AdminException.conflict("key '" + k.id() + "' is already in plan '"
            + planId + "'");
      }
      checkKeyPlans("plan_id", plans, catalog.plans());
      return k.withPlans(plans);
    });
  }

  public ApiKey removeKeyFromPlan(String planId, String keyId) {
    requireId("plan_id", planId);
    return changeKey(keyId, k -> {
      Set<String> plans = new TreeSet<>(k.planIds());
      if (!plans.remove(planId)) {
        throw AdminException.notFound("key '" + k.id() + "' is not in plan '" + planId
            + "'");
      }
      return k.withPlans(plans);
    });
  }

  private ApiKey changeKey(String id,
      java.util.function.UnaryOperator<ApiKey> change) {
    return store.withAdminLock(() -> {
      ApiKey k = writableKey(id);
      ApiKey changed = change.apply(k);
      store.putKey(changed);
      store.broadcastKeyChanged(changed.hash());
      LOG.info("admin: changed key " + id + ": enabled=" + changed.enabled() + ", plans="
          + changed.planIds());
      return changed;
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

  // ---- usage

  /**
   * A plan's usage report.
   *
   * @param plan the plan
   * @param from the first day, inclusive
   * @param to the last day, inclusive
   * @param keys per key, in the order reported
   */
  public record Usage(UsagePlan plan, LocalDate from, LocalDate to, List<KeyUsage> keys) {}

  /**
   * One key's usage.
   *
   * @param days requests per day; days without requests are absent
   * @param quota the quota as it stands, or {@code null} when the plan has none
   */
  public record KeyUsage(ApiKey key, SortedMap<LocalDate, Long> days, QuotaSnapshot quota) {}

  /**
   * The requests per day of a plan's keys (or of one, {@code keyId} not empty), with their quota.
   *
   * @param fromDate the first day, {@code YYYY-MM-DD}
   * @param toDate the last day, {@code YYYY-MM-DD}
   */
  public Usage getUsage(String planId, String keyId, String fromDate, String toDate) {
    UsagePlan plan = existingPlan(planId);
    LocalDate from = date("from", fromDate);
    LocalDate to = date("to", toDate);
    if (to.isBefore(from)) {
      throw AdminException.invalid("to: " + to + " is before from " + from);
    }
    long days = ChronoUnit.DAYS.between(from, to) + 1;
    if (days > MAX_USAGE_DAYS) {
      throw AdminException.invalid("to: the range spans " + days + " days; at most "
          + MAX_USAGE_DAYS);
    }
    List<ApiKey> keys = new ArrayList<>();
    if (keyId.isEmpty()) {
      for (ApiKey k : catalog.keys()) {
        if (k.planIds().contains(plan.id())) {
          keys.add(k);
        }
      }
    } else {
      ApiKey k = existingKey(keyId);
      if (!k.planIds().contains(plan.id())) {
        throw AdminException.notFound("key '" + k.id() + "' is not in plan '" + plan.id() + "'");
      }
      keys.add(k);
    }
    Collection<String> ids = keys.stream().map(ApiKey::id).toList();
    Map<String, SortedMap<LocalDate, Long>> usage = ids.isEmpty() ? Map.of()
        : store.dailyUsage(plan.id(), ids, from, to);
    CalendarQuota quota = plan.quota() == null ? null : calendar(plan.quota());
    List<KeyUsage> out = new ArrayList<>(keys.size());
    for (ApiKey k : keys) {
      SortedMap<LocalDate, Long> perDay = usage.getOrDefault(k.id(), new java.util.TreeMap<>());
      out.add(new KeyUsage(k, perDay, quota == null ? null
          : store.readQuota(LimitKeys.quota(plan.id(), k.id()), quota)));
    }
    return new Usage(plan, from, to, out);
  }

  /**
   * Sets what remains of a key's quota in the current period, or resets its count.
   *
   * @param remaining what remains, or {@code null} to reset the period's count to zero
   */
  public QuotaSnapshot updateUsage(String planId, String keyId, Long remaining) {
    UsagePlan plan = existingPlan(planId);
    ApiKey k = existingKey(keyId);
    if (!k.planIds().contains(plan.id())) {
      throw AdminException.notFound("key '" + k.id() + "' is not in plan '" + plan.id() + "'");
    }
    if (plan.quota() == null) {
      throw AdminException.invalid("plan_id: plan '" + plan.id() + "' has no quota");
    }
    if (remaining != null && remaining < 0) {
      throw AdminException.invalid("remaining: " + remaining + " is negative");
    }
    QuotaSnapshot after = store.adjustQuota(LimitKeys.quota(plan.id(), k.id()),
        calendar(plan.quota()), remaining);
    LOG.info("admin: " + (remaining == null ? "reset" : "set remaining " + remaining)
        + " of the quota of key " + k.id() + " in plan " + plan.id());
    return after;
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
    } catch (java.time.format.DateTimeParseException e) {
      throw AdminException.invalid(field + ": '" + value + "' is not a date (YYYY-MM-DD)");
    }
  }
}
