package io.tollgate.loadtest;

import io.tollgate.loadtest.target.CheckTarget;
import io.tollgate.loadtest.target.HttpTarget;
import io.tollgate.loadtest.target.RlsTarget;
import io.tollgate.loadtest.target.Target;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options that choose and shape the target; shared by run and await. */
final class TargetOptions {

  @Option(names = "--target", defaultValue = "rls",
      description = "rls (Envoy ShouldRateLimit), check (tollgate.v1 Check) or http. Default: ${DEFAULT-VALUE}")
  String kind;

  @Option(names = "--address", defaultValue = "127.0.0.1:8081",
      description = "gRPC host:port, or several comma-separated (calls go round-robin). Default: ${DEFAULT-VALUE}")
  String address;

  @Option(names = "--domain", defaultValue = "loadtest", description = "rls: the domain. Default: ${DEFAULT-VALUE}")
  String domain;

  @Option(names = "--descriptor-key", defaultValue = "k",
      description = "rls: the entry key of every descriptor. Default: ${DEFAULT-VALUE}")
  String descriptorKey;

  @Option(names = "--value-prefix", defaultValue = "",
      description = "rls: prepended to the key index to make the entry value")
  String valuePrefix;

  @Option(names = "--api-key-prefix", defaultValue = "",
      description = "check: API key value = prefix + index padded to 12 digits; empty sends no key")
  String apiKeyPrefix;

  @Option(names = "--api", defaultValue = "loadtest", description = "check: API. Default: ${DEFAULT-VALUE}")
  String api;

  @Option(names = "--stage", defaultValue = "prod", description = "check: stage. Default: ${DEFAULT-VALUE}")
  String stage;

  @Option(names = "--method", defaultValue = "GET", description = "check: method. Default: ${DEFAULT-VALUE}")
  String method;

  @Option(names = "--route", defaultValue = "/items", description = "check: route. Default: ${DEFAULT-VALUE}")
  String route;

  @Option(names = "--url", description = "http: the URL; {key} is replaced by the key index")
  String url;

  @Option(names = "--http-method", defaultValue = "GET", description = "http: method. Default: ${DEFAULT-VALUE}")
  String httpMethod;

  @Option(names = {"-H", "--header"}, description = "http: 'Name: value' ({key} replaced); repeatable")
  List<String> headers = new ArrayList<>();

  @Option(names = "--body", defaultValue = "", description = "http: request body ({key} replaced)")
  String body;

  @Option(names = "--connections", defaultValue = "64",
      description = "http: requests (connections) open at once; later ones wait, and the wait "
          + "counts as latency. Default: ${DEFAULT-VALUE}")
  int connections;

  @Option(names = "--timeout-ms", defaultValue = "5000",
      description = "deadline of each call; a late answer is an error. Default: ${DEFAULT-VALUE}")
  long timeoutMillis;

  Target open() {
    return switch (kind) {
      case "rls" -> new RlsTarget(address, domain, descriptorKey, valuePrefix, timeoutMillis);
      case "check" -> new CheckTarget(address, apiKeyPrefix, api, stage, method, route,
          timeoutMillis);
      case "http" -> {
        if (url == null) {
          throw new IllegalArgumentException("--target http needs --url");
        }
        yield new HttpTarget(url, httpMethod, headers, body, timeoutMillis, connections);
      }
      default -> throw new IllegalArgumentException(
          "--target: unknown '" + kind + "' (expected rls, check or http)");
    };
  }
}
