package io.decostream.cli;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.kafka.common.utils.Utils;

/**
 * The load test's camera (stream) ids. Every DeCo topic is keyed by stream id with the producer's
 * built-in key partitioning, so a stream's partition, and with it the stage instance that owns it,
 * is {@code murmur2(id) mod P}. With random names and few streams that hash can leave one of two
 * worker processes most of the streams; {@link #even} names them so that camera {@code i} lands on
 * partition {@code i mod P}, the spread many streams reach on average (issue 22 point 4).
 */
final class CameraIds {

  private CameraIds() {}

  /** {@code lt-RUN-KIND-0000} ...: where the hash puts them. */
  static List<String> hashed(String run, String kind, int n) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(base(run, kind, i));
    }
    return ids;
  }

  /**
   * As {@link #hashed}, each with the first suffix {@code -k} that puts camera {@code i} on
   * partition {@code i mod partitions}.
   */
  static List<String> even(String run, String kind, int n, int partitions) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int want = i % partitions;
      for (int k = 0; ; k++) {
        String id = base(run, kind, i) + "-" + k;
        if (partition(id, partitions) == want) {
          ids.add(id);
          break;
        }
      }
    }
    return ids;
  }

  /** The partition Kafka's built-in partitioner gives a record keyed {@code id}. */
  static int partition(String id, int partitions) {
    return Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  private static String base(String run, String kind, int i) {
    return String.format(Locale.ROOT, "lt-%s-%s-%04d", run, kind, i);
  }
}
