package io.decostream.encoder;

import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.Topics;
import java.util.function.Function;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the global budget store (stream id → canonical compressor spec) from the budgets topic, on
 * every encoder instance. It checks each record with the same {@link BudgetValidator} as the
 * control topic's processor: the encoder only writes accepted budgets there, but anyone could write
 * to the topic, and a global processor cannot dead-letter (it has no sinks), so a record that fails
 * here is skipped and logged, and never changes a budget.
 */
final class BudgetStoreUpdater implements Processor<byte[], byte[], Void, Void> {
  private static final Logger LOG = LoggerFactory.getLogger(BudgetStoreUpdater.class);

  private final Topics topics;
  private final int patchGrid;
  private final Function<TokenCompressor, String> refusal;
  private KeyValueStore<String, String> store;

  BudgetStoreUpdater(Topics topics, int patchGrid, Function<TokenCompressor, String> refusal) {
    this.topics = topics;
    this.patchGrid = patchGrid;
    this.refusal = refusal;
  }

  @Override
  public void init(ProcessorContext<Void, Void> context) {
    this.store = context.getStateStore(EncoderTopology.BUDGET_STORE);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    BudgetValidator.Verdict v =
        BudgetValidator.check(
            topics.budgets(), topics.budgets().name(), record.key(), record.value(), patchGrid);
    String reason = v.accepted() ? refusal.apply(v.compressor()) : v.reason();
    if (reason != null) {
      LOG.warn(
          "budgets topic {}: record skipped, budget unchanged: {}",
          topics.budgets().name(),
          reason);
      return;
    }
    store.put(v.streamId(), v.compressor().spec());
  }
}
