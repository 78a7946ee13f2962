package io.decostream.frames;

import io.decostream.schemas.KafkaLimits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/** Starts the frames stage: {@link FramesTopology} in a {@link KafkaStreams} instance. */
public final class FramesApp {

    private FramesApp() {
    }

    /**
     * The Streams properties: application.id, bootstrap, state.dir (config or a new temp dir),
     * at_least_once, byte-array default serdes, {@link KafkaLimits#streamsOverrides()}, then
     * {@code extra} (which wins).
     */
    public static Properties properties(FramesConfig config, String bootstrap, Properties extra) {
        Objects.requireNonNull(config, "config");
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new IllegalArgumentException("bootstrap servers must be given, e.g. localhost:9092");
        }
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir(config).toString());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class.getName());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class.getName());
        p.putAll(KafkaLimits.streamsOverrides());
        if (extra != null) {
            p.putAll(extra);
        }
        return p;
    }

    /** Builds and starts the stage; the caller closes the returned instance. */
    public static KafkaStreams start(FramesConfig config, String bootstrap, Properties extra) {
        KafkaStreams streams = new KafkaStreams(FramesTopology.build(config), properties(config, bootstrap, extra));
        streams.start();
        return streams;
    }

    private static Path stateDir(FramesConfig config) {
        try {
            if (config.stateDir() != null) {
                return Files.createDirectories(config.stateDir());
            }
            return Files.createTempDirectory("deco-frames-state-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the Kafka Streams state directory: " + e.getMessage(), e);
        }
    }
}
