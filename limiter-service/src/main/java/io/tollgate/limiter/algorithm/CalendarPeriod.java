package io.tollgate.limiter.algorithm;

/** The calendar periods a quota can count over. */
public enum CalendarPeriod {
  DAY,
  WEEK,
  MONTH
}
