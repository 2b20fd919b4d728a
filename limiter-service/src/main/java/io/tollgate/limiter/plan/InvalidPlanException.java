package io.tollgate.limiter.plan;

/**
 * A plan, key or throttle that breaks one of {@link PlanRules}. The message is
 * {@code field + ": " + reason}, e.g.
 * {@code usage_plans[0].quota.period: unknown period 'YEAR' (expected DAY, WEEK or MONTH)}; the
 * YAML loader adds the file and line, the admin API maps it to {@code INVALID_ARGUMENT}.
 */
public final class InvalidPlanException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String field;
  private final String reason;

  /**
   * @param field the path of the bad field, as the caller named it ({@code quota.period},
   *     {@code usage_plans[0].quota.period}); may be empty
   * @param reason what is wrong and, where it helps, what was expected
   */
  public InvalidPlanException(String field, String reason) {
    super(field.isEmpty() ? reason : field + ": " + reason);
    this.field = field;
    this.reason = reason;
  }

  /** The path of the bad field. */
  public String field() {
    return field;
  }

  /** What is wrong, without the field. */
  public String reason() {
    return reason;
  }
}
