package io.decostream.nn.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class RowPoolTest {

  @Test
  void chunksCoverEveryRowOnceAndShrinkTowardsTheEnd() {
    for (int n : new int[] {1, 7, 12, 768, 2048, 32000}) {
      for (int c : new int[] {1, 2, 12, 16}) {
        assertEquals(0, RowPool.bound(n, 0, c));
        assertEquals(n, RowPool.bound(n, c, c));
        int previousSize = n;
        for (int k = 0; k < c; k++) {
          int size = RowPool.bound(n, k + 1, c) - RowPool.bound(n, k, c);
          assertTrue(size >= 0, "chunk " + k + " of " + c + " over " + n + " rows");
          // sizes fall by about 2n/c² a chunk; integer rounding can raise one by a row
          assertTrue(size <= previousSize + 1, "chunk " + k + " of " + c + " over " + n);
          previousSize = size;
        }
      }
    }
    // the first of 16 chunks of a gate/up region is about 2/16 of it, the last about 1/256
    assertEquals(496, RowPool.bound(4096, 1, 16));
    assertEquals(16, 4096 - RowPool.bound(4096, 15, 16));
  }

  @Test
  void everyRowOfARegionRunsExactlyOnce() {
    RowPool pool = RowPool.shared(2);
    for (int n : new int[] {3, 12, 100, 768, 32000}) {
      AtomicIntegerArray runs = new AtomicIntegerArray(n);
      for (int rep = 0; rep < 50; rep++) {
        pool.run(
            n,
            (a, b) -> {
              for (int i = a; i < b; i++) {
                runs.incrementAndGet(i);
              }
            });
      }
      for (int i = 0; i < n; i++) {
        assertEquals(50, runs.get(i), "row " + i + " of " + n);
      }
    }
  }
}
