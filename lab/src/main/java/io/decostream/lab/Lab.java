package io.decostream.lab;

import io.decostream.cli.Deco;
import picocli.CommandLine;

/**
 * {@code deco} with the lab on the classpath: every runtime command plus training, eval, the
 * projector comparison, regrid, the benchmarks and the diagnostics. The {@code ./deco} script runs
 * this main for the lab's commands only; what an operator runs starts {@link Deco} without the lab.
 */
public final class Lab {

  private Lab() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a lab command line and returns its exit code (tests call this instead of main). */
  public static int run(String... args) {
    CommandLine cl = Deco.commandLine();
    cl.addSubcommand(new TrainCommand());
    cl.addSubcommand(new EvalCommand());
    cl.addSubcommand(new CompareCommand());
    cl.addSubcommand(new RegridCommand());
    cl.addSubcommand(new BenchCommand());
    cl.addSubcommand(new DiagnoseCommand());
    cl.addSubcommand(new FuzzCommand());
    return Deco.execute(cl, args);
  }
}
