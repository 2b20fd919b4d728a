package io.tollgate.loadtest.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcCpuTest {

  /** A real stat line's shape: utime 1234 and stime 567 are fields 14 and 15. */
  private static String stat(long pid, String comm, long utime, long stime) {
    return pid + " (" + comm + ") S 1 " + pid + " " + pid + " 0 -1 4194560 12000 0 3 0 "
        + utime + " " + stime + " 0 0 20 0 42 0 1234567 4000000000 50000 18446744073709551615\n";
  }

  @Test
  void readsUserPlusSystemTicks() {
    assertEquals(1234 + 567, ProcCpu.parseTicks(stat(77, "java", 1234, 567)));
  }

  @Test
  void commandNamesWithSpacesAndParenthesesDoNotShiftFields() {
    assertEquals(30, ProcCpu.parseTicks(stat(5, "a) b (c", 10, 20)));
    assertEquals(30, ProcCpu.parseTicks(stat(5, "redis-server 127.0.0.1:6379", 10, 20)));
  }

  @Test
  void rejectsWhatIsNotAStatLine() {
    assertThrows(IllegalArgumentException.class, () -> ProcCpu.parseTicks("garbage"));
    assertThrows(IllegalArgumentException.class, () -> ProcCpu.parseTicks("1 (x) S 1 2"));
  }

  @Test
  void convertsTicksToNanosAndSumsProcesses(@TempDir Path proc) throws IOException {
    Files.createDirectories(proc.resolve("10"));
    Files.createDirectories(proc.resolve("11"));
    Files.writeString(proc.resolve("10/stat"), stat(10, "java", 150, 50));
    Files.writeString(proc.resolve("11/stat"), stat(11, "redis-server", 3, 1));
    ProcCpu cpu = new ProcCpu(proc, 100);
    assertEquals(2_000_000_000L, cpu.cpuNanos(10));
    assertEquals(2_040_000_000L, cpu.cpuNanos(List.of(10L, 11L)));
  }

  @Test
  void readsThisProcess() throws IOException {
    ProcCpu cpu = new ProcCpu();
    long before = cpu.cpuNanos(ProcessHandle.current().pid());
    long x = 0;
    for (long end = System.nanoTime() + 100_000_000L; System.nanoTime() < end; ) {
      x += Long.numberOfTrailingZeros(x + 1);
    }
    long after = cpu.cpuNanos(ProcessHandle.current().pid());
    assertTrue(after > before, "CPU time grows while spinning (" + x + ")");
  }
}
