package io.decostream.ingest;

/** Receives the chunks a {@link Chunker} cuts, in order, on the chunker's thread. */
@FunctionalInterface
public interface ChunkSink {

  /**
   * Called once per chunk. Throwing stops the chunker, which rethrows the exception from {@link
   * Chunker#run(ChunkSink)}.
   */
  void accept(Chunk chunk) throws Exception;
}
