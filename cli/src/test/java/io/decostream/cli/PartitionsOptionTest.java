package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Issue 22 point 4: one partition setting, default well above 2, everywhere topics are created. */
class PartitionsOptionTest {
  @Test
  void everyCommandThatCreatesTopicsDefaultsToTheSameCount() {
    // divisible by 1, 2, 3, 4 and 6: the group sizes a deployment grows through split it evenly
    for (int members : new int[] {1, 2, 3, 4, 6}) {
      assertEquals(0, Clients.DEFAULT_PARTITIONS % members, "uneven over " + members);
    }
    if (System.getenv(Clients.PARTITIONS_ENV) != null) {
      return; // the defaults below come from the environment then
    }
    BrokerCommand broker = new BrokerCommand();
    new CommandLine(broker).parseArgs();
    assertEquals(Clients.DEFAULT_PARTITIONS, broker.partitions);
    TopicsCommand.Create create = new TopicsCommand.Create();
    new CommandLine(create).parseArgs();
    assertEquals(Clients.DEFAULT_PARTITIONS, create.partitions);
    DemoCommand demo = new DemoCommand();
    new CommandLine(demo).parseArgs();
    assertEquals(Clients.DEFAULT_PARTITIONS, demo.partitions);
    new CommandLine(demo).parseArgs("--partitions", "4");
    assertEquals(4, demo.partitions);
    assertEquals(Clients.DEFAULT_PARTITIONS, Clients.defaultPartitions());
    assertTrue(new CommandLine(broker).getUsageMessage().contains(Clients.PARTITIONS_ENV));
  }

  @Test
  void theEnvironmentValueIsCheckedWithAClearMessage() {
    assertEquals(Clients.DEFAULT_PARTITIONS, Clients.partitions(null));
    assertEquals(Clients.DEFAULT_PARTITIONS, Clients.partitions(" "));
    assertEquals(24, Clients.partitions("24"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Clients.partitions("many"));
    assertTrue(e.getMessage().contains("DECO_PARTITIONS"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Clients.partitions("0"));
  }
}
