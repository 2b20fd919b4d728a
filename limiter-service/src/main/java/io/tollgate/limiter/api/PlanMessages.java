package io.tollgate.limiter.api;

import com.google.protobuf.Timestamp;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.DailyUsage;
import io.tollgate.api.v1.GetUsageResponse;
import io.tollgate.api.v1.KeyUsage;
import io.tollgate.api.v1.QuotaStatus;
import io.tollgate.api.v1.UpdateUsageRequest;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.InvalidPlanException;
import io.tollgate.limiter.plan.PlanRules;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import io.tollgate.limiter.service.AdminException;
import io.tollgate.limiter.service.PlanAdmin;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * The {@code tollgate.v1} admin messages to and from the plan model that {@link PlanAdmin}
 * speaks, for the gRPC and HTTP transports alike. A message that cannot become a model value
 * (an unknown period, a bad time zone) is an {@link AdminException} of kind {@code INVALID}
 * naming the field.
 */
public final class PlanMessages {

  private PlanMessages() {}

  /** A plan as the API sends it: parsed, not yet checked against the config. */
  public static UsagePlan toPlan(io.tollgate.api.v1.UsagePlan p) {
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
      return new UsagePlan(p.getId(), p.getName(), p.getDescription(), throttle, quota, stages,
          false);
    } catch (InvalidPlanException e) {
      throw invalid(e.getMessage());
    }
  }

  private static Throttle throttle(io.tollgate.api.v1.Throttle t) {
    return new Throttle(t.getRate(), t.getBurst());
  }

  /** A plan as the API shows it. */
  public static io.tollgate.api.v1.UsagePlan toProto(UsagePlan p) {
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

  /** Plans as the API shows them. */
  public static List<io.tollgate.api.v1.UsagePlan> plansToProto(List<UsagePlan> plans) {
    return plans.stream().map(PlanMessages::toProto).toList();
  }

  private static io.tollgate.api.v1.Throttle toProto(Throttle t) {
    return io.tollgate.api.v1.Throttle.newBuilder().setRate(t.rate()).setBurst(t.burst()).build();
  }

  /** Creates the key a {@code CreateKeyRequest} asks for. */
  public static CreateKeyResponse createKey(PlanAdmin admin, CreateKeyRequest r) {
    PlanAdmin.CreatedKey created = admin.createKey(r.getName(), r.getValue(),
        r.getPlanIdsList(), r.hasEnabled() ? r.getEnabled() : null);
    return CreateKeyResponse.newBuilder().setKey(toProto(created.key()))
        .setValue(created.value()).build();
  }

  /** A key as the API shows it: never its value or hash. */
  public static io.tollgate.api.v1.ApiKey toProto(ApiKey k) {
    return io.tollgate.api.v1.ApiKey.newBuilder().setId(k.id()).setName(nullToEmpty(k.name()))
        .setEnabled(k.enabled()).addAllPlanIds(k.planIds())
        .setCreatedAt(Timestamp.newBuilder().setSeconds(k.createdAt().getEpochSecond())
            .setNanos(k.createdAt().getNano()))
        .setDeclaredInConfig(k.declared()).build();
  }

  /** Keys as the API shows them. */
  public static List<io.tollgate.api.v1.ApiKey> keysToProto(List<ApiKey> keys) {
    return keys.stream().map(PlanMessages::toProto).toList();
  }

  /** A usage report, with every day of its range (zero where none was counted). */
  public static GetUsageResponse toProto(PlanAdmin.Usage u) {
    GetUsageResponse.Builder b = GetUsageResponse.newBuilder().setPlanId(u.plan().id())
        .setFrom(u.from().toString()).setTo(u.to().toString());
    for (PlanAdmin.KeyUsage k : u.keys()) {
      KeyUsage.Builder kb = KeyUsage.newBuilder().setKeyId(k.key().id())
          .setKeyName(nullToEmpty(k.key().name()));
      SortedMap<LocalDate, Long> perDay = k.days();
      for (LocalDate d = u.from(); !d.isAfter(u.to()); d = d.plusDays(1)) {
        kb.addDays(DailyUsage.newBuilder().setDate(d.toString())
            .setRequests(perDay.getOrDefault(d, 0L)));
      }
      if (k.quota() != null) {
        kb.setQuota(toProto(k.quota()));
      }
      b.addKeys(kb);
    }
    return b.build();
  }

  /** Applies an {@code UpdateUsageRequest}: exactly one of remaining and reset. */
  public static QuotaStatus updateUsage(PlanAdmin admin, UpdateUsageRequest r) {
    Long remaining;
    switch (r.getChangeCase()) {
      case REMAINING -> remaining = r.getRemaining();
      case RESET -> {
        if (!r.getReset()) {
          throw invalid("reset: must be true when given");
        }
        remaining = null;
      }
      default -> throw invalid("remaining or reset: one is required");
    }
    return toProto(admin.updateUsage(r.getPlanId(), r.getKeyId(), remaining));
  }

  /** A quota as the API shows it. */
  public static QuotaStatus toProto(QuotaSnapshot s) {
    return QuotaStatus.newBuilder().setLimit(s.limit()).setUsed(s.used())
        .setRemaining(s.remaining())
        .setPeriodStart(Timestamp.newBuilder().setSeconds(s.periodStart()))
        .setPeriodEnd(Timestamp.newBuilder().setSeconds(s.periodEnd())).build();
  }

  private static AdminException invalid(String message) {
    return new AdminException(AdminException.Kind.INVALID, message);
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
