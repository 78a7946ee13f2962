package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.frames.FramesApp;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesTopology;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.ClientConfig;
import io.decostream.schemas.Frame;
import io.decostream.schemas.Question;
import io.decostream.schemas.StreamsProperties;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 8: the in-process broker with a SASL_SSL listener (SCRAM-SHA-512, a certificate
 * made by this test with the JDK's keytool). A client without credentials is refused, one with a
 * wrong password too; with the {@code --kafka-config} file, {@code deco topics create}, {@code deco
 * publish}, plain producers and consumers and the frames stage (Kafka Streams, exactly-once) all
 * work; the password never appears in what they print.
 */
@Timeout(300)
class SecureClusterIT {
  static final String LISTENER = "SASL_SSL";

  @TempDir Path tmp;

  @Test
  void refusesClientsWithoutCredentialsAndRunsThePipelineWithThem() throws Exception {
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    assumeTrue(Files.isExecutable(keytool), "the JDK has no keytool at " + keytool);
    String storePass = "store-" + UUID.randomUUID();
    String userPass = "user-pw-" + UUID.randomUUID();
    Path keystore = tmp.resolve("broker.p12");
    Path cert = tmp.resolve("broker.pem");
    Path truststore = tmp.resolve("trust.p12");
    keytool(
        keytool,
        "-genkeypair",
        "-alias",
        "broker",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-validity",
        "2",
        "-dname",
        "CN=127.0.0.1",
        "-ext",
        "SAN=IP:127.0.0.1,DNS:localhost",
        "-keystore",
        keystore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        storePass,
        "-keypass",
        storePass);
    keytool(
        keytool,
        "-exportcert",
        "-rfc",
        "-alias",
        "broker",
        "-keystore",
        keystore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        storePass,
        "-file",
        cert.toString());
    keytool(
        keytool,
        "-importcert",
        "-noprompt",
        "-alias",
        "broker",
        "-file",
        cert.toString(),
        "-keystore",
        truststore.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        storePass);

    String l = "listener.name." + LISTENER.toLowerCase() + ".";
    EmbeddedBroker.Config config =
        EmbeddedBroker.Config.defaults()
            .withListener(new EmbeddedBroker.Listener(LISTENER, "SASL_SSL", 0))
            .withExtraProps(
                Map.of(
                    "sasl.enabled.mechanisms",
                    "SCRAM-SHA-512",
                    l + "scram-sha-512.sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                    l + "ssl.keystore.location",
                    keystore.toString(),
                    l + "ssl.keystore.password",
                    storePass,
                    l + "ssl.key.password",
                    storePass,
                    l + "ssl.keystore.type",
                    "PKCS12"));
    try (EmbeddedBroker broker = EmbeddedBroker.start(config)) {
      String secure = broker.bootstrapServers(LISTENER);
      // the SCRAM user, through the broker's PLAINTEXT (operator) listener
      try (Admin admin =
          Admin.create(
              Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
        admin
            .alterUserScramCredentials(
                List.of(
                    new UserScramCredentialUpsertion(
                        "deco",
                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
                        userPass)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      Path clientFile = tmp.resolve("client.properties");
      Files.writeString(clientFile, clientConfig(truststore, storePass, "deco", userPass));
      Properties client = ClientConfig.load(clientFile);

      // (a) no credentials: a plain client gets nothing from the TLS port
      long t0 = System.nanoTime();
      ExecutionException plain =
          assertThrows(ExecutionException.class, () -> describe(secure, new Properties()));
      assertTrue(
          plain.getCause() instanceof org.apache.kafka.common.errors.TimeoutException,
          plain.toString());
      assertTrue(System.nanoTime() - t0 < 30_000_000_000L);
      // ... and TLS with a wrong password is an authentication error
      Path wrong = tmp.resolve("wrong.properties");
      Files.writeString(wrong, clientConfig(truststore, storePass, "deco", "not-the-password"));
      ExecutionException refused =
          assertThrows(ExecutionException.class, () -> describe(secure, ClientConfig.load(wrong)));
      assertTrue(refused.getCause() instanceof SaslAuthenticationException, refused.toString());

      // (b) with the file: deco topics create, then produce and consume
      Topics topics = Topics.of(TopicNames.withPrefix("it-secure."));
      String printed =
          captureErr(
              () ->
                  assertEquals(
                      0,
                      Deco.run(
                          "topics",
                          "create",
                          "--bootstrap",
                          secure,
                          "--topic-prefix",
                          "it-secure.",
                          "--kafka-config",
                          clientFile.toString())));
      assertTrue(printed.contains("security.protocol=SASL_SSL"), printed);
      assertTrue(printed.contains("sasl.jaas.config=" + ClientConfig.REDACTED), printed);
      assertFalse(printed.contains(userPass), "the password was printed: " + printed);
      assertFalse(printed.contains(storePass), "the store password was printed: " + printed);
      try (Admin admin = Clients.admin(secure, client)) {
        List<String> names = new ArrayList<>();
        topics.all().forEach(t -> names.add(t.name()));
        assertTrue(TopicAdmin.missing(admin, names, 10_000).isEmpty());
      }
      Question q =
          Question.newBuilder()
              .setQuestionId("q1")
              .setStreamId("cam")
              .setText("what?")
              .setAskedAtMillis(1)
              .build();
      try (KafkaProducer<String, Question> p =
              Clients.producer(secure, client, topics.questions());
          KafkaConsumer<String, Question> c =
              Clients.consumer(secure, client, topics.questions())) {
        p.send(new ProducerRecord<>(topics.questions().name(), "cam", q)).get(30, TimeUnit.SECONDS);
        assertEquals(List.of("q1"), readAll(c, topics.questions().name(), 1, 60));
      }

      // (c) the frames stage (Kafka Streams, exactly-once) and deco publish through SASL_SSL
      ByteArrayOutputStream stageLog = new ByteArrayOutputStream();
      PrintStream stageOut = new PrintStream(stageLog, true, StandardCharsets.UTF_8);
      Path state = tmp.resolve("frames-state");
      FramesConfig fc = FramesConfig.defaults().withTopicNames(topics.names()).withStateDir(state);
      Properties extra = new Properties();
      extra.putAll(client);
      extra.putAll(StreamsProperties.staticMember("it-secure-frames"));
      StageRunner runner =
          new StageRunner(
              "frames",
              () -> FramesTopology.build(fc),
              FramesApp.properties(fc, secure, extra),
              () -> Clients.admin(secure, client),
              topics,
              "deco topics create",
              stageOut);
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<Integer> status = pool.submit(runner::run);
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (!stageLog.toString(StandardCharsets.UTF_8).contains("frames: running")) {
          assertTrue(System.nanoTime() < deadline, "stage not running: " + stageLog);
          assertFalse(status.isDone(), "stage ended: " + stageLog);
          Thread.sleep(100);
        }
        Path clip = SyntheticVideo.write(tmp.resolve("clip.mp4"), SyntheticVideo.Spec.defaults(2));
        String published =
            captureErr(
                () ->
                    assertEquals(
                        0,
                        Deco.run(
                            "publish",
                            "--bootstrap",
                            secure,
                            "--topic-prefix",
                            "it-secure.",
                            "--kafka-config",
                            clientFile.toString(),
                            "--stream",
                            "cam",
                            "--source",
                            clip.toString())));
        assertFalse(published.contains(userPass), published);
        try (KafkaConsumer<String, Frame> c = Clients.consumer(secure, client, topics.frames())) {
          List<String> frames = readAll(c, topics.frames().name(), 2, 90);
          assertTrue(frames.size() >= 2, "frames through SASL_SSL: " + frames);
        }
        assertTrue(runner.stop());
        assertEquals(0, status.get(10, TimeUnit.SECONDS));
      } finally {
        pool.shutdownNow();
      }
      assertFalse(stageLog.toString(StandardCharsets.UTF_8).contains(userPass));
    }
  }

  private static String clientConfig(Path truststore, String storePass, String user, String pw) {
    return String.join(
        "\n",
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\""
            + user
            + "\" password=\""
            + pw
            + "\";",
        "ssl.truststore.location=" + truststore,
        "ssl.truststore.type=PKCS12",
        "ssl.truststore.password=" + storePass,
        "");
  }

  private static void describe(String bootstrap, Properties client) throws Exception {
    Properties p = new Properties();
    p.putAll(client);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 8000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 4000);
    try (Admin admin = Clients.admin(bootstrap, p)) {
      admin.describeCluster().nodes().get(20, TimeUnit.SECONDS);
    }
  }

  /** Keys (question ids, or stream:frame) of records read from the start, up to the timeout. */
  private static <V> List<String> readAll(
      KafkaConsumer<String, V> c, String topic, int atLeast, int seconds) {
    List<TopicPartition> parts = new ArrayList<>();
    c.partitionsFor(topic).forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
    c.assign(parts);
    c.seekToBeginning(parts);
    List<String> got = new ArrayList<>();
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (got.size() < atLeast && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, V> r : c.poll(Duration.ofMillis(200))) {
        got.add(
            r.value() instanceof Question q
                ? q.getQuestionId()
                : r.value() instanceof Frame f ? f.getStreamId() + ":" + f.getFrameIndex() : "?");
      }
    }
    return got;
  }

  private static void keytool(Path keytool, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(keytool.toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool hung");
    assertEquals(0, p.exitValue(), "keytool " + args[0] + " failed: " + out);
  }

  /** Runs {@code r} and returns what it printed to System.err (and System.out). */
  private static synchronized String captureErr(ThrowingRunnable r) throws Exception {
    PrintStream err = System.err;
    PrintStream sysOut = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8);
    System.setErr(capture);
    System.setOut(capture);
    try {
      r.run();
    } finally {
      System.setErr(err);
      System.setOut(sysOut);
    }
    String s = buf.toString(StandardCharsets.UTF_8);
    sysOut.print(s);
    return s;
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }
}
