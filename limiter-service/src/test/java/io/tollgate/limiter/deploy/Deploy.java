package io.tollgate.limiter.deploy;

import io.tollgate.limiter.testing.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository's {@code deploy/} folder is, and the external tools its tests need. */
final class Deploy {

  private Deploy() {}

  /** A file or folder under {@code deploy/}; tests run in the module's folder. */
  static Path path(String relative) {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (root != null && !Files.isDirectory(root.resolve("deploy"))) {
      root = root.getParent();
    }
    if (root == null) {
      throw new IllegalStateException("no deploy/ folder above " + System.getProperty("user.dir"));
    }
    return root.resolve("deploy").resolve(relative);
  }

  /** A fresh scratch folder under target/. */
  static Path scratch(String name) throws IOException {
    return Files.createDirectories(Path.of("target", "deploy-tests", name + "-" + System.nanoTime())
        .toAbsolutePath());
  }

  /** Debian's nginx; skips the calling test without it (fails it under CI), see {@link Tools}. */
  static Path nginx() {
    return Tools.executable("nginx", "apt-get install nginx", "/usr/sbin/nginx",
        "/usr/local/sbin/nginx");
  }

  /** nginx's Lua module; skips or fails as {@link #nginx()}. */
  static Path nginxLuaModule() {
    return Tools.file("the nginx Lua module (ngx_http_lua_module.so)",
        "apt-get install libnginx-mod-http-lua",
        "/usr/lib/nginx/modules/ngx_http_lua_module.so",
        "/usr/share/nginx/modules/ngx_http_lua_module.so");
  }
}
