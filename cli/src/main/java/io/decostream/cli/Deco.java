package io.decostream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code deco} command: every pipeline stage, the demo and the user tools. */
@Command(
    name = "deco",
    mixinStandardHelpOptions = true,
    version = "deco 0.1.0",
    description = "DeCo Stream: streaming video question answering on Kafka.",
    subcommands = {
      DemoCommand.class,
      BrokerCommand.class,
      PublishCommand.class,
      FramesCommand.class,
      EncoderCommand.class,
      WorkerCommand.class,
      AskCommand.class,
      WatchCommand.class,
      ModelCommand.class,
      ClipCommand.class,
      ShapesCommand.class,
      BenchCommand.class,
      GroundingCommand.class,
      TrainCommand.class,
      EvalCommand.class,
      CompareCommand.class,
      RegridCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Deco implements Runnable {

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int run(String... args) {
    Offline.enforce();
    return new CommandLine(new Deco())
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
