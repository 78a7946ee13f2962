package io.decostream.schemas;

import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.Options;

/**
 * The stages' RocksDB settings ({@link StreamsProperties}): no periodic statistics dump. RocksDB's
 * own stats thread ({@code DBImpl::DumpStats}, every 600 s by default) crashed a worker process
 * with SIGSEGV while its stores were being closed in a rebalance (seen once in ScaleOutIT, issue 22
 * point 4, under heavy load); the dump only writes RocksDB's LOG file, which nothing reads.
 */
public final class QuietRocksDb implements RocksDBConfigSetter {
  @Override
  public void setConfig(String storeName, Options options, Map<String, Object> configs) {
    options.setStatsDumpPeriodSec(0);
    options.setStatsPersistPeriodSec(0);
  }

  @Override
  public void close(String storeName, Options options) {}
}
