package io.tollgate.limiter.api;

import io.grpc.stub.StreamObserver;
import io.tollgate.api.v1.AdminServiceGrpc;
import io.tollgate.api.v1.ApiKey;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.DeleteKeyRequest;
import io.tollgate.api.v1.DeleteKeyResponse;
import io.tollgate.api.v1.DeletePlanRequest;
import io.tollgate.api.v1.DeletePlanResponse;
import io.tollgate.api.v1.GetKeyRequest;
import io.tollgate.api.v1.GetPlanRequest;
import io.tollgate.api.v1.GetUsageRequest;
import io.tollgate.api.v1.GetUsageResponse;
import io.tollgate.api.v1.KeyPlanRequest;
import io.tollgate.api.v1.ListKeysRequest;
import io.tollgate.api.v1.ListKeysResponse;
import io.tollgate.api.v1.ListPlansRequest;
import io.tollgate.api.v1.ListPlansResponse;
import io.tollgate.api.v1.QuotaStatus;
import io.tollgate.api.v1.UpdateKeyRequest;
import io.tollgate.api.v1.UpdateUsageRequest;
import io.tollgate.api.v1.UsagePlan;
import io.tollgate.limiter.service.PlanAdmin;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * {@code tollgate.v1.AdminService} over {@link PlanAdmin}. Admin calls block on the grid and the
 * database, so they run on their own executor, never on the threads that serve checks. Wrap with
 * {@link AdminAuth}.
 */
public final class AdminServiceImpl extends AdminServiceGrpc.AdminServiceImplBase {

  private final PlanAdmin admin;
  private final Executor executor;

  public AdminServiceImpl(PlanAdmin admin, Executor executor) {
    this.admin = admin;
    this.executor = executor;
  }

  private <T> void run(StreamObserver<T> observer, Supplier<T> call) {
    executor.execute(() -> {
      T result;
      try {
        result = call.get();
      } catch (RuntimeException e) {
        observer.onError(StatusMapping.toStatus(e).asRuntimeException());
        return;
      }
      observer.onNext(result);
      observer.onCompleted();
    });
  }

  @Override
  public void createPlan(UsagePlan r, StreamObserver<UsagePlan> o) {
    run(o, () -> PlanMessages.toProto(admin.createPlan(PlanMessages.toPlan(r))));
  }

  @Override
  public void getPlan(GetPlanRequest r, StreamObserver<UsagePlan> o) {
    run(o, () -> PlanMessages.toProto(admin.getPlan(r.getId())));
  }

  @Override
  public void listPlans(ListPlansRequest r, StreamObserver<ListPlansResponse> o) {
    run(o, () -> ListPlansResponse.newBuilder()
        .addAllPlans(PlanMessages.plansToProto(admin.listPlans())).build());
  }

  @Override
  public void updatePlan(UsagePlan r, StreamObserver<UsagePlan> o) {
    run(o, () -> PlanMessages.toProto(admin.updatePlan(PlanMessages.toPlan(r))));
  }

  @Override
  public void deletePlan(DeletePlanRequest r, StreamObserver<DeletePlanResponse> o) {
    run(o, () -> {
      admin.deletePlan(r.getId());
      return DeletePlanResponse.getDefaultInstance();
    });
  }

  @Override
  public void createKey(CreateKeyRequest r, StreamObserver<CreateKeyResponse> o) {
    run(o, () -> PlanMessages.createKey(admin, r));
  }

  @Override
  public void getKey(GetKeyRequest r, StreamObserver<ApiKey> o) {
    run(o, () -> PlanMessages.toProto(admin.getKey(r.getId())));
  }

  @Override
  public void listKeys(ListKeysRequest r, StreamObserver<ListKeysResponse> o) {
    run(o, () -> ListKeysResponse.newBuilder()
        .addAllKeys(PlanMessages.keysToProto(admin.listKeys(r.getPlanId()))).build());
  }

  @Override
  public void updateKey(UpdateKeyRequest r, StreamObserver<ApiKey> o) {
    run(o, () -> PlanMessages.toProto(admin.updateKey(r.getId(),
        r.hasName() ? r.getName() : null, r.hasEnabled() ? r.getEnabled() : null)));
  }

  @Override
  public void deleteKey(DeleteKeyRequest r, StreamObserver<DeleteKeyResponse> o) {
    run(o, () -> {
      admin.deleteKey(r.getId());
      return DeleteKeyResponse.getDefaultInstance();
    });
  }

  @Override
  public void addKeyToPlan(KeyPlanRequest r, StreamObserver<ApiKey> o) {
    run(o, () -> PlanMessages.toProto(admin.addKeyToPlan(r.getPlanId(), r.getKeyId())));
  }

  @Override
  public void removeKeyFromPlan(KeyPlanRequest r, StreamObserver<ApiKey> o) {
    run(o, () -> PlanMessages.toProto(
        admin.removeKeyFromPlan(r.getPlanId(), r.getKeyId())));
  }

  @Override
  public void getUsage(GetUsageRequest r, StreamObserver<GetUsageResponse> o) {
    run(o, () -> PlanMessages.toProto(
        admin.getUsage(r.getPlanId(), r.getKeyId(), r.getFrom(), r.getTo())));
  }

  @Override
  public void updateUsage(UpdateUsageRequest r, StreamObserver<QuotaStatus> o) {
    run(o, () -> PlanMessages.updateUsage(admin, r));
  }
}
