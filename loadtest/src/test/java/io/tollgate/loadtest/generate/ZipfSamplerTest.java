package io.tollgate.loadtest.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ZipfSamplerTest {

  @Test
  void probabilitiesFollowThePowerLawAndSumToOne() {
    ZipfSampler z = new ZipfSampler(1000, 1.1);
    double sum = 0;
    for (int k = 0; k < 1000; k++) {
      sum += z.probability(k);
    }
    assertEquals(1.0, sum, 1e-9);
    assertEquals(Math.pow(2, 1.1), z.probability(0) / z.probability(1), 1e-9);
    assertEquals(Math.pow(10.0 / 3, 1.1), z.probability(2) / z.probability(9), 1e-9);
  }

  @Test
  void drawsMatchTheProbabilities() {
    int keys = 100;
    ZipfSampler z = new ZipfSampler(keys, 1.1);
    SplittableRandom random = new SplittableRandom(11);
    int draws = 1_000_000;
    int[] counts = new int[keys];
    for (int i = 0; i < draws; i++) {
      counts[z.next(random)]++;
    }
    for (int k = 0; k < keys; k++) {
      double expected = z.probability(k) * draws;
      // Five standard deviations of a binomial count.
      double sigma = Math.sqrt(expected * (1 - z.probability(k)));
      assertEquals(expected, counts[k], 5 * sigma + 1, "key " + k);
    }
    assertTrue(counts[0] > counts[1] && counts[1] > counts[10]);
  }

  @Test
  void exponentZeroIsUniform() {
    ZipfSampler z = new ZipfSampler(4, 0);
    for (int k = 0; k < 4; k++) {
      assertEquals(0.25, z.probability(k), 1e-12);
    }
  }

  @Test
  void staysInRange() {
    ZipfSampler z = new ZipfSampler(3, 2.5);
    SplittableRandom random = new SplittableRandom(5);
    boolean sawLast = false;
    for (int i = 0; i < 200_000; i++) {
      int k = z.next(random);
      assertTrue(k >= 0 && k < 3);
      sawLast |= k == 2;
    }
    assertTrue(sawLast, "the coldest key is drawn too");
    assertEquals(0, new ZipfSampler(1, 1.1).next(random));
  }

  @Test
  void parsesEveryDistribution() {
    assertInstanceOf(ZipfSampler.class, KeySampler.parse("zipf:1000:1.1"));
    assertEquals("zipf:1000:1.1", KeySampler.parse("zipf:1000:1.1").describe());
    assertEquals(new KeySampler.Uniform(100_000), KeySampler.parse("uniform:100_000"));
    assertEquals(1, KeySampler.parse("single").keys());
    assertEquals(0, KeySampler.parse("single").next(new SplittableRandom(1)));
    KeySampler sequential = KeySampler.parse("sequential:3");
    int[] drawn = new int[7];
    for (int i = 0; i < drawn.length; i++) {
      drawn[i] = sequential.next(null);
    }
    org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2, 0}, drawn);
    assertThrows(IllegalArgumentException.class, () -> KeySampler.parse("sequential"));
    assertThrows(IllegalArgumentException.class, () -> KeySampler.parse("zipf:10"));
    assertThrows(IllegalArgumentException.class, () -> KeySampler.parse("uniform:0"));
    assertThrows(IllegalArgumentException.class, () -> KeySampler.parse("gauss:3"));
    assertThrows(IllegalArgumentException.class, () -> new ZipfSampler(10, -1));
  }
}
