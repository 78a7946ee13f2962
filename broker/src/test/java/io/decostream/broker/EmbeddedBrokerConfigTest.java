package io.decostream.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EmbeddedBrokerConfigTest {

  @Test
  void validatesPort() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new EmbeddedBroker.Config(-1, Optional.empty(), Map.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> new EmbeddedBroker.Config(70000, Optional.empty(), Map.of()));
    assertEquals(9092, EmbeddedBroker.Config.defaults().withPort(9092).port());
  }

  @Test
  void propsBindLoopbackAndRaiseLimitsAndExtraPropsWin() {
    EmbeddedBroker.Config c =
        EmbeddedBroker.Config.defaults()
            .withExtraProps(Map.of("num.partitions", "3", "group.initial.rebalance.delay.ms", "5"));
    Map<String, Object> p = EmbeddedBroker.brokerProps(c, Path.of("/tmp/x"), 9092, 9093);
    assertEquals("PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093", p.get("listeners"));
    assertEquals("1@127.0.0.1:9093", p.get("controller.quorum.voters"));
    assertEquals(Integer.toString(8 * 1024 * 1024), p.get("message.max.bytes"));
    assertEquals(Integer.toString(8 * 1024 * 1024), p.get("replica.fetch.max.bytes"));
    assertEquals("1", p.get("offsets.topic.replication.factor"));
    assertEquals("1", p.get("transaction.state.log.min.isr"));
    // issue 18 point 3: a client asking for a missing topic must not create it with 1 partition
    assertEquals("false", p.get("auto.create.topics.enable"));
    assertEquals("3", p.get("num.partitions"));
    assertEquals("5", p.get("group.initial.rebalance.delay.ms"));
  }

  @Test
  void additionalListenersAreBoundAdvertisedAndMapped() {
    EmbeddedBroker.Config c =
        EmbeddedBroker.Config.defaults()
            .withListener(new EmbeddedBroker.Listener("SASL_SSL", "SASL_SSL", 0));
    Map<String, Object> p =
        EmbeddedBroker.brokerProps(c, Path.of("/tmp/x"), 9092, 9093, Map.of("SASL_SSL", 9094));
    assertEquals(
        "PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093",
        p.get("listeners"));
    assertEquals(
        "PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094", p.get("advertised.listeners"));
    assertEquals(
        "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        p.get("listener.security.protocol.map"));
    assertEquals("PLAINTEXT", p.get("inter.broker.listener.name"));
    assertThrows(
        IllegalArgumentException.class, () -> new EmbeddedBroker.Listener("sasl", "SASL_SSL", 0));
    assertThrows(
        IllegalArgumentException.class, () -> new EmbeddedBroker.Listener("X", "KERBEROS", 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> c.withListener(new EmbeddedBroker.Listener("SASL_SSL", "SSL", 0)));
  }
}
