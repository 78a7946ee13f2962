package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Issue 22 point 4: processes of one stage on one machine never share a state dir or member id. */
class StateDirsTest {
  @TempDir Path tmp;

  @Test
  void theDefaultDirectoryHeldByAnotherClaimIsSkippedForTheNextFreeSlot() {
    Path root = tmp.resolve("root");
    Path first = StateDirs.claim(null, root, "deco-encoder");
    Path second = StateDirs.claim(null, root, "deco-encoder");
    assertEquals(root.resolve("deco-encoder"), first, "the first process keeps the old default");
    assertEquals(root.resolve("deco-encoder-2"), second);
    assertEquals(root.resolve("deco-worker"), StateDirs.claim(null, root, "deco-worker"));

    // their member ids, kept in the state dirs, differ
    StageOptions o = new StageOptions();
    assertNotEquals(o.instanceId(first, "deco-encoder"), o.instanceId(second, "deco-encoder"));
  }

  @Test
  void anExplicitDirectoryInUseIsAnErrorThatSaysWhatToDo() {
    Path dir = tmp.resolve("mine");
    assertEquals(dir, StateDirs.claim(dir, tmp, "deco-frames"));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> StateDirs.claim(dir, tmp, "deco-frames"));
    assertTrue(e.getMessage().contains("in use by another running stage process"), e.getMessage());
    assertTrue(e.getMessage().contains("its own --state-dir"), e.getMessage());
  }

  /** The lock is the OS's: another JVM holding slot 1 sends this one to slot 2, until it dies. */
  @Test
  @Timeout(60)
  void anotherProcessHoldsItsSlotUntilItExits() throws Exception {
    Path root = tmp.resolve("shared");
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>();
    cmd.addAll(List.of(java, "-cp", System.getProperty("java.class.path")));
    cmd.addAll(List.of(Holder.class.getName(), root.toString()));
    Process holder = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      String line = new String(holder.getInputStream().readNBytes(9));
      assertEquals("claimed 1", line, "the other JVM claimed the first slot");
      Path mine = StateDirs.claim(null, root, "deco-app");
      assertEquals(root.resolve("deco-app-2"), mine);
    } finally {
      holder.destroyForcibly();
      holder.waitFor(30, TimeUnit.SECONDS);
    }
    // the dead process's slot is free again: a restarted sibling takes it back
    assertEquals(root.resolve("deco-app"), StateDirs.claim(null, root, "deco-app"));
  }

  @Test
  void stageCommandsDocumentTheFlags() {
    CommandLine cl = new CommandLine(new EncoderCommand());
    String help = cl.getUsageMessage();
    assertTrue(help.contains("-2, -3"), help);
    assertTrue(help.contains("fences the first"), help);
  }

  /** Scaling in: --leave-group-on-stop reaches the runner, never Streams' own properties. */
  @Test
  void leaveGroupOnStopIsAStageFlagStreamsNeverSees() {
    for (boolean leave : new boolean[] {false, true}) {
      EncoderCommand cmd = new EncoderCommand();
      if (leave) {
        new CommandLine(cmd).parseArgs("--model", "m", "--leave-group-on-stop");
      } else {
        new CommandLine(cmd).parseArgs("--model", "m");
      }
      java.util.Properties extra = cmd.stage.extra(new java.util.Properties(), "enc-1");
      StageRunner r =
          new StageRunner(
              "encoder",
              org.apache.kafka.streams.Topology::new,
              extra,
              () -> null,
              io.decostream.schemas.Topics.of(io.decostream.schemas.TopicNames.defaults()),
              "hint",
              System.out);
      assertEquals(leave, r.leavesGroupOnStop());
      assertEquals(
          null, r.streamsProperties().get(StageRunner.LEAVE_GROUP_ON_STOP), "Streams sees it");
      assertEquals("enc-1", r.streamsProperties().get("group.instance.id"));
    }
  }

  /** Claims the first slot of deco-app under args[0], says so, and holds it until killed. */
  public static final class Holder {
    public static void main(String[] args) throws Exception {
      Path dir = StateDirs.claim(null, Path.of(args[0]), "deco-app");
      System.out.print(dir.getFileName().toString().equals("deco-app") ? "claimed 1" : "claimed ?");
      System.out.flush();
      Thread.sleep(60_000);
    }
  }
}
