package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.decostream.cli.Clients;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The deployment sketches of issue 22 point 4 without Docker or a cluster (ComposeStackIT runs the
 * compose file where Docker is): encoders and workers can run as several replicas, and nothing
 * makes two replicas one group member (a fixed member id, a shared state directory, a published
 * port or container name that stops a service from scaling).
 */
class DeploymentSketchTest {
  static final Path DOCKER = Path.of("..", "docker");
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @Test
  void composeScalesEncodersAndWorkersAndScrapesEveryReplica() throws IOException {
    JsonNode services =
        YAML.readTree(DOCKER.resolve("docker-compose.yml").toFile()).get("services");
    for (String name : List.of("encoder", "worker")) {
      JsonNode s = services.get(name);
      assertTrue(s.has("deploy") && s.get("deploy").has("replicas"), name + " has no replicas");
      assertFalse(s.has("ports"), name + " publishes a port: a second replica could not start");
      assertFalse(s.has("container_name"), name + " has a fixed container name");
      String command = s.get("command").toString();
      assertTrue(command.contains("--state-dir"), name + ": " + command);
      assertFalse(command.contains("--instance-id"), name + " fixes its member id: " + command);
      assertFalse(
          s.path("environment").has("DECO_INSTANCE_ID"), name + " fixes its member id (env)");
    }
    String topics = services.get("topics").get("command").toString();
    assertTrue(
        topics.contains("${DECO_PARTITIONS:-" + Clients.DEFAULT_PARTITIONS + "}"),
        "the compose topics follow the default partition count: " + topics);

    JsonNode prometheus = YAML.readTree(DOCKER.resolve("prometheus/prometheus.yml").toFile());
    Set<String> discovered = new TreeSet<>();
    for (JsonNode job : prometheus.get("scrape_configs")) {
      for (JsonNode sd : job.path("dns_sd_configs")) {
        sd.get("names").forEach(n -> discovered.add(n.asText()));
      }
    }
    assertEquals(Set.of("frames", "encoder", "worker"), discovered, "every replica scraped");
  }

  @Test
  void kubernetesStatefulSetsGiveEachPodItsOwnStateAndMemberId() throws IOException {
    Path k8s = DOCKER.resolve("k8s");
    Set<String> files = new TreeSet<>();
    try (Stream<Path> list = Files.list(k8s)) {
      list.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml"))
          .forEach(files::add);
    }
    Set<String> listed = new TreeSet<>();
    YAML.readTree(k8s.resolve("kustomization.yaml").toFile())
        .get("resources")
        .forEach(r -> listed.add(r.asText()));
    assertEquals(files, listed, "kustomization lists every manifest");

    JsonNode config = docs(k8s.resolve("deco-config.yaml")).get(0).get("data");
    assertEquals(
        String.valueOf(Clients.DEFAULT_PARTITIONS), config.get("DECO_PARTITIONS").asText());

    Set<String> stages = new TreeSet<>();
    for (String f : List.of("frames.yaml", "encoder.yaml", "worker.yaml")) {
      for (JsonNode d : docs(k8s.resolve(f))) {
        if (!d.get("kind").asText().equals("StatefulSet")) {
          continue;
        }
        JsonNode spec = d.get("spec");
        JsonNode c = spec.get("template").get("spec").get("containers").get(0);
        stages.add(c.get("args").get(0).asText());
        String args = c.get("args").toString();
        assertTrue(args.contains("\"--state-dir\",\"/state\""), f + ": " + args);
        JsonNode id = null;
        for (JsonNode e : c.get("env")) {
          if (e.get("name").asText().equals("DECO_INSTANCE_ID")) {
            id = e;
          }
        }
        assertTrue(id != null, f + ": no DECO_INSTANCE_ID");
        assertEquals(
            "metadata.name",
            id.get("valueFrom").get("fieldRef").get("fieldPath").asText(),
            f + ": the member id is the pod's stable name");
        boolean stateVolume = false;
        for (JsonNode v : spec.get("volumeClaimTemplates")) {
          stateVolume |= v.get("metadata").get("name").asText().equals("state");
        }
        assertTrue(stateVolume, f + ": /state is not a per-pod volume");
        boolean mounted = false;
        for (JsonNode m : c.get("volumeMounts")) {
          mounted |=
              m.get("name").asText().equals("state")
                  && m.get("mountPath").asText().equals("/state");
        }
        assertTrue(mounted, f + ": the state volume is not mounted at /state");
      }
    }
    assertEquals(Set.of("frames", "encoder", "worker"), stages);
  }

  private static List<JsonNode> docs(Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    try (YAMLParser p = ((YAMLFactory) YAML.getFactory()).createParser(file.toFile())) {
      YAML.readValues(p, JsonNode.class).forEachRemaining(out::add);
    }
    return out;
  }
}
