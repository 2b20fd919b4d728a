package io.tollgate.limiter.algorithm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FairShareTest {

  @Test
  void smallWantsAreMetAndTheRestSplitEqually() {
    assertArrayEquals(new long[] {10, 45, 45}, FairShare.divide(100, new long[] {10, 80, 150}));
    assertArrayEquals(new long[] {13, 29, 29, 28},
        FairShare.divide(99, new long[] {13, 38, 100, 188}));
  }

  @Test
  void everyWantIsMetWhenTheyFit() {
    assertArrayEquals(new long[] {5, 0, 20}, FairShare.divide(100, new long[] {5, 0, 20}));
  }

  @Test
  void remainderGoesOneUnitEachByIndex() {
    assertArrayEquals(new long[] {4, 3, 3}, FairShare.divide(10, new long[] {9, 9, 9}));
    assertArrayEquals(new long[] {0, 0}, FairShare.divide(0, new long[] {9, 9}));
  }

  @Test
  void noClaimants() {
    assertEquals(0, FairShare.divide(10, new long[0]).length);
  }

  @Test
  void rejectsNegatives() {
    assertThrows(IllegalArgumentException.class, () -> FairShare.divide(-1, new long[] {1}));
    assertThrows(IllegalArgumentException.class, () -> FairShare.divide(1, new long[] {-1}));
  }

  /** Max-min fairness on random inputs: sum, caps, and no one below a richer unsatisfied one. */
  @Test
  void randomDivisionsAreMaxMinFair() {
    Random random = new Random(7);
    for (int run = 0; run < 5_000; run++) {
      int n = 1 + random.nextInt(8);
      long[] wants = new long[n];
      long sum = 0;
      for (int i = 0; i < n; i++) {
        wants[i] = random.nextInt(4) == 0 ? 0 : random.nextInt(200);
        sum += wants[i];
      }
      long capacity = random.nextInt(400);
      long[] got = FairShare.divide(capacity, wants);
      long total = 0;
      for (int i = 0; i < n; i++) {
        assertTrue(got[i] >= 0 && got[i] <= wants[i]);
        total += got[i];
      }
      assertEquals(Math.min(capacity, sum), total);
      for (int i = 0; i < n; i++) {
        if (got[i] < wants[i]) {
          // Unsatisfied: nobody has more than one unit above it.
          for (int j = 0; j < n; j++) {
            assertTrue(got[j] <= got[i] + 1, java.util.Arrays.toString(wants) + " / "
                + capacity + " -> " + java.util.Arrays.toString(got));
          }
        }
      }
    }
  }
}
