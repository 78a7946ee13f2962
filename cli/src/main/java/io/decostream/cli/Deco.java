package io.decostream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code deco} command: every pipeline stage, the demo and the user tools. The lab's commands
 * (train, eval, compare, regrid, bench, diagnose, fuzz) are added by {@code io.decostream.lab.Lab}
 * in the lab module, which the runtime never depends on.
 */
@Command(
    name = "deco",
    mixinStandardHelpOptions = true,
    version = "deco 0.1.0",
    description = "DeCo Stream: streaming video question answering on Kafka.",
    footer = {
      "",
      "Lab commands (the lab module; ./deco adds it for these only): train, eval, compare,"
          + " regrid, bench, diagnose, fuzz."
    },
    subcommands = {
      DemoCommand.class,
      BrokerCommand.class,
      TopicsCommand.class,
      PublishCommand.class,
      FramesCommand.class,
      EncoderCommand.class,
      WorkerCommand.class,
      AskCommand.class,
      BudgetCommand.class,
      WatchCommand.class,
      WebCommand.class,
      StatusCommand.class,
      LoadtestCommand.class,
      ModelCommand.class,
      ClipCommand.class,
      ShapesCommand.class,
      GroundingCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Deco implements Runnable {

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int run(String... args) {
    return execute(commandLine(), args);
  }

  /** A fresh command line of every runtime command (the lab adds its own to it). */
  public static CommandLine commandLine() {
    return new CommandLine(new Deco());
  }

  /** Runs {@code commandLine} with deco's offline rule and its one-line user errors. */
  public static int execute(CommandLine commandLine, String... args) {
    Offline.enforce();
    return commandLine
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              // A user error (bad file, unreachable broker, invalid model pack) is one clear line;
              // DECO_DEBUG=1 shows the stack trace.
              cmd.getErr().println("deco " + cmd.getCommandName() + ": error: " + e.getMessage());
              if (System.getenv("DECO_DEBUG") != null) {
                e.printStackTrace(cmd.getErr());
              }
              return 1;
            })
        .execute(args);
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
