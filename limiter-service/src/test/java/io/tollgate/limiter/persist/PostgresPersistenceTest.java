package io.tollgate.limiter.persist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The contract on a real PostgreSQL 15, one new database per test, and its login errors. */
class PostgresPersistenceTest extends PersistenceContractTest {

  static PostgresServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = PostgresServer.start();
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Override
  DatabaseSettings newDatabase() throws Exception {
    return new DatabaseSettings(server.createDatabase(), server.user(), server.password(), null);
  }

  @Override
  Connection rawConnection(DatabaseSettings settings) throws Exception {
    return DriverManager.getConnection(settings.url(), settings.user(), settings.password());
  }

  @Test
  void aWrongPasswordNamesTheUrlAndTheCauseButNotThePassword() {
    DatabaseSettings wrong =
        new DatabaseSettings(settings.url(), server.user(), "s3cret-guess", null);
    PersistenceException e = assertThrows(PersistenceException.class, () -> Database.open(wrong));
    assertTrue(e.getMessage().startsWith("cannot open database " + settings.url()
        + " as user tollgate: "), e.getMessage());
    assertTrue(e.getMessage().contains("password authentication failed"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cret-guess"), e.getMessage());
  }

  @Test
  void anUnreachableServerNamesTheUrlAndTheCause() {
    String url = "jdbc:postgresql://127.0.0.1:" + FreePorts.next() + "/tollgate?password=pw1";
    PersistenceException e = assertThrows(PersistenceException.class,
        () -> Database.open(new DatabaseSettings(url, "tollgate", "pw2", null)));
    assertTrue(e.getMessage().startsWith("cannot open database "
        + url.replace("pw1", "***") + " as user tollgate: "), e.getMessage());
    assertTrue(e.getMessage().contains("refused"), e.getMessage());
    assertFalse(e.getMessage().contains("pw1") || e.getMessage().contains("pw2"), e.getMessage());
  }

  @Test
  void aMissingDatabaseNamesTheUrlAndTheCause() {
    String url = server.url("no_such_database");
    PersistenceException e = assertThrows(PersistenceException.class,
        () -> Database.open(new DatabaseSettings(url, server.user(), server.password(), null)));
    assertTrue(e.getMessage().startsWith("cannot open database " + url), e.getMessage());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void isNotEmbedded() {
    assertFalse(db.isEmbedded());
    assertEquals(settings.url(), db.url());
  }
}
