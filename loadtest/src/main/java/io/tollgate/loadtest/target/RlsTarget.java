package io.tollgate.loadtest.target;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;

/**
 * Envoy's {@code ShouldRateLimit}: one descriptor per key index, each the single entry
 * {@code descriptorKey = valuePrefix + index}. OK is allowed, OVER_LIMIT denied.
 */
public final class RlsTarget implements Target {

  private final GrpcChannels channels;
  private final String addresses;
  private final String domain;
  private final String descriptorKey;
  private final String valuePrefix;
  private final long timeoutMillis;

  public RlsTarget(String addresses, String domain, String descriptorKey, String valuePrefix,
      long timeoutMillis) {
    this.channels = new GrpcChannels(addresses);
    this.addresses = addresses;
    this.domain = domain;
    this.descriptorKey = descriptorKey;
    this.valuePrefix = valuePrefix;
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public void send(int[] keys, Callback callback) {
    RateLimitRequest.Builder request = RateLimitRequest.newBuilder().setDomain(domain);
    for (int key : keys) {
      request.addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
          RateLimitDescriptor.Entry.newBuilder().setKey(descriptorKey)
              .setValue(valuePrefix + key)));
    }
    try {
      Futures.addCallback(RateLimitServiceGrpc.newFutureStub(channels.next())
              .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
              .shouldRateLimit(request.build()),
          new FutureCallback<RateLimitResponse>() {
            @Override
            public void onSuccess(RateLimitResponse r) {
              switch (r.getOverallCode()) {
                case OK -> callback.done(Outcome.ALLOWED, null);
                case OVER_LIMIT -> callback.done(Outcome.DENIED, null);
                default -> callback.done(Outcome.ERROR, "overall code " + r.getOverallCode());
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
    return "rls " + addresses + " domain " + domain + " " + descriptorKey + "=" + valuePrefix
        + "<key>";
  }

  @Override
  public void close() {
    channels.close();
  }
}
