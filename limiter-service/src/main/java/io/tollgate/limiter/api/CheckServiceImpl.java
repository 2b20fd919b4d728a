package io.tollgate.limiter.api;

import io.grpc.stub.StreamObserver;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckServiceGrpc;
import io.tollgate.limiter.protocol.PlanCheck;

/** {@code tollgate.v1.CheckService}: completes from the grid's callback, never blocking. */
public final class CheckServiceImpl extends CheckServiceGrpc.CheckServiceImplBase {

  private final PlanCheck service;

  public CheckServiceImpl(PlanCheck service) {
    this.service = service;
  }

  @Override
  public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
    service.check(request).whenComplete((response, failure) -> {
      if (failure != null) {
        observer.onError(StatusMapping.toStatus(failure).asRuntimeException());
        return;
      }
      observer.onNext(response);
      observer.onCompleted();
    });
  }
}
