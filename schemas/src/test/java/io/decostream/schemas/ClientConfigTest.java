package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientConfigTest {
  @TempDir Path tmp;

  @Test
  void loadsAFileAndPrintsItWithoutSecrets() throws Exception {
    Path f = tmp.resolve("client.properties");
    Files.writeString(
        f,
        String.join(
            "\n",
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
                + " username=\"deco\" password=\"s3cret-pw\";",
            "ssl.truststore.location=/etc/trust.p12",
            "ssl.truststore.password=trust-pw",
            "ssl.keystore.key=-----BEGIN PRIVATE KEY-----",
            "sasl.oauthbearer.token.endpoint.url=https://idp",
            "basic.auth.user.info=u:client-secret-value"));
    Properties p = ClientConfig.load(f);
    assertEquals("SASL_SSL", p.getProperty("security.protocol"));
    assertTrue(p.getProperty("sasl.jaas.config").contains("s3cret-pw"));

    String printed = ClientConfig.redacted(p);
    assertFalse(printed.contains("s3cret-pw"), printed);
    assertFalse(printed.contains("trust-pw"), printed);
    assertFalse(printed.contains("PRIVATE KEY"), printed);
    assertTrue(printed.contains("security.protocol=SASL_SSL"), printed);
    assertTrue(printed.contains("sasl.mechanism=SCRAM-SHA-512"), printed);
    assertTrue(printed.contains("ssl.truststore.location=/etc/trust.p12"), printed);
    assertTrue(printed.contains("sasl.jaas.config=" + ClientConfig.REDACTED), printed);
    assertTrue(printed.indexOf("sasl.mechanism") < printed.indexOf("security.protocol"));
  }

  @Test
  void secretKeys() {
    for (String k :
        new String[] {
          "sasl.jaas.config",
          "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
          "ssl.key.password",
          "ssl.keystore.password",
          "ssl.keystore.key",
          "SASL.CLIENT.SECRET",
          "sasl.oauthbearer.token.endpoint.url"
        }) {
      assertTrue(ClientConfig.isSecret(k), k);
    }
    for (String k :
        new String[] {
          "security.protocol", "sasl.mechanism", "ssl.truststore.location", "bootstrap.servers"
        }) {
      assertFalse(ClientConfig.isSecret(k), k);
    }
    assertEquals(
        "a=1, b=" + ClientConfig.REDACTED,
        ClientConfig.redacted(Map.of("b.password", "x", "a", 1)).replace("b.password", "b"));
  }

  @Test
  void aMissingFileIsAClearError() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ClientConfig.load(tmp.resolve("nope.properties")));
    assertTrue(e.getMessage().contains("nope.properties"), e.getMessage());
  }
}
