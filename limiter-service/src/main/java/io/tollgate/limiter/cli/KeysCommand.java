package io.tollgate.limiter.cli;

import io.tollgate.api.v1.ApiKey;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.ListKeysResponse;
import io.tollgate.api.v1.UpdateKeyRequest;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tollgate keys ...}: API keys and their plans. */
@Command(name = "keys",
    description = "API keys: create, list, get, enable, disable, rename, delete, add-plan, "
        + "remove-plan.")
final class KeysCommand {

  @Command(name = "create",
      description = "Create a key and print its value (shown only this once).")
  int create(@Mixin CommonOptions common,
      @Option(names = "--name", paramLabel = "NAME", required = true,
          description = "Display name.") String name,
      @Option(names = "--plan", paramLabel = "PLAN_ID",
          description = "A plan to put the key in; repeatable.") List<String> plans,
      @Option(names = "--value", paramLabel = "VALUE",
          description = "Import this key value (at least 20 characters) instead of "
              + "generating one.") String value,
      @Option(names = "--disabled", description = "Create the key disabled.") boolean disabled)
      throws CommandFailure {
    CreateKeyRequest.Builder request = CreateKeyRequest.newBuilder().setName(name);
    if (plans != null) {
      request.addAllPlanIds(plans);
    }
    if (value != null) {
      request.setValue(value);
    }
    if (disabled) {
      request.setEnabled(false);
    }
    String body = common.client().call("POST", "/admin/keys", request);
    common.<CreateKeyResponse>show(body, CreateKeyResponse.newBuilder(), KeysCommand::created);
    return 0;
  }

  @Command(name = "list", description = "List the keys.")
  int list(@Mixin CommonOptions common,
      @Option(names = "--plan", paramLabel = "PLAN_ID", description = "Only keys in this plan.")
      String plan) throws CommandFailure {
    String path = "/admin/keys" + (plan == null ? "" : "?plan=" + AdminClient.encode(plan));
    String body = common.client().call("GET", path, null);
    common.<ListKeysResponse>show(body, ListKeysResponse.newBuilder(),
        r -> table(r.getKeysList()));
    return 0;
  }

  @Command(name = "get", description = "Show one key.")
  int get(@Mixin CommonOptions common, @Parameters(paramLabel = "ID") String id)
      throws CommandFailure {
    return showKey(common, common.client().call("GET", path(id), null));
  }

  @Command(name = "enable", description = "Enable a key.")
  int enable(@Mixin CommonOptions common, @Parameters(paramLabel = "ID") String id)
      throws CommandFailure {
    return patch(common, id, UpdateKeyRequest.newBuilder().setEnabled(true));
  }

  @Command(name = "disable",
      description = "Disable a key: its checks are FORBIDDEN until it is enabled again.")
  int disable(@Mixin CommonOptions common, @Parameters(paramLabel = "ID") String id)
      throws CommandFailure {
    return patch(common, id, UpdateKeyRequest.newBuilder().setEnabled(false));
  }

  @Command(name = "rename", description = "Rename a key.")
  int rename(@Mixin CommonOptions common, @Parameters(index = "0", paramLabel = "ID") String id,
      @Parameters(index = "1", paramLabel = "NAME") String name) throws CommandFailure {
    return patch(common, id, UpdateKeyRequest.newBuilder().setName(name));
  }

  @Command(name = "delete", description = "Delete a key.")
  int delete(@Mixin CommonOptions common, @Parameters(paramLabel = "ID") String id)
      throws CommandFailure {
    String body = common.client().call("DELETE", path(id), null);
    if (common.json) {
      common.printRaw(body);
    } else {
      common.out().println("key " + id + " deleted");
    }
    return 0;
  }

  @Command(name = "add-plan",
      description = "Put a key in a plan.")
  int addPlan(@Mixin CommonOptions common, @Parameters(index = "0", paramLabel = "ID") String id,
      @Parameters(index = "1", paramLabel = "PLAN_ID") String plan) throws CommandFailure {
    return showKey(common, common.client().call("PUT", planKeyPath(plan, id), null));
  }

  @Command(name = "remove-plan",
      description = "Take a key out of a plan.")
  int removePlan(@Mixin CommonOptions common,
      @Parameters(index = "0", paramLabel = "ID") String id,
      @Parameters(index = "1", paramLabel = "PLAN_ID") String plan) throws CommandFailure {
    return showKey(common, common.client().call("DELETE", planKeyPath(plan, id), null));
  }

  private static int patch(CommonOptions common, String id, UpdateKeyRequest.Builder change)
      throws CommandFailure {
    return showKey(common, common.client().call("PATCH", path(id), change));
  }

  private static int showKey(CommonOptions common, String body) throws CommandFailure {
    common.<ApiKey>show(body, ApiKey.newBuilder(), KeysCommand::describe);
    return 0;
  }

  private static String path(String id) {
    return "/admin/keys/" + AdminClient.encode(id);
  }

  private static String planKeyPath(String plan, String id) {
    return "/admin/plans/" + AdminClient.encode(plan) + "/keys/" + AdminClient.encode(id);
  }

  /** A new key: its fields, its value, and the warning that the value is not shown again. */
  static String created(CreateKeyResponse r) {
    return new Details()
        .add("id", r.getKey().getId())
        .add("name", r.getKey().getName())
        .add("enabled", r.getKey().getEnabled())
        .add("plans", String.join(",", r.getKey().getPlanIdsList()))
        .add("value", r.getValue())
        .render()
        + "\nThe value is shown only this once (the server keeps only its hash): store it now.\n";
  }

  /** The keys as a table: id, name, enabled, plans, created, source. */
  static String table(List<ApiKey> keys) {
    if (keys.isEmpty()) {
      return "no keys\n";
    }
    Table t = new Table("ID", "NAME", "ENABLED", "PLANS", "CREATED", "SOURCE");
    for (ApiKey k : keys) {
      t.row(k.getId(), k.getName(), k.getEnabled(), String.join(",", k.getPlanIdsList()),
          TimeFormat.instant(k.getCreatedAt()), k.getDeclaredInConfig() ? "config" : "api");
    }
    return t.render();
  }

  /** One key, field by field. */
  static String describe(ApiKey k) {
    return new Details()
        .add("id", k.getId())
        .add("name", k.getName())
        .add("enabled", k.getEnabled())
        .add("plans", String.join(",", k.getPlanIdsList()))
        .add("created", TimeFormat.instant(k.getCreatedAt()))
        .add("source", k.getDeclaredInConfig() ? "config (read-only)" : "api")
        .render();
  }
}
