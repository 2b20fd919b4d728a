package io.tollgate.loadtest.target;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Status;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckServiceGrpc;
import java.util.concurrent.TimeUnit;

/**
 * Tollgate's {@code tollgate.v1.CheckService/Check}. The key index picks the API key
 * {@code apiKeyPrefix + index} (12 digits, zero-padded); an empty prefix sends no key. ALLOWED is
 * allowed; THROTTLED and QUOTA_EXCEEDED are denied; FORBIDDEN is an error (the keys the run uses
 * must exist).
 */
public final class CheckTarget implements Target {

  private final GrpcChannels channels;
  private final String addresses;
  private final String apiKeyPrefix;
  private final String api;
  private final String stage;
  private final String method;
  private final String route;
  private final long timeoutMillis;

  public CheckTarget(String addresses, String apiKeyPrefix, String api, String stage,
      String method, String route, long timeoutMillis) {
    this.channels = new GrpcChannels(addresses);
    this.addresses = addresses;
    this.apiKeyPrefix = apiKeyPrefix;
    this.api = api;
    this.stage = stage;
    this.method = method;
    this.route = route;
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public void send(int[] keys, Callback callback) {
    CheckRequest.Builder request = CheckRequest.newBuilder().setApi(api).setStage(stage)
        .setMethod(method).setRoute(route).setCost(1);
    if (!apiKeyPrefix.isEmpty()) {
      request.setApiKey(apiKeyPrefix + String.format("%012d", keys.length == 0 ? 0 : keys[0]))
          .setKeyRequired(true);
    }
    try {
      Futures.addCallback(CheckServiceGrpc.newFutureStub(channels.next())
              .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
              .check(request.build()),
          new FutureCallback<CheckResponse>() {
            @Override
            public void onSuccess(CheckResponse r) {
              switch (r.getReason()) {
                case ALLOWED -> callback.done(Outcome.ALLOWED, null);
                case THROTTLED, QUOTA_EXCEEDED -> callback.done(Outcome.DENIED, null);
                default -> callback.done(Outcome.ERROR, r.getReason() + ": " + r.getMessage());
              }
            }

            @Override
            public void onFailure(Throwable t) {
              callback.done(Outcome.ERROR, Status.fromThrowable(t).getCode().name());
            }
          }, MoreExecutors.directExecutor());
    } catch (RuntimeException e) {
      callback.done(Outcome.ERROR, e.getClass().getSimpleName());
    }
  }

  @Override
  public String describe() {
    return "check " + addresses + " " + api + "/" + stage + " " + method + " " + route
        + (apiKeyPrefix.isEmpty() ? " (no key)" : " key " + apiKeyPrefix + "<12 digits>");
  }

  @Override
  public void close() {
    channels.close();
  }
}
