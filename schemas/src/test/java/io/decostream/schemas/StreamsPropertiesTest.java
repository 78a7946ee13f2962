package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamsPropertiesTest {
  @TempDir Path tmp;

  @Test
  void exactlyOnceV2ByDefaultWithItsOwnCommitIntervalAndBoundedTimeouts() {
    Properties p = StreamsProperties.of("deco-frames", "h:9092", tmp, null);
    assertEquals("exactly_once_v2", p.get("processing.guarantee"));
    // Streams' EOS default commit interval (100 ms) applies: we set none
    assertNull(p.get("commit.interval.ms"));
    assertEquals(StreamsProperties.SESSION_TIMEOUT_MS, p.get("consumer.session.timeout.ms"));
    assertEquals(
        StreamsProperties.TRANSACTION_TIMEOUT_MS, p.get("producer.transaction.timeout.ms"));
    assertNull(p.get("group.instance.id"), "static membership only when asked for");
    assertEquals(tmp.toString(), p.get("state.dir"));
  }

  @Test
  void rocksDbStoresRunWithoutTheStatsDumpThread() throws Exception {
    Properties p = StreamsProperties.of("deco-frames", "h:9092", tmp, null);
    Object setter =
        Class.forName((String) p.get("rocksdb.config.setter")).getConstructor().newInstance();
    try (org.rocksdb.Options options = new org.rocksdb.Options()) {
      assertNotEquals(0, options.statsDumpPeriodSec(), "RocksDB dumps stats by default");
      ((org.apache.kafka.streams.state.RocksDBConfigSetter) setter)
          .setConfig("store", options, java.util.Map.of());
      assertEquals(0, options.statsDumpPeriodSec());
      assertEquals(0, options.statsPersistPeriodSec());
    }
  }

  @Test
  void atLeastOnceAndStaticMembershipOnRequestAndExtraWins() {
    Properties extra = new Properties();
    extra.putAll(StreamsProperties.guarantee(Guarantee.AT_LEAST_ONCE));
    extra.putAll(StreamsProperties.staticMember("frames-1234"));
    extra.put("security.protocol", "SASL_SSL");
    Properties p = StreamsProperties.of("deco-frames", "h:9092", tmp, extra);
    assertEquals("at_least_once", p.get("processing.guarantee"));
    assertEquals("frames-1234", p.get("group.instance.id"));
    assertEquals("SASL_SSL", p.get("security.protocol"));
    assertThrows(IllegalArgumentException.class, () -> StreamsProperties.staticMember("a b"));
  }

  @Test
  void guaranteeParses() {
    assertEquals(Guarantee.EXACTLY_ONCE_V2, Guarantee.parse(null));
    assertEquals(Guarantee.EXACTLY_ONCE_V2, Guarantee.parse(" Exactly-Once-V2 "));
    assertEquals(Guarantee.AT_LEAST_ONCE, Guarantee.parse("at_least_once"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Guarantee.parse("exactly_once"));
    assertTrue(e.getMessage().contains("exactly_once_v2 or at_least_once"));
  }

  @Test
  void instanceIdIsCreatedOnceAndKeptPerStateDir() throws Exception {
    Path a = tmp.resolve("a");
    String first = InstanceId.persisted(a, "deco-frames");
    assertTrue(first.startsWith("deco-frames-"), first);
    assertEquals(first, InstanceId.persisted(a, "deco-frames"), "same state dir, same member");
    assertEquals(first, Files.readString(a.resolve(InstanceId.FILE)).trim());
    String other = InstanceId.persisted(tmp.resolve("b"), "deco-frames");
    assertNotEquals(first, other, "another state dir is another member");
    try (var files = Files.list(a)) {
      assertEquals(1, files.count(), "no temp file left behind");
    }
  }
}
