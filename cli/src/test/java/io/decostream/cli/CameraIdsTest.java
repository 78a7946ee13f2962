package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class CameraIdsTest {

  /**
   * Where KafkaProducer puts a record keyed {@code id} when no partitioner is configured (as in
   * every DeCo producer and Kafka Streams sink): its own built-in key partitioning.
   */
  private static int producersPartition(String id, int partitions) {
    byte[] key = new StringSerializer().serialize("deco.chunks", id);
    return BuiltInPartitioner.partitionForKey(key, partitions);
  }

  @Test
  void evenIdsLandCameraIOnPartitionIModPAsTheProducerPartitionsThem() {
    int partitions = 12;
    List<String> ids = CameraIds.even("ab12cd34", "cam", 30, partitions);
    assertEquals(30, ids.size());
    assertEquals(30, new HashSet<>(ids).size(), "ids are distinct");
    for (int i = 0; i < ids.size(); i++) {
      assertTrue(ids.get(i).startsWith(String.format("lt-ab12cd34-cam-%04d-", i)), ids.get(i));
      assertEquals(i % partitions, producersPartition(ids.get(i), partitions), ids.get(i));
    }
  }

  @Test
  void hashedIdsAreThePlainNamesAndTheirSpreadIsUneven() {
    List<String> ids = CameraIds.hashed("ab12cd34", "cam", 12);
    assertEquals("lt-ab12cd34-cam-0000", ids.get(0));
    assertEquals("lt-ab12cd34-cam-0011", ids.get(11));
    Map<Integer, Integer> perPartition = new TreeMap<>();
    for (String id : ids) {
      int p = producersPartition(id, 12);
      assertEquals(p, CameraIds.partition(id, 12));
      perPartition.merge(p, 1, Integer::sum);
    }
    // 12 random names on 12 partitions almost never fill one each: what --even-partitions is for
    assertNotEquals(12, perPartition.size(), perPartition.toString());
  }

  @Test
  void partitionsBelowOneAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> CameraIds.even("r", "cam", 3, 0));
  }
}
