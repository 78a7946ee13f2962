package io.decostream.encoder;

import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.BudgetControl;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.DeadLetters;
import io.decostream.schemas.Topics;
import java.util.function.Function;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks each record of the control topic once (a regular, partitioned task, so under exactly-once
 * each bad request becomes exactly one dead letter), and republishes the accepted ones, with the
 * canonical spec, on the budgets topic that every encoder instance reads in full into its global
 * budget store ({@link EncoderTopology} says why two topics).
 */
final class ControlProcessor implements Processor<byte[], byte[], String, Object> {
  private static final Logger LOG = LoggerFactory.getLogger(ControlProcessor.class);

  private final Topics topics;
  private final int patchGrid;
  private final Function<TokenCompressor, String> refusal;
  private ProcessorContext<String, Object> context;

  /**
   * @param refusal the model family's reason to refuse a compressor, or null when it takes it
   *     ({@link VisionBackend#compressorRefusal})
   */
  ControlProcessor(Topics topics, int patchGrid, Function<TokenCompressor, String> refusal) {
    this.topics = topics;
    this.patchGrid = patchGrid;
    this.refusal = refusal;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    String source = md != null ? md.topic() : topics.control().name();
    BudgetValidator.Verdict v =
        BudgetValidator.check(topics.control(), source, record.key(), record.value(), patchGrid);
    // a well-formed budget the model's family cannot take (issue 23 point 3) is refused as well
    String familyRefusal = v.accepted() ? refusal.apply(v.compressor()) : null;
    if (familyRefusal != null) {
      v = new BudgetValidator.Verdict(null, null, v.streamId(), familyRefusal);
    }
    if (!v.accepted()) {
      DeadLetter dl =
          DeadLetters.of(
              EncoderTopology.STAGE,
              source,
              md != null ? md.partition() : -1,
              md != null ? md.offset() : -1,
              record.key(),
              record.value(),
              v.reason(),
              null);
      // one WARN line per rejection, as every stage logs them (issue 18 point 7); the reason has
      // its control characters escaped by BudgetValidator
      LOG.warn(
          "dead letter: stage={} stream={} source={}-{}@{} reason={}",
          EncoderTopology.STAGE,
          v.streamId() == null ? null : BudgetValidator.printable(v.streamId()),
          dl.getSourceTopic(),
          dl.getPartition(),
          dl.getOffset(),
          dl.getReason());
      String k = v.streamId() != null ? v.streamId() : "";
      context.forward(
          new Record<String, Object>(k, dl, System.currentTimeMillis()),
          EncoderTopology.DEAD_LETTER_SINK);
      return;
    }
    BudgetControl c = v.control();
    BudgetControl accepted =
        BudgetControl.newBuilder(c).setCompressor(v.compressor().spec()).build();
    LOG.info(
        "budget: stream {} -> {} ({} tokens per frame) from its next frame on{}",
        c.getStreamId(),
        v.compressor().spec(),
        v.compressor().isAnyGrid() ? patchGrid * patchGrid : v.compressor().tokens(),
        c.getRequestedBy() == null
            ? ""
            : ", asked by " + BudgetValidator.printable(c.getRequestedBy()));
    context.forward(
        new Record<String, Object>(c.getStreamId(), accepted, record.timestamp()),
        EncoderTopology.BUDGETS_SINK);
  }
}
