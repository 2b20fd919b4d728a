package io.tollgate.limiter.plan;

import io.tollgate.limiter.algorithm.CalendarPeriod;
import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The rules every plan, key, stage and throttle must follow, wherever it comes from: the YAML
 * loader and the admin API both call these, so both give the same message for the same mistake.
 *
 * <p>Each method takes the path of the value being checked as the caller names it (the admin API
 * passes {@code quota}, the YAML loader {@code usage_plans[0].quota}) and throws an
 * {@link InvalidPlanException} whose field extends that path to the exact bad field, e.g.
 * {@code usage_plans[0].quota.period} or {@code stages[0].methods["GET /pets"].rate}. A method
 * throttle's path is {@code methods["METHOD /route"]}; list elements are {@code [index]}.
 *
 * <p>The nesting rules follow AWS API Gateway: a stage's throttle and a plan's throttle are never
 * above the account's; a stage's method throttle never above its stage's (or the account's); a
 * plan's method throttle never above the plan's (or the account's). "Above" means a higher rate
 * or a larger burst ({@link Throttle#within}). A key may be in several plans, but no two of them
 * may cover the same API stage, so each request has exactly one plan.
 */
public final class PlanRules {

  /** The highest throttle rate, in requests per second. */
  public static final double MAX_RATE = 1_000_000_000;

  /** The largest throttle burst. */
  public static final long MAX_BURST = 1_000_000_000L;

  /** Decimals a rate may have: a thousandth of a request per second (one every 16.7 minutes). */
  public static final int RATE_DECIMALS = 3;

  /** The highest quota limit, requests per period: 10^15. */
  public static final long MAX_QUOTA_LIMIT = 1_000_000_000_000_000L;

  /** The longest plan or key id. */
  public static final int MAX_ID_LENGTH = 64;

  /** The longest API or stage name. */
  public static final int MAX_NAME_LENGTH = 128;

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1," + MAX_ID_LENGTH + "}");
  private static final Pattern METHOD_KEY = Pattern.compile("(\\*|[A-Z][A-Z0-9_-]*) /\\S*");
  private static final String PERIODS = "DAY, WEEK or MONTH";

  /** The longest method key, {@code "METHOD /route"}, a plan or stage may name. */
  public static final int MAX_METHOD_KEY_LENGTH = 1024;

  private PlanRules() {}

  /**
   * Checks a plan or key id: 1 to {@value #MAX_ID_LENGTH} letters, digits, '-' or '_'.
   *
   * @throws InvalidPlanException naming {@code field}
   */
  public static void checkId(String field, String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new InvalidPlanException(field, "must be 1 to " + MAX_ID_LENGTH
          + " letters, digits, '-' or '_', found " + quote(id));
    }
  }

  /**
   * Checks a throttle on its own: a finite rate above 0, at most {@code 1e9}, with at most
   * {@value #RATE_DECIMALS} decimals; a burst from 1 to {@value #MAX_BURST}.
   *
   * @throws InvalidPlanException naming {@code field.rate} or {@code field.burst}
   */
  public static void checkThrottle(String field, Throttle throttle) {
    if (throttle == null) {
      throw new InvalidPlanException(field, "is required");
    }
    double rate = throttle.rate();
    String rateField = child(field, "rate");
    if (!Double.isFinite(rate)) {
      throw new InvalidPlanException(rateField, "must be a finite number, found " + number(rate));
    }
    if (rate <= 0) {
      throw new InvalidPlanException(rateField, "must be greater than 0, found " + number(rate));
    }
    if (rate > MAX_RATE) {
      throw new InvalidPlanException(rateField, "must be at most " + number(MAX_RATE)
          + ", found " + number(rate));
    }
    if (BigDecimal.valueOf(rate).stripTrailingZeros().scale() > RATE_DECIMALS) {
      throw new InvalidPlanException(rateField, "must have at most " + RATE_DECIMALS
          + " decimals, found " + number(rate));
    }
    long burst = throttle.burst();
    String burstField = child(field, "burst");
    if (burst < 1) {
      throw new InvalidPlanException(burstField, "must be at least 1, found " + burst);
    }
    if (burst > MAX_BURST) {
      throw new InvalidPlanException(burstField, "must be at most " + MAX_BURST + ", found "
          + burst);
    }
  }

  /**
   * Checks a quota: a limit from 0 to 10^15; a period; an offset within the period (DAY only 0,
   * WEEK 0 to 6, MONTH 0 to 27, so every month has the day); a zone.
   *
   * @throws InvalidPlanException naming {@code field.limit}, {@code .period}, {@code .offset} or
   *     {@code .time_zone}
   */
  public static void checkQuota(String field, Quota quota) {
    if (quota == null) {
      throw new InvalidPlanException(field, "is required");
    }
    String limitField = child(field, "limit");
    if (quota.limit() < 0) {
      throw new InvalidPlanException(limitField, "must be at least 0, found " + quota.limit());
    }
    if (quota.limit() > MAX_QUOTA_LIMIT) {
      throw new InvalidPlanException(limitField, "must be at most " + MAX_QUOTA_LIMIT
          + ", found " + quota.limit());
    }
    if (quota.period() == null) {
      throw new InvalidPlanException(child(field, "period"), "is required (expected " + PERIODS
          + ")");
    }
    int maxOffset = maxOffset(quota.period());
    int offset = quota.offset();
    if (offset < 0 || offset > maxOffset) {
      throw new InvalidPlanException(child(field, "offset"), (maxOffset == 0 ? "must be 0"
          : "must be from 0 to " + maxOffset) + " for period " + quota.period() + ", found "
          + offset);
    }
    if (quota.zone() == null) {
      throw new InvalidPlanException(child(field, "time_zone"), "is required");
    }
  }

  /** The highest offset, in days, a quota over {@code period} may start at. */
  public static int maxOffset(CalendarPeriod period) {
    return switch (period) {
      case DAY -> 0;
      case WEEK -> 6;
      case MONTH -> 27;
    };
  }

  /**
   * Parses a quota period: DAY, WEEK or MONTH, in any case.
   *
   * @throws InvalidPlanException naming {@code field}
   */
  public static CalendarPeriod parsePeriod(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw new InvalidPlanException(field, "is required (expected " + PERIODS + ")");
    }
    for (CalendarPeriod p : CalendarPeriod.values()) {
      if (p.name().equalsIgnoreCase(value)) {
        return p;
      }
    }
    throw new InvalidPlanException(field, "unknown period " + quote(value) + " (expected "
        + PERIODS + ")");
  }

  /**
   * Parses a time zone: an IANA name such as {@code Europe/Berlin}, {@code UTC} or an offset such
   * as {@code +02:00}. Empty or {@code null} is UTC.
   *
   * @throws InvalidPlanException naming {@code field} and the zone
   */
  public static ZoneId parseZone(String field, String value) {
    if (value == null || value.isEmpty()) {
      return ZoneId.of("UTC");
    }
    try {
      return ZoneId.of(value);
    } catch (DateTimeException e) {
      throw new InvalidPlanException(field, "unknown time zone " + quote(value)
          + " (expected an IANA zone such as Europe/Berlin, or UTC)");
    }
  }

  /**
   * Checks a method throttle's key: {@code "METHOD /route"}, an upper-case method token (or
   * {@code *} for any method), one space, and a route that starts with '/' and has no
   * whitespace.
   *
   * @throws InvalidPlanException naming {@code field}
   */
  public static void checkMethodKey(String field, String key) {
    if (key != null && key.length() > MAX_METHOD_KEY_LENGTH) {
      throw new InvalidPlanException(field, "longer than " + MAX_METHOD_KEY_LENGTH
          + " characters");
    }
    if (key == null || !METHOD_KEY.matcher(key).matches()) {
      throw new InvalidPlanException(field, "expected \"METHOD /route\" (e.g. \"GET /pets/{id}\""
          + " or \"* /pets\"), found " + quote(key));
    }
  }

  /**
   * Checks an API or stage name: 1 to {@value #MAX_NAME_LENGTH} characters, no '/' and no
   * whitespace.
   *
   * @throws InvalidPlanException naming {@code field}
   */
  public static void checkName(String field, String name) {
    boolean ok = name != null && !name.isEmpty() && name.length() <= MAX_NAME_LENGTH;
    for (int i = 0; ok && i < name.length(); i++) {
      char c = name.charAt(i);
      ok = c != '/' && !Character.isWhitespace(c) && !Character.isISOControl(c);
    }
    if (!ok) {
      throw new InvalidPlanException(field, "must be 1 to " + MAX_NAME_LENGTH
          + " characters without '/' or whitespace, found " + quote(name));
    }
  }

  /**
   * Checks a whole plan: its id, throttle, quota, stages (valid names, none twice) and method
   * throttles; that its throttle is within the account's; and that each method throttle is within
   * the plan's throttle, or the account's if the plan has none.
   *
   * @param field the plan's path, e.g. {@code usage_plans[0]}, or empty
   * @param account the account throttle
   * @throws InvalidPlanException naming the bad field under {@code field}
   */
  public static void checkPlan(String field, UsagePlan plan, Throttle account) {
    checkId(child(field, "id"), plan.id());
    Throttle limit = account;
    String limitName = "the account throttle";
    if (plan.throttle() != null) {
      String throttleField = child(field, "throttle");
      checkThrottle(throttleField, plan.throttle());
      checkWithin(throttleField, plan.throttle(), account, limitName);
      limit = plan.throttle();
      limitName = "the plan throttle";
    }
    if (plan.quota() != null) {
      checkQuota(child(field, "quota"), plan.quota());
    }
    Map<String, Integer> seen = new HashMap<>();
    String stagesField = child(field, "api_stages");
    for (int i = 0; i < plan.apiStages().size(); i++) {
      ApiStage stage = plan.apiStages().get(i);
      String stageField = stagesField + "[" + i + "]";
      checkName(child(stageField, "api"), stage.api());
      checkName(child(stageField, "stage"), stage.stage());
      Integer first = seen.putIfAbsent(stage.id(), i);
      if (first != null) {
        throw new InvalidPlanException(stageField, "stage " + stage.id()
            + " is listed twice (first at " + stagesField + "[" + first + "])");
      }
      checkMethods(stageField, stage.methods(), limit, limitName);
    }
  }

  /**
   * Checks the stage settings: names, throttles and method keys; each stage throttle within the
   * account's; each method throttle within its stage's, or the account's if the stage has none.
   *
   * @param field the list's path, e.g. {@code stages}; the n-th stage in {@code stages}' order
   *     is {@code field[n]}, so pass an ordered map to get the positions of a file
   * @param account the account throttle
   * @param stages stage settings keyed by {@link StageSettings#id()}
   * @throws InvalidPlanException naming the bad field under {@code field}
   */
  public static void checkStages(String field, Throttle account,
      Map<String, StageSettings> stages) {
    int i = 0;
    for (StageSettings stage : stages.values()) {
      String stageField = field + "[" + i++ + "]";
      checkName(child(stageField, "api"), stage.api());
      checkName(child(stageField, "stage"), stage.stage());
      Throttle limit = account;
      String limitName = "the account throttle";
      if (stage.throttle() != null) {
        String throttleField = child(stageField, "throttle");
        checkThrottle(throttleField, stage.throttle());
        checkWithin(throttleField, stage.throttle(), account, limitName);
        limit = stage.throttle();
        limitName = "the stage throttle";
      }
      checkMethods(stageField, stage.methods(), limit, limitName);
    }
  }

  /**
   * Checks the plans of one key: each exists, and no two cover the same API stage (a request to
   * a stage must find exactly one plan of its key).
   *
   * @param field the path of the key's plan list, e.g. {@code api_keys[0].plans} or
   *     {@code plan_ids}
   * @param plans every plan, keyed by id
   * @throws InvalidPlanException naming {@code field}
   */
  public static void checkKeyPlans(String field, Set<String> planIds,
      Map<String, UsagePlan> plans) {
    Map<String, String> coveredBy = new HashMap<>();
    for (String id : new TreeSet<>(planIds)) {
      UsagePlan plan = plans.get(id);
      if (plan == null) {
        throw new InvalidPlanException(field, "unknown plan " + quote(id));
      }
      Set<String> stagesOfPlan = new HashSet<>();
      for (ApiStage stage : plan.apiStages()) {
        if (!stagesOfPlan.add(stage.id())) {
          continue;
        }
        String other = coveredBy.putIfAbsent(stage.id(), id);
        if (other != null) {
          throw new InvalidPlanException(field, quote(other) + " and " + quote(id)
              + " both cover stage " + stage.id());
        }
      }
    }
  }

  private static void checkMethods(String stageField, Map<String, Throttle> methods,
      Throttle limit, String limitName) {
    for (Map.Entry<String, Throttle> m : new TreeMap<>(methods).entrySet()) {
      String methodField = methodField(stageField, m.getKey());
      checkMethodKey(methodField, m.getKey());
      checkThrottle(methodField, m.getValue());
      checkWithin(methodField, m.getValue(), limit, limitName);
    }
  }

  /** {@code stageField.methods["KEY"]}: the path of one method throttle. */
  public static String methodField(String stageField, String key) {
    return child(stageField, "methods") + "[\"" + key + "\"]";
  }

  private static void checkWithin(String field, Throttle throttle, Throttle limit,
      String limitName) {
    if (throttle.rate() > limit.rate()) {
      throw new InvalidPlanException(child(field, "rate"), number(throttle.rate())
          + " exceeds " + limitName + "'s rate " + number(limit.rate()));
    }
    if (throttle.burst() > limit.burst()) {
      throw new InvalidPlanException(child(field, "burst"), throttle.burst() + " exceeds "
          + limitName + "'s burst " + limit.burst());
    }
  }

  private static String child(String field, String name) {
    return field.isEmpty() ? name : field + "." + name;
  }

  /** A rate as written: {@code 2000}, {@code 0.5}, never {@code 2000.0} or {@code 1E+3}. */
  static String number(double value) {
    if (!Double.isFinite(value)) {
      return Double.toString(value);
    }
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }

  private static String quote(String value) {
    return value == null ? "nothing" : "'" + value + "'";
  }
}
